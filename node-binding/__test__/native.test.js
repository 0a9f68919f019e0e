'use strict'

// The addon's own protocol, called directly: the packed request head (src/head.rs) split by UTF-16
// lengths, the lane's verification handles (src/lane.rs), the packed result (src/verified.rs).
// The public API rests on these; here they get crafted inputs the JS layer never sends.

const test = require('node:test')
const assert = require('node:assert/strict')
const { native, ManualClock, signer, SECRET } = require('./helpers.js')

const KEYS = [{ id: 'k1', secret: SECRET, subject: 'user:1' }]
const NOW = 1_700_000_000
const lensOf = (pieces) => Uint32Array.from(pieces.map((p) => p.length))
const isState = (e) => e.code === 'ERR_INVALID_STATE'
const mismatch = (e) => isState(e) && e.message === 'request parts do not match their lengths'

/** method, target, scheme, then header names and values, signed over `x-note`. */
function signedPieces(target, extra) {
  const headers = { host: 'api.example.com', 'x-note': 'plain' }
  const added = signer.sign({ method: 'GET', url: target, headers }, { created: NOW, components: ['@method', '@authority', '@path', '@query', 'x-note'] })
  const flat = Object.entries({ ...extra, ...headers, ...added }).flat()
  return ['GET', target, 'https', ...flat]
}

test('the head is split by UTF-16 lengths, ASCII or not; lengths that do not match are refused', () => {
  const g = new native.NativeGuard({ keys: KEYS, clock: new ManualClock(NOW) })
  for (const pieces of [signedPieces('/p?q=1', { 'x-a': '1' }), signedPieces('/p', { 'x-other': 'naïve 😀 café', 'x-more': 'ü' })]) {
    const ex = g.explain(pieces.join(''), lensOf(pieces), undefined)
    assert.equal(ex.ok, true, ex.text)
    assert.deepEqual(ex.covered.map((c) => c.value), ['GET', 'api.example.com', pieces[1].split('?')[0], '?' + (pieces[1].split('?')[1] ?? ''), 'plain'])
  }
  const pieces = ['GET', '/', 'http', 'Host', 'h😀']
  const joined = pieces.join('')
  const lens = lensOf(pieces)
  assert.throws(() => g.explain(joined, lens.subarray(0, 4), undefined), mismatch, 'an even count')
  for (const [delta, why] of [[1, 'too long'], [-1, 'splits a surrogate pair'], [-2, 'too short']]) {
    const l = lens.slice()
    l[4] += delta
    assert.throws(() => g.explain(joined, l, undefined), mismatch, why)
  }
  assert.throws(() => g.explain('GETx', Uint32Array.of(3, 0, 0), undefined), mismatch, 'trailing text')
  assert.throws(() => g.explain('', new Uint32Array(0), undefined), mismatch, 'no pieces')
})

test('a lane reuses its head: each request shape is read whole, and a bad split leaves nothing behind', () => {
  const g = new native.NativeGuard({ keys: KEYS, clock: new ManualClock(NOW) })
  const lane = g.lane()
  const io = new Uint32Array(64)
  const run = (pieces) => {
    io.set(lensOf(pieces))
    return native.laneVerify(lane, pieces.join(''), io, pieces.length, undefined)
  }
  for (const extra of [{ 'x-a': '1', 'x-b': '2', 'x-c': '3' }, {}, { 'x-other': 'naïve' }, { 'x-a': 'a much longer value than before' }]) {
    assert.equal(typeof run(signedPieces(`/shape${Object.keys(extra).length}`, extra)), 'string', 'packed')
    io.set(Uint32Array.of(3, 0, 0))
    assert.throws(() => native.laneVerify(lane, 'GETx', io, 3, undefined), mismatch)
  }
  assert.throws(() => native.laneVerify(lane, 'GET/', io, 99, undefined), mismatch, 'count beyond the array')
})

test('verification handles: spent once, a reused slot gets a new generation, bogus handles are refused', () => {
  const g = new native.NativeGuard({ keys: KEYS, clock: new ManualClock(NOW) })
  const lane = g.lane()
  const begin = (target) => {
    const pieces = signedPieces(target, {})
    return native.laneBegin(lane, pieces.join(''), lensOf(pieces), pieces.length)
  }
  const a = begin('/a')
  const b = begin('/b')
  assert.notEqual(a, b)
  assert.equal(native.laneInFlight(lane), 2)
  assert.equal(typeof native.laneFinish(lane, a, new Uint32Array(64)), 'string')
  assert.throws(() => native.laneFinish(lane, a, new Uint32Array(64)), isState, 'spent')
  assert.throws(() => native.laneUpdate(lane, a, Buffer.from('x')), isState, 'spent')
  assert.equal(native.laneKeyId(lane, a), null)
  assert.equal(native.laneBytesSeen(lane, a), 0)
  const c = begin('/c')
  assert.equal(c % 2 ** 32, a % 2 ** 32, 'the slot is reused')
  assert.notEqual(c, a, 'with a new generation')
  assert.throws(() => native.laneUpdate(lane, a, Buffer.from('x')), isState, 'the old handle does not reach the new occupant')
  assert.equal(native.laneKeyId(lane, c), 'k1')
  for (const bogus of [-1, 2 ** 40, 99, 2 ** 53 - 1]) assert.throws(() => native.laneUpdate(lane, bogus, Buffer.from('x')), isState, String(bogus))
  native.laneAbort(lane, b)
  native.laneAbort(lane, b) // a spent handle is ignored
  native.laneAbort(lane, c)
  assert.equal(native.laneInFlight(lane), 0)
})

test('packed numbers read back as the core wrote them (created, expires, body length), negative ones too', () => {
  for (const created of [0, 7, 10, 99, 100, -1, -10, -999, 1_795_364_607]) {
    const g = new native.NativeGuard({ keys: KEYS, clock: new ManualClock(created) })
    const headers = { host: 'h' }
    const added = signer.sign({ method: 'POST', url: '/n', headers, body: 'x'.repeat(created & 0xff) }, { created, expiresIn: 10 })
    const pieces = ['POST', '/n', 'https', ...Object.entries({ ...headers, ...added }).flat()]
    const io = new Uint32Array(64)
    io.set(lensOf(pieces))
    const packed = native.laneVerify(g.lane(), pieces.join(''), io, pieces.length, Buffer.from('x'.repeat(created & 0xff)))
    const fields = []
    let at = 0
    for (let k = 1; k <= io[0]; k++) {
      fields.push(io[k] === 0xffffffff ? undefined : packed.slice(at, (at += io[k])))
    }
    assert.deepEqual([fields[5], fields[6], fields[9]], [String(created), String(created + 10), String(created & 0xff)], `created ${created}`)
    assert.equal(fields[1], 'sig1')
    assert.equal(fields[3], 'user:1')
  }
})

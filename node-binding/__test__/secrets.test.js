'use strict'

// A secret given in the wrong field never comes back: key options ({id, secret, algorithm,
// subject}) and Signer options (the same plus scheme) with every pair of fields swapped, and the
// secret copied into each field but the id (an id is public by design: it travels in every
// request). No error (message, reason, inspect, stack) and no inspection of the guard, the signer
// or the settings may contain it; nor may the hook's events and the log lines of any rejection,
// which must not show an expected MAC either.

const test = require('node:test')
const assert = require('node:assert/strict')
const util = require('node:util')
const { Guard, Signer } = require('./helpers.js')

const SECRET = 'swapped-secret-0123456789abcdefghijklmnopqrstuvwxyz'
const KEY = { id: 'k1', secret: SECRET, algorithm: 'hmac-sha256', subject: 'user:1' }
const SIGNER = { ...KEY, scheme: 'rfc9421' }

/** Every variant of `base`: each pair of fields swapped, and the secret copied into each field but `id`. */
function variants(base) {
  const names = Object.keys(base)
  const out = []
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      const [a, b] = [names[i], names[j]]
      out.push([`${a} <-> ${b}`, { ...base, [a]: base[b], [b]: base[a] }])
    }
    if (names[i] !== 'id' && names[i] !== 'secret') out.push([`secret copied into ${names[i]}`, { ...base, [names[i]]: SECRET }])
  }
  // The same with the secret as bytes.
  return out.flatMap(([name, v]) => [
    [name, v],
    [`${name} (bytes)`, Object.fromEntries(Object.entries(v).map(([k, x]) => [k, x === SECRET ? Buffer.from(SECRET) : x]))],
  ])
}

function shows(text, where) {
  const s = String(text)
  assert.ok(!s.includes(SECRET) && !s.includes(Buffer.from(SECRET).toString('hex')) && !s.includes(Buffer.from(SECRET).toString('base64')), `the secret shows in ${where}: ${s}`)
}

function checkError(e, where) {
  for (const [what, text] of [['message', e.message], ['reason', e.reason], ['inspect', util.inspect(e, { showHidden: true, depth: 5 })], ['stack', e.stack], ['String', String(e)], ['JSON', JSON.stringify(e)]]) {
    shows(text, `${where}: error ${what}`)
  }
}

/** Runs `build`; checks its error or what it built. Returns whether it threw. */
function attempt(where, build, inspectBuilt) {
  let built
  try {
    built = build()
  } catch (e) {
    checkError(e, where)
    return true
  }
  for (const [what, text] of inspectBuilt(built)) shows(text, `${where}: ${what}`)
  return false
}

const guardViews = (g) => [['inspect(guard)', util.inspect(g, { showHidden: true, depth: 5 })], ['settings', util.inspect(g.settings)], ['JSON settings', JSON.stringify(g.settings)]]
const signerViews = (s) => [['inspect(signer)', util.inspect(s, { showHidden: true, depth: 5 })], ['String(signer)', String(s)], ['keyId', s.keyId]]

test('key options with swapped fields: Guard keys, addKey, Signer', () => {
  let refused = 0
  let tried = 0
  for (const [name, key] of variants(KEY)) {
    refused += attempt(`new Guard({keys: [${name}]})`, () => new Guard({ keys: [key] }), guardViews)
    refused += attempt(`addKey(${name})`, () => {
      const g = new Guard({})
      g.addKey(key)
      return g
    }, guardViews)
    refused += attempt(`new Signer(${name})`, () => new Signer(key), signerViews)
    tried += 3
  }
  assert.ok(refused >= tried / 2, `only ${refused} of ${tried} refused: the swaps did not exercise the errors`)
})

test('Signer options with swapped fields (scheme included)', () => {
  let refused = 0
  const all = variants(SIGNER)
  for (const [name, options] of all) {
    refused += attempt(`new Signer(${name})`, () => {
      const s = new Signer(options)
      s.sign({ method: 'POST', url: '/p', headers: { host: 'h' }, body: '{}' })
      return s
    }, signerViews)
  }
  assert.ok(refused >= all.length / 2, `only ${refused} of ${all.length} refused`)
})

test('a secret given where a key is expected, or as a whole key, is never echoed', () => {
  for (const wrong of [SECRET, [SECRET], { [SECRET]: 1 }, { id: 'k1', secret: SECRET, [SECRET]: 1 }]) {
    attempt('new Guard({keys: …})', () => new Guard({ keys: Array.isArray(wrong) ? wrong : [wrong] }), guardViews)
    attempt('addKey(…)', () => new Guard({}).addKey(wrong), () => [])
    attempt('new Signer(…)', () => new Signer(wrong), signerViews)
    attempt('new Guard(…) (an unknown option)', () => new Guard({ policy: { [SECRET]: 1 }, [SECRET]: 2 }), guardViews)
  }
})

test('hook payloads and log lines of every rejection kind never hold the secret or an expected MAC', async () => {
  const { HmacGuardError, ManualClock, until } = require('./helpers.js')
  const { noteRefusal } = require('../lib/core.js')
  const events = []
  const lines = []
  const logger = Object.fromEntries(['debug', 'info', 'warn'].map((level) => [level, (...args) => lines.push([level, ...args])]))
  const now = 1_800_000_000
  const guard = new Guard({
    keys: [KEY],
    clock: new ManualClock(now),
    policy: { bodyLimit: 64 },
    onEvent: (e) => events.push(e),
    logger,
    logLevel: 'debug',
    logRate: 1000,
    reportAccepted: true,
  })
  const right = new Signer(KEY)
  const wrong = new Signer({ ...KEY, secret: 'another-secret-0123456789abcdefghijklmnopqrstuvwxyz' })
  const stranger = new Signer({ ...KEY, id: 'stranger' })
  const base = { method: 'POST', url: '/p', headers: { host: 'h', 'content-type': 'application/json' }, body: Buffer.from('{"a":1}') }
  const sign = (by, opts = {}, req = base) => ({ ...req, headers: { ...req.headers, ...by.sign(req, { created: now, ...opts }) } })
  const macs = []
  let nonce = 0
  const fresh = () => `nonce-${String(++nonce).padStart(8, '0')}`
  const kinds = {
    accepted: () => sign(right, { nonce: fresh() }),
    signatureMismatch: () => {
      const n = fresh()
      macs.push(/:(.+):/.exec(sign(right, { nonce: n }).headers.signature)[1])
      return sign(wrong, { nonce: n })
    },
    digestMismatch: () => ({ ...sign(right, { nonce: fresh() }), body: Buffer.from('{"a":2}') }),
    unknownKey: () => sign(stranger, { nonce: fresh() }),
    expired: () => sign(right, { nonce: fresh(), created: now - 1000 }),
    future: () => sign(right, { nonce: fresh(), created: now + 1000 }),
    tooLarge: () => sign(right, { nonce: fresh() }, { ...base, body: Buffer.alloc(100, 'a') }),
    missing: () => base,
    malformed: () => {
      const r = sign(right, { nonce: fresh() })
      return { ...r, headers: { ...r.headers, signature: 'sig1=:!!:' } }
    },
    shortNonce: () => sign(right, { nonce: 'n' }),
    missingComponent: () => sign(right, { nonce: fresh(), components: ['@method'] }),
  }
  const replayed = sign(right, { nonce: 'nonce-replayed' })
  guard.verify(replayed)
  for (const make of Object.values(kinds)) {
    try {
      guard.verify(make())
    } catch {}
  }
  assert.throws(() => guard.verify(replayed), { code: 'ERR_REPLAY' })
  // Refusals an adapter makes: a body it could not read, a body another middleware consumed.
  const framed = sign(right, { nonce: fresh() })
  guard.begin(framed).abort(new HmacGuardError('ERR_BAD_FRAMING', 'HPE_INVALID_CHUNK_SIZE: Invalid character in chunk size'))
  noteRefusal(guard, new HmacGuardError('ERR_INVALID_STATE', 'the request body was already consumed'))
  const verdicts = 2 + Object.keys(kinds).length + 2
  await until(() => events.length === verdicts, `${verdicts} events`)
  const codes = new Set(events.map((e) => e.code).filter(Boolean))
  assert.ok(codes.size >= 12, `only ${[...codes].join(', ')}`)
  assert.ok(codes.has('ERR_SIGNATURE_MISMATCH') && codes.has('ERR_BAD_FRAMING') && codes.has('ERR_INVALID_STATE'))
  assert.equal(lines.length, verdicts, 'every event logged (debug level, no rate limit)')
  assert.ok(macs.length === 1 && macs[0].length > 20)
  for (const e of events) {
    shows(JSON.stringify(e), `the ${e.code ?? e.outcome} event`)
    assert.ok(!JSON.stringify(e).includes(macs[0]), `the expected MAC in ${JSON.stringify(e)}`)
  }
  for (const l of lines) {
    const text = util.inspect(l, { depth: 5 })
    shows(text, 'a log line')
    assert.ok(!text.includes(macs[0]), `the expected MAC in ${text}`)
  }
  shows(JSON.stringify(guard.stats()), 'stats()')
  shows(guard.metrics(), 'metrics()')
})

'use strict'

// Arguments of the wrong type: a TypeError naming the argument and what it must be, never a raw
// napi status (`StringExpected`, `InvalidArg`, `Expected ... got ...`). Option *values* are the
// core's: HmacGuardError ERR_INVALID_CONFIG naming the option.

const test = require('node:test')
const assert = require('node:assert/strict')
const { Guard, ManualClock, Signer, HmacGuardError, signRequest, newGuard, signer, SECRET } = require('./helpers.js')

const NAPI = /StringExpected|NumberExpected|ObjectExpected|BooleanExpected|ArrayExpected|InvalidArg|GenericFailure|Expected \w+, got|Failed to convert|napi/

function typeError(fn, names, label) {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof TypeError, `${label}: ${e && e.constructor && e.constructor.name}: ${e && e.message}`)
    assert.ok(!NAPI.test(e.message), `${label}: raw napi text: ${e.message}`)
    for (const n of [].concat(names)) assert.ok(e.message.includes(n), `${label}: ${JSON.stringify(e.message)} does not name ${n}`)
    return true
  })
}

function configError(fn, names, label) {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof HmacGuardError && e.code === 'ERR_INVALID_CONFIG', `${label}: ${e && e.name} ${e && e.code} ${e && e.message}`)
    assert.ok(!NAPI.test(e.reason), `${label}: raw napi text: ${e.reason}`)
    for (const n of [].concat(names)) assert.ok(e.reason.includes(n), `${label}: ${JSON.stringify(e.reason)} does not name ${n}`)
    return true
  })
}

const GOOD = { method: 'GET', url: '/', headers: { host: 'h' } }

test('Guard methods: requests, key ids and body chunks of the wrong type are TypeErrors', async () => {
  const g = newGuard()
  for (const bad of [undefined, null, 5, 'GET /']) {
    typeError(() => g.verify(bad), 'req must be an object', `verify(${bad})`)
    typeError(() => g.begin(bad), 'req must be an object', `begin(${bad})`)
    typeError(() => g.explain(bad), 'req must be an object', `explain(${bad})`)
    await assert.rejects(g.verifyAsync(bad), (e) => e instanceof TypeError && e.message.includes('req must be an object'))
  }
  typeError(() => g.verify({ ...GOOD, method: 1 }), 'req.method must be a string', 'method')
  typeError(() => g.verify({ ...GOOD, url: new URL('http://h/') }), 'req.url must be a string', 'url')
  typeError(() => g.verify({ ...GOOD, headers: 5 }), 'req.headers must be', 'headers')
  typeError(() => g.verify({ ...GOOD, scheme: 443 }), 'req.scheme must be a string', 'scheme')
  typeError(() => g.verify({ ...GOOD, body: 5 }), 'body must be a Buffer, Uint8Array, ArrayBuffer or string', 'body')
  typeError(() => g.verify({ ...GOOD, body: { a: 1 } }), 'body must be', 'body object')
  for (const bad of [5, undefined, null, { id: 'k1' }]) typeError(() => g.removeKey(bad), 'id must be a string', `removeKey(${bad})`)
})

test('Verification.update: a chunk of the wrong type is a TypeError', () => {
  const g = newGuard()
  const headers = { host: 'h', 'content-type': 'text/plain' }
  const v = g.begin({ method: 'POST', url: '/u', headers: { ...headers, ...signer.sign({ method: 'POST', url: '/u', headers, body: 'abc' }) } })
  for (const bad of [undefined, null, 5, {}, [1, 2]]) {
    typeError(() => v.update(bad), 'chunk must be a Buffer, Uint8Array, ArrayBuffer or string', `update(${JSON.stringify(bad)})`)
  }
  v.update('a').update(new Uint16Array([0x6362]).buffer.slice(0, 1)).update(new DataView(Buffer.from('c').buffer, Buffer.from('c').byteOffset, 1))
  assert.equal(v.bytesSeen, 3)
  v.abort()
})

test('ManualClock: its arguments are numbers of seconds', () => {
  for (const bad of [undefined, '1700000000', null, NaN, Infinity, {}]) typeError(() => new ManualClock(bad), 'now must be a finite number', `new ManualClock(${bad})`)
  const c = new ManualClock(100)
  typeError(() => c.set('5'), 'now must be', 'set')
  typeError(() => c.advance(undefined), 'secs must be', 'advance')
  c.advance(1.5)
  c.set(200.9)
  assert.equal(c.now(), 200)
})

test('Signer: sign() arguments and option types; keys are the core\'s to judge', () => {
  configError(() => new Signer({ id: 'k1' }), 'key.secret is required', 'new Signer({id})')
  configError(() => new Signer({ secret: SECRET }), 'key.id is required', 'new Signer({secret})')
  configError(() => new Signer({ id: 5, secret: SECRET }), 'key.id must be a string', 'id: 5')
  configError(() => new Signer(), 'key must be an object', 'new Signer()')
  configError(() => new Signer('k1'), 'key must be an object', "new Signer('k1')")
  configError(() => new Signer({ id: 'k1', secret: SECRET, scheme: 'hg1' }), 'scheme must be one of rfc9421, simple', 'scheme')
  configError(() => new Signer({ id: 'k1', secret: SECRET, notAftr: 1 }), ['notAftr', 'notAfter'], 'misspelt key field')
  for (const bad of [undefined, null, 'GET /']) typeError(() => signer.sign(bad), 'req must be an object', `sign(${bad})`)
  typeError(() => signer.sign(GOOD, 5), 'options must be an object', 'sign options')
  for (const [name, bad, expected] of [
    ['created', 'now', 'an integer'],
    ['created', 1.5, 'an integer'],
    ['components', '@method', 'an array of strings'],
    ['components', [1], 'an array of strings'],
    ['expiresIn', -1, 'a whole number'],
    ['nonce', 12345678, 'a string'],
    ['includeAlg', 1, 'true or false'],
    ['label', {}, 'a string'],
    ['digest', 256, 'a string'],
    ['timestamp', '1', 'an integer'],
  ]) {
    typeError(() => signer.sign(GOOD, { [name]: bad }), `options.${name} must be ${expected}`, `options.${name}`)
  }
  configError(() => signer.sign(GOOD, { scheme: 'hg1' }), 'scheme must be one of', 'sign scheme')
  typeError(() => signRequest({ sign() {} }, 'https://h/'), 'signer must be a Signer', 'signRequest signer')
  typeError(() => signRequest(signer, 'https://h/', 5), 'init must be an object', 'signRequest init')
})

test('Guard options and keys of the wrong type are configuration errors naming the option', () => {
  configError(() => new Guard(5), 'options must be an object', 'new Guard(5)')
  configError(() => new Guard({ keys: [5] }), 'keys[0] must be an object', 'keys: [5]')
  configError(() => newGuard().addKey(5), 'key must be an object', 'addKey(5)')
  configError(() => newGuard().addKey({ id: 'k9', secret: 42 }), 'key.secret must be bytes or a string', 'secret: 42')
  configError(() => new Guard({ policy: { maxAgeSecs: '300' } }), 'policy.maxAgeSecs must be an integer', 'a string number')
  configError(() => new Guard({ policy: { maxAgeSecs: 2n ** 70n } }), 'policy.maxAgeSecs', 'a huge BigInt')
  configError(() => new Guard({ clock: () => 1 }), 'clock must be a ManualClock, not a function', 'clock function')
  configError(() => new Guard({ policy: { requiredComponents: new Set(['@method']) } }), 'policy.requiredComponents must be a list of strings, not a Set', 'a Set')
  configError(() => new Guard({ keys: [{ id: 'k1', secret: SECRET, notAfter: new Date(NaN) }] }), 'keys[0].notAfter', 'invalid Date')
  assert.equal(new Guard({ policy: { maxAgeSecs: 60n } }).settings['policy.max_age_secs'], 60, 'a BigInt that fits')
  const dated = new Guard({ keys: [{ id: 'k1', secret: SECRET, notBefore: new Date(1_000_500), notAfter: new Date('2100-01-01T00:00:00Z') }] })
  assert.deepEqual(dated.keyIds(), ['k1'])
  // A getter that throws: its own error, unchanged.
  const boom = new Error('boom')
  assert.throws(() => new Guard({ get policy() { throw boom } }), (e) => e === boom)
})

'use strict'

// The JS API: error mapping, streaming, async, rotation, signer, explain, redaction.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const util = require('node:util')
const h = require('./helpers.js')
const { Guard, Signer, ManualClock, HmacGuardError, errorCodes, native, newGuard, signer, SECRET } = h

const NOW = 1_700_000_000
const clock = () => new ManualClock(NOW)

function req(body = '{"a":1}', extra = {}) {
  const b = Buffer.from(body)
  const headers = { host: 'api.example.com', 'content-type': 'application/json', 'content-length': String(b.length) }
  const added = signer.sign({ method: 'POST', url: '/orders?id=7', headers, body: b }, { created: NOW, ...extra })
  return { method: 'POST', url: '/orders?id=7', scheme: 'https', headers: { ...headers, ...added }, body: b }
}

test('every code in tests/error_codes.json maps to an HmacGuardError with its status and message', () => {
  const file = path.join(__dirname, '..', '..', 'tests', 'error_codes.json')
  const canonical = JSON.parse(fs.readFileSync(file, 'utf8')).codes
  const ours = new Map(errorCodes().map((c) => [c.code, c]))
  assert.equal(ours.size, canonical.length, 'same number of codes as tests/error_codes.json')
  for (const c of canonical) {
    const mine = ours.get(c.code)
    assert.ok(mine, `code ${c.code} is unknown to the binding`)
    assert.equal(mine.status, c.status, `${c.code} status`)
    assert.equal(mine.message, c.message, `${c.code} message`)
    const e = new HmacGuardError(c.code, 'internal detail')
    assert.ok(e instanceof Error)
    assert.equal(e.name, 'HmacGuardError')
    assert.equal(e.code, c.code)
    assert.equal(e.status, c.status)
    assert.equal(e.message, c.message)
    assert.equal(e.reason, 'internal detail')
    assert.deepEqual(e.toJSON(), { code: c.code, message: c.message })
    // A native error carrying the code is translated the same way.
    const t = h.translateForTest({ code: c.code, message: 'why' })
    assert.ok(t instanceof HmacGuardError)
    assert.equal(t.status, c.status)
  }
})

test('a Rust panic reaches JS as ERR_INTERNAL, never as a crash', () => {
  assert.throws(() => native.__panicForTest(), (e) => e.code === 'ERR_INTERNAL')
  assert.equal(h.translateForTest((() => { try { native.__panicForTest() } catch (e) { return e } })()).status, 500)
})

test('a Rust panic on the libuv pool (in-memory verifyAsync/finishAsync) resolves as ERR_INTERNAL', async () => {
  const r = await native.__panicForTestAsync()
  assert.equal(r.code, 'ERR_INTERNAL')
  assert.equal(h.translateForTest({ code: r.code, message: r.reason }).status, 500)
})

test('a Rust panic in an awaited claim (the Redis path, on napi\'s runtime) resolves as ERR_INTERNAL', async () => {
  const r = await native.__panicForTestClaim()
  assert.equal(r.code, 'ERR_INTERNAL')
  assert.equal(h.translateForTest({ code: r.code, message: r.reason }).status, 500)
  // The runtime survives it: the next claim is served.
  const again = await native.__panicForTestClaim()
  assert.equal(again.code, 'ERR_INTERNAL')
})

test('one-shot verify, replay, and the verified values', () => {
  const g = newGuard({ clock: clock() })
  const r = req()
  const v = g.verify(r)
  assert.equal(v.keyId, 'k1')
  assert.equal(v.subject, 'user:1')
  assert.equal(v.created, NOW)
  assert.equal(typeof v.nonce, 'string')
  assert.equal(v.component('@path'), '/orders')
  assert.equal(v.component('@query'), '?id=7')
  assert.equal(v.bodyLength, 7)
  assert.throws(() => g.verify(r), (e) => e instanceof HmacGuardError && e.code === 'ERR_REPLAY' && e.status === 401)
})

test('failures: tampering, window, keys, headers', () => {
  const g = newGuard({ clock: clock() })
  const cases = [
    ['tampered body', { ...req(), body: Buffer.from('{"a":2}') }, 'ERR_DIGEST_MISMATCH'],
    ['tampered path', { ...req(), url: '/orders?id=8' }, 'ERR_SIGNATURE_MISMATCH'],
    ['tampered method', { ...req(), method: 'PUT' }, 'ERR_SIGNATURE_MISMATCH'],
    ['expired', req('{"a":1}', { created: NOW - 301 }), 'ERR_TIMESTAMP_EXPIRED'],
    ['future', req('{"a":1}', { created: NOW + 31 }), 'ERR_TIMESTAMP_IN_FUTURE'],
    ['unsigned', { method: 'GET', url: '/', headers: { host: 'x' } }, 'ERR_MISSING_SIGNATURE'],
  ]
  for (const [name, r, code] of cases) {
    assert.throws(() => g.verify(r), (e) => e instanceof HmacGuardError && e.code === code, name)
  }
})

test('streaming verification reads Buffers and Uint8Arrays in place and finishes once', () => {
  const g = newGuard({ clock: clock() })
  const body = Buffer.alloc(100_000, 0xff) // not UTF-8
  const r = req(body.toString('latin1'))
  r.body = body
  const headers = { host: 'api.example.com', 'content-type': 'application/octet-stream', 'content-length': String(body.length) }
  r.headers = { ...headers, ...signer.sign({ method: 'POST', url: '/orders?id=7', headers, body }, { created: NOW }) }
  const v = g.begin(r)
  v.update(new Uint8Array(body.buffer, body.byteOffset, 1000))
  v.update(body.subarray(1000))
  assert.equal(v.bytesSeen, body.length)
  const out = v.finish()
  assert.equal(out.bodyLength, body.length)
  assert.throws(() => v.finish(), (e) => e.code === 'ERR_INVALID_STATE')
})

test('body limit: declared and streamed', () => {
  const g = newGuard({ clock: clock(), policy: { bodyLimit: 10 } })
  assert.throws(() => g.begin(req('x'.repeat(11))), (e) => e.code === 'ERR_BODY_TOO_LARGE' && e.status === 413)
  const r = req('x'.repeat(11))
  delete r.headers['content-length']
  const v = g.begin(r)
  v.update(Buffer.alloc(10))
  assert.throws(() => v.update(Buffer.alloc(1)), (e) => e.code === 'ERR_BODY_TOO_LARGE')
  assert.throws(() => v.update(Buffer.alloc(1)), (e) => e.code === 'ERR_BODY_TOO_LARGE', 'sticky')
})

test('verifyAsync resolves and rejects with HmacGuardError', async () => {
  const g = newGuard({ clock: clock() })
  const r = req()
  const v = await g.verifyAsync(r)
  assert.equal(v.keyId, 'k1')
  await assert.rejects(g.verifyAsync(r), (e) => e instanceof HmacGuardError && e.code === 'ERR_REPLAY')
  const many = await Promise.allSettled(Array.from({ length: 50 }, () => g.verifyAsync(req('{"b":1}', { nonce: 'same-nonce-123' }))))
  assert.equal(many.filter((x) => x.status === 'fulfilled').length, 1)
  assert.ok(many.filter((x) => x.status === 'rejected').every((x) => x.reason.code === 'ERR_REPLAY'))
})

test('key rotation at runtime', () => {
  const g = new Guard({ clock: clock() })
  assert.throws(() => g.verify(req()), (e) => e.code === 'ERR_UNKNOWN_KEY')
  g.addKey({ id: 'k1', secret: SECRET, subject: 'user:1', notBefore: new Date((NOW - 10) * 1000) })
  assert.deepEqual(g.keyIds(), ['k1'])
  assert.equal(g.verify(req()).subject, 'user:1')
  g.addKey({ id: 'k1', secret: SECRET, subject: 'user:1', notAfter: NOW - 1 })
  assert.throws(() => g.verify(req()), (e) => e.code === 'ERR_KEY_EXPIRED')
  g.addKey({ id: 'k1', secret: SECRET, notBefore: NOW + 100 })
  assert.throws(() => g.verify(req()), (e) => e.code === 'ERR_KEY_NOT_YET_VALID')
  assert.equal(g.removeKey('k1'), true)
  assert.equal(g.removeKey('k1'), false)
  assert.throws(() => g.addKey({ id: 'short', secret: 'too short' }), (e) => e.code === 'ERR_INVALID_CONFIG' && e.status === 500)
  assert.throws(() => new Guard({ scheme: 'nope' }), (e) => e.code === 'ERR_INVALID_CONFIG')
})

test('simple scheme and the signer', () => {
  const g = newGuard({ scheme: 'simple', clock: clock() })
  const s = new Signer({ id: 'k1', secret: SECRET, scheme: 'simple' })
  const body = Buffer.from('hello')
  const headers = s.sign({ method: 'post', url: '/p?q=1', body }, { timestamp: NOW })
  assert.deepEqual(Object.keys(headers).sort(), ['x-hmac-content-sha256', 'x-hmac-key-id', 'x-hmac-nonce', 'x-hmac-signature', 'x-hmac-timestamp'])
  const v = g.verify({ method: 'POST', url: '/p?q=1', headers, body })
  assert.equal(v.scheme, 'simple')
  assert.equal(v.subject, 'user:1')
})

test('explain reports the base and the failing check, never a secret', () => {
  const g = newGuard({ clock: clock() })
  const r = { ...req(), url: '/orders?id=8' }
  const ex = g.explain(r)
  assert.equal(ex.ok, false)
  assert.equal(ex.error.code, 'ERR_SIGNATURE_MISMATCH')
  assert.ok(ex.signatureBase.includes('"@path": /orders'))
  assert.ok(ex.checks.find((c) => c.name === 'signature').outcome === 'failed')
  const text = String(ex)
  assert.ok(text.includes('signature base'))
  assertNoSecret(text)
  assertNoSecret(JSON.stringify(ex))
})

test('secrets never appear in errors, inspect output or explanations', () => {
  const g = newGuard({ clock: clock() })
  assertNoSecret(util.inspect(g, { showHidden: true, depth: 5 }))
  assertNoSecret(util.inspect(signer, { showHidden: true, depth: 5 }))
  const errs = []
  for (const r of [req(), { ...req(), url: '/x' }, { ...req(), body: Buffer.from('zz') }]) {
    try {
      g.verify(r)
      g.verify(r)
    } catch (e) {
      errs.push(e)
    }
  }
  try {
    new Guard({ keys: [{ id: 'k', secret: 'short-secret' }] })
  } catch (e) {
    errs.push(e)
  }
  assert.ok(errs.length >= 3)
  for (const e of errs) {
    assertNoSecret(util.inspect(e, { showHidden: true }))
    assertNoSecret(String(e.reason) + e.message + e.stack)
    assert.ok(!String(e.reason).includes('short-secret'))
  }
})

function assertNoSecret(text) {
  assert.ok(!text.includes(SECRET.toString('utf8')), 'secret (utf8) leaked')
  assert.ok(!text.includes(SECRET.toString('hex')), 'secret (hex) leaked')
  assert.ok(!text.includes(SECRET.toString('base64')), 'secret (base64) leaked')
}

test('non-ASCII header values cross the boundary without shifting the others', () => {
  // The core refuses non-ASCII *covered* values; an uncovered one must still not disturb how
  // the head is split (the addon splits by UTF-16 lengths).
  const g = newGuard({ clock: clock() })
  const body = Buffer.from('x')
  const headers = { 'x-other': 'naïve 😀 café', host: 'api.example.com', 'x-note': 'plain', 'content-type': 'text/plain' }
  const added = signer.sign({ method: 'POST', url: '/p?q=1', headers, body }, { created: NOW, components: ['@method', '@authority', '@path', '@query', 'x-note', 'content-digest'] })
  const v = g.verify({ method: 'POST', url: '/p?q=1', headers: { ...headers, ...added }, body })
  assert.equal(v.component('x-note'), 'plain')
  assert.equal(v.component('@authority'), 'api.example.com')
  const covered = { ...headers, 'x-note': 'café' }
  assert.throws(
    () => signer.sign({ method: 'POST', url: '/p', headers: covered, body }, { components: ['x-note'] }),
    (e) => e.code === 'ERR_MALFORMED_HEADER',
  )
})

// 32 components (the core's maximum) make 74 result fields, more than the 64-entry array holds.
test('a result with more fields than the shared length array still arrives whole', () => {
  const g = newGuard({ clock: clock() })
  const headers = { host: 'api.example.com', 'content-type': 'application/json' }
  const components = ['@method', '@authority', '@path', '@query']
  for (let i = 0; i < 28; i++) {
    headers[`x-field-${i}`] = `value ${i} ${'~'.repeat(i % 3)}`
    components.push(`x-field-${i}`)
  }
  const added = signer.sign({ method: 'GET', url: '/many', headers }, { created: NOW, components })
  const r = { method: 'GET', url: '/many', scheme: 'https', headers: { ...headers, ...added } }
  for (const v of [g.verify(r), g.begin({ ...r, headers: { ...headers, ...signer.sign({ method: 'GET', url: '/many', headers }, { created: NOW, components }) } }).finish()]) {
    assert.equal(v.covered.length, components.length)
    assert.equal(v.component('x-field-27'), 'value 27', 'trimmed as RFC 9421 says')
    assert.equal(v.component('x-field-26'), 'value 26 ~~')
    assert.equal(v.component('@path'), '/many')
    assert.equal(v.keyId, 'k1')
  }
})

// Results come back through one shared length array: a result must own its values once the
// next verification has overwritten that array (a lazily built `covered` would have to copy them).
test('a result read after later verifications is still its own request\'s, covered values included', () => {
  const g = newGuard({ clock: clock() })
  const one = (url, note) => {
    const headers = { host: 'api.example.com', 'x-note': note }
    const components = ['@method', '@authority', '@path', '@query', 'x-note']
    const added = signer.sign({ method: 'GET', url, headers }, { created: NOW, components })
    return g.verify({ method: 'GET', url, scheme: 'https', headers: { ...headers, ...added } })
  }
  const first = one('/first', 'a')
  const second = g.begin(req('{"b":2}')).update('{"b":2}').finish()
  const third = one('/third/longer', 'bbbbbbbbbbbbbbbbbbbb')
  assert.deepEqual(
    first.covered.map((c) => c.value),
    ['GET', 'api.example.com', '/first', '?', 'a'],
  )
  assert.equal(first.component('@path'), '/first')
  assert.equal(third.component('x-note'), 'bbbbbbbbbbbbbbbbbbbb')
  assert.equal(second.component('@path'), '/orders')
  assert.deepEqual(JSON.parse(JSON.stringify(first)).covered, first.covered)
  assert.match(util.inspect(first, { depth: 4 }), /id: '"x-note"', value: 'a'/)
})

test('a finished verification cannot reach the next one that reuses its slot', () => {
  const g = newGuard({ clock: clock() })
  const first = g.begin(req('{"a":1}'))
  first.update('{"a":1}')
  first.finish()
  const second = g.begin(req('{"b":2}'))
  assert.throws(() => first.update('x'), (e) => e.code === 'ERR_INVALID_STATE')
  assert.throws(() => first.finish(), (e) => e.code === 'ERR_INVALID_STATE')
  first.abort()
  assert.equal(first.keyId, null)
  assert.equal(first.bytesSeen, 0)
  assert.equal(second.bytesSeen, 0, 'untouched by the finished one')
  second.update('{"b":2}')
  assert.equal(second.finish().bodyLength, 7)
  assert.equal(g.inFlight, 0)
})

test('the URL scheme: given, from the request object, else the core default (https); trustProxy reads the forwarding headers', () => {
  const components = ['@method', '@scheme', '@authority', '@path', '@query']
  const signedFor = (scheme, host) => {
    const headers = { host }
    return { ...headers, ...signer.sign({ method: 'GET', url: `${scheme}://${host}/p`, headers }, { created: NOW, components }) }
  }
  const g = newGuard({ clock: clock() })
  // Unknown: the core's https.
  assert.equal(g.verify({ method: 'GET', url: '/p', headers: signedFor('https', 'api.example.com') }).component('@scheme'), 'https')
  assert.equal(g.verify({ method: 'GET', url: '/p', scheme: '', headers: signedFor('https', 'api.example.com') }).component('@scheme'), 'https')
  assert.throws(() => g.verify({ method: 'GET', url: '/p', headers: signedFor('http', 'api.example.com') }), (e) => e.code === 'ERR_SIGNATURE_MISMATCH')
  // The framework's own notion: Express's req.protocol, a Node request's socket, an absolute URL.
  assert.equal(g.verify({ method: 'GET', url: '/p', protocol: 'http', headers: signedFor('http', 'api.example.com') }).component('@scheme'), 'http')
  assert.equal(g.verify({ method: 'GET', url: '/p', socket: { encrypted: false }, headers: signedFor('http', 'api.example.com') }).component('@scheme'), 'http')
  assert.equal(g.verify({ method: 'GET', url: '/p', socket: { encrypted: true }, headers: signedFor('https', 'api.example.com') }).component('@scheme'), 'https')
  assert.equal(g.verify({ method: 'GET', url: 'http://api.example.com/p', headers: signedFor('http', 'api.example.com') }).component('@scheme'), 'http')
  // Behind a TLS-terminating proxy: the server sees http and the proxy's internal host.
  const behind = (forwarded) => ({ method: 'GET', url: '/p', scheme: 'http', headers: { ...signedFor('https', 'api.example.com'), host: 'app.internal:8080', ...forwarded } })
  const xf = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'api.example.com' }
  assert.throws(() => g.verify(behind(xf)), (e) => e.code === 'ERR_SIGNATURE_MISMATCH', 'not trusted by default')
  const trusting = newGuard({ clock: clock(), policy: { trustProxy: true } })
  assert.equal(trusting.settings['policy.trust_proxy'], true)
  assert.equal(trusting.verify(behind(xf)).component('@authority'), 'api.example.com')
  assert.equal(trusting.verify(behind({ forwarded: 'for=1.2.3.4;proto=http;host=evil.example, proto=https;host=api.example.com' })).component('@scheme'), 'https')
  // One hop: the last element counts, whatever a client put before it.
  assert.throws(() => trusting.verify(behind({ 'x-forwarded-proto': 'https, http', 'x-forwarded-host': 'api.example.com' })), (e) => e.code === 'ERR_SIGNATURE_MISMATCH')
  assert.throws(() => trusting.verify(behind({ 'x-forwarded-proto': 'gopher' })), (e) => e.code === 'ERR_MALFORMED_HEADER')
})

test('the settings and the option table', () => {
  const s = newGuard({ profile: 'interop' }).settings
  assert.equal(s['policy.require_nonce'], false)
  assert.deepEqual(s['policy.required_components'], [])
  assert.equal(s.keys, 2)
  assert.equal(s.clock, 'system')
  assert.equal(s.default_url_scheme, 'https')
  const fields = h.configFields()
  assert.ok(fields.some((f) => f.id === 'policy.trust_proxy' && f.name === 'policy.trustProxy'))
  assert.ok(fields.some((f) => f.id === 'key.not_after' && f.name === 'notAfter'))
  assert.throws(() => newGuard({ policy: { bodyLimt: 1 } }), (e) => e.code === 'ERR_INVALID_CONFIG' && e.reason.includes('policy.bodyLimt') && e.reason.includes('"policy.bodyLimit"'))
  const c = new ManualClock(NOW)
  const g = newGuard({ clock: c })
  const r = req()
  c.advance(301)
  assert.throws(() => g.verify(r), (e) => e.code === 'ERR_TIMESTAMP_EXPIRED')
  c.set(NOW)
  assert.equal(g.verify(r).keyId, 'k1')
  assert.equal(util.inspect(c), `ManualClock(${NOW})`)
})

test('signWithBase: the headers of sign() and the base the server reports in explain(), both schemes', () => {
  const body = Buffer.from('{"a":1}')
  const headers = { host: 'api.example.com', 'content-type': 'application/json' }
  const rfc = signer.signWithBase({ method: 'POST', url: '/orders?id=7', headers, body }, { created: NOW, nonce: 'nonce-0001' })
  assert.deepEqual(rfc.headers, signer.sign({ method: 'POST', url: '/orders?id=7', headers, body }, { created: NOW, nonce: 'nonce-0001' }))
  const ex = newGuard({ clock: clock() }).explain({ method: 'POST', url: '/orders?id=7', scheme: 'https', headers: { ...headers, ...rfc.headers }, body })
  assert.equal(ex.ok, true, ex.text)
  assert.equal(rfc.base, ex.signatureBase)
  assert.ok(rfc.base.endsWith(`"@signature-params": ${rfc.headers['signature-input'].slice('sig1='.length)}`))

  const s = new Signer({ id: 'k1', secret: SECRET, scheme: 'simple' })
  const simple = s.signWithBase({ method: 'post', url: 'https://api.example.com/p?q=1', body }, { timestamp: NOW })
  const sx = newGuard({ scheme: 'simple', clock: clock() }).explain({ method: 'POST', url: '/p?q=1', headers: simple.headers, body })
  assert.equal(sx.ok, true, sx.text)
  assert.equal(simple.base, sx.signatureBase)
  assert.throws(() => signer.signWithBase(null), TypeError)
})

test('the native guard builds Accept-Signature only for a 401 of the RFC 9421 scheme', () => {
  const g = new native.NativeGuard({ keys: [{ id: 'k1', secret: SECRET }], policy: { requiredTag: 'app' } })
  assert.equal(g.acceptSignature('ERR_SIGNATURE_MISMATCH', false), 'sig1=("@method" "@authority" "@path" "@query");created;nonce;keyid;tag="app"')
  assert.equal(g.acceptSignature('ERR_MISSING_SIGNATURE', true), 'sig1=("@method" "@authority" "@path" "@query" "content-digest");created;nonce;keyid;tag="app"')
  assert.equal(g.acceptSignature('ERR_MALFORMED_SIGNATURE', false), null)
  assert.equal(g.acceptSignature('ERR_NO_SUCH_CODE', false), null)
  assert.equal(new native.NativeGuard({ keys: [{ id: 'k1', secret: SECRET }], scheme: 'simple' }).acceptSignature('ERR_SIGNATURE_MISMATCH', true), null)
})

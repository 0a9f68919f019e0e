'use strict'
// Runs every Node snippet of docs/migration.md against real Express servers on 127.0.0.1.
// Usage: bash docs/migration-examples/run.sh (sets NODE_PATH so require('hmac-guard') resolves).

const assert = require('node:assert/strict')
const crypto = require('node:crypto')

process.env.HMAC_SECRET = crypto.randomBytes(32).toString('hex')
process.env.LEGACY_HMAC_SECRET = 'legacy-secret-legacy-secret-legacy'

const express = require('express')
const { Guard, Signer, signRequest, expressMiddleware } = require('hmac-guard')

async function listen(app) {
  const server = await new Promise((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)) })
  return { base: `http://127.0.0.1:${server.address().port}`, close: () => server.close() }
}
async function post(url, headers, body) {
  const res = await fetch(url, { method: 'POST', headers, body })
  const text = await res.text()
  let json
  try { json = JSON.parse(text) } catch { json = text }
  return { status: res.status, body: json }
}
const ok = (name) => console.log(`  ok  ${name}`)

async function handWritten() {
  console.log('hand-written Express verifier (the bugs the guide names):')
  const { app: legacyApp, legacyHeaders } = require('./express-handwritten.js')
  const secret = process.env.LEGACY_HMAC_SECRET
  const { base, close } = await listen(legacyApp)
  const url = `${base}/api/orders`
  const body = JSON.stringify({ sku: 'A-1', qty: 2 })

  let r = await post(url, legacyHeaders(secret, body, '42'), body)
  assert.equal(r.status, 200); ok('a correctly signed request passes')

  r = await post(url, legacyHeaders(secret, body, 'admin'), body)
  assert.equal(r.body.by, 'admin'); ok('identity comes from the client header x-user-id')

  const noTs = { 'content-type': 'application/json', 'x-nonce': 'n-no-ts-1' }
  noTs['x-signature'] = crypto.createHmac('sha256', secret).update(`undefined.n-no-ts-1.${body}`).digest('hex')
  r = await post(url, noTs, body)
  assert.equal(r.status, 200); ok('no X-Timestamp: Number(undefined) is NaN and the window check passes')

  const victim = legacyHeaders(secret, body, '42')
  const warn0 = console.warn
  console.warn = () => {}
  r = await post(url, { ...victim, 'x-signature': '00' }, body)
  console.warn = warn0
  assert.equal(r.status, 401)
  r = await post(url, victim, body)
  assert.deepEqual([r.status, r.body.error], [401, 'replay']); ok('a forged request without the key burns the genuine nonce')

  const text = { ...legacyHeaders(secret, body, '42'), 'content-type': 'text/plain' }
  text['x-signature'] = crypto.createHmac('sha256', secret).update(`${text['x-timestamp']}.${text['x-nonce']}.undefined`).digest('hex')
  r = await post(url, text, 'any body at all')
  assert.equal(r.status, 200); ok('non-JSON body: verify() never ran, the MAC covers "undefined"')

  const warn = console.warn
  let logged
  console.warn = (...a) => { logged = a[1] }
  const forged = { ...legacyHeaders(secret, '{"refund":1000}', '42'), 'x-signature': 'wrong' }
  r = await post(url, forged, '{"refund":1000}')
  console.warn = warn
  assert.equal(r.status, 401)
  const mac = crypto.createHmac('sha256', secret).update(`${forged['x-timestamp']}.${forged['x-nonce']}.{"refund":1000}`).digest('hex')
  assert.equal(logged.expected, mac); ok('the log holds a valid MAC for a request the attacker chose')

  assert.throws(() => crypto.timingSafeEqual(Buffer.from('ab'), Buffer.from('abc')), RangeError)
  ok('timingSafeEqual on buffers of different length throws (a 500, not a 401)')
  close()
}

async function guarded() {
  console.log('hmac-guard (express-hmac-guard.js + node-client.js):')
  const { app, guard } = require('./express-hmac-guard.js')
  const { createOrder, signer } = require('./node-client.js')
  const { base, close } = await listen(app)
  const url = `${base}/api/orders`

  let r = await createOrder(base, { sku: 'A-1', qty: 2 })
  assert.deepEqual(r, { status: 200, body: { by: 'user:42', order: { sku: 'A-1', qty: 2 } } }); ok('signed request: 200, req.hmac.subject, req.body')

  const init = signRequest(signer, url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-user-id': 'admin' }, body: '{"qty":1}' })
  r = await post(url, init.headers, init.body)
  assert.equal(r.body.by, 'user:42'); ok('x-user-id is ignored: identity is the key subject')
  r = await post(url, init.headers, init.body)
  assert.deepEqual([r.status, r.body.error.code], [401, 'ERR_REPLAY']); ok('replay: 401 ERR_REPLAY')

  const t = signRequest(signer, url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"qty":1}' })
  r = await post(url, t.headers, '{"qty":9}')
  assert.deepEqual([r.status, r.body.error.code], [401, 'ERR_DIGEST_MISMATCH']); ok('tampered body: 401 ERR_DIGEST_MISMATCH')
  r = await post(`${url}?qty=9`, t.headers, '{"qty":1}')
  assert.deepEqual([r.status, r.body.error.code], [401, 'ERR_SIGNATURE_MISMATCH']); ok('tampered query: 401 ERR_SIGNATURE_MISMATCH')

  r = await post(url, { 'content-type': 'application/json' }, '{}')
  assert.deepEqual([r.status, r.body], [401, { error: { code: 'ERR_MISSING_SIGNATURE', message: 'request is not signed' } }]); ok('unsigned: 401 {"error":{"code","message"}}')

  const ms = signRequest(signer, url, { method: 'POST', body: 'x' }, { scheme: 'simple', timestamp: Date.now() })
  r = await post(url, ms.headers, 'x')
  assert.deepEqual([r.status, r.body.error.code], [400, 'ERR_MALFORMED_SIGNATURE']); ok('millisecond timestamp: 400 ERR_MALFORMED_SIGNATURE')

  const big = Buffer.alloc(2 * 1024 * 1024, 97)
  const b = signRequest(signer, url, { method: 'POST', body: big })
  r = await post(url, b.headers, b.body)
  assert.deepEqual([r.status, r.body.error.code], [413, 'ERR_BODY_TOO_LARGE']); ok('2 MiB body: 413 ERR_BODY_TOO_LARGE')

  r = await post(`${base}/echo`, { 'content-type': 'application/json' }, '{"a":1}')
  assert.deepEqual(r.body, { parsed: { a: 1 } }); ok('other routes still get express.json()')

  // Key rotation, as in the guide.
  const newSecret = crypto.randomBytes(32)
  guard.addKey({ id: 'client-1-2026', secret: newSecret, subject: 'user:42' })
  const next = new Signer({ id: 'client-1-2026', secret: newSecret, scheme: 'simple' })
  const n = signRequest(next, url, { method: 'POST', body: '' })
  r = await post(url, n.headers, n.body)
  assert.equal(r.status, 200)
  guard.removeKey('client-1')
  r = await createOrder(base, {})
  assert.deepEqual([r.status, r.body.error.code], [401, 'ERR_UNKNOWN_KEY']); ok('rotation: addKey new id, removeKey old id -> ERR_UNKNOWN_KEY')

  const e = signRequest(next, url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"qty":1}' })
  const why = guard.explain({ method: 'POST', url: '/api/orders?x=1', headers: { host: 'x', ...e.headers }, body: e.body })
  assert.equal(why.ok, false); assert.match(why.text, /ERR_SIGNATURE_MISMATCH/); ok('explain names the failing check')
  close()

  // Mounted after a body parser: refused, not silently unverified.
  const wrong = express()
  wrong.use(express.json())
  wrong.use(expressMiddleware(guard))
  wrong.post('/api/orders', (req, res) => res.json({}))
  const w = await listen(wrong)
  const s = signRequest(next, `${w.base}/api/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
  r = await post(`${w.base}/api/orders`, s.headers, s.body)
  assert.deepEqual([r.status, r.body.error.code], [500, 'ERR_INVALID_STATE']); ok('mounted after express.json(): 500 ERR_INVALID_STATE')
  w.close()

  // RFC 9421 instead of HG1: leave out scheme: 'simple' on both sides.
  const rfcGuard = new Guard({ keys: [{ id: 'client-1', secret: newSecret, subject: 'user:42' }] })
  const rfcApp = express()
  rfcApp.use('/api', expressMiddleware(rfcGuard))
  rfcApp.post('/api/orders', (req, res) => res.json({ by: req.hmac.subject, scheme: req.hmac.scheme, path: req.hmac.component('@path'), order: req.body }))
  const ra = await listen(rfcApp)
  const rs = new Signer({ id: 'client-1', secret: newSecret })
  const ri = signRequest(rs, `${ra.base}/api/orders?x=1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' })
  r = await post(`${ra.base}/api/orders?x=1`, ri.headers, ri.body)
  assert.deepEqual(r.body, { by: 'user:42', scheme: 'rfc9421', path: '/api/orders', order: { a: 1 } })
  const hi = signRequest(next, `${ra.base}/api/orders`, { method: 'POST', body: '{}' })
  r = await post(`${ra.base}/api/orders`, hi.headers, hi.body)
  assert.deepEqual([r.status, r.body.error.code], [401, 'ERR_MISSING_SIGNATURE'])
  ra.close(); ok('RFC 9421 (the default) behind app.use(\'/api\'); an HG1 request to it is unsigned')

  // onError: 'next' hands the HmacGuardError to your own error handler.
  const own = express()
  own.use('/api', expressMiddleware(rfcGuard, { onError: 'next' }))
  own.post('/api/orders', (req, res) => res.json({}))
  own.use((err, req, res, next) => res.status(err.status).json({ failure: err.code }))
  const oa = await listen(own)
  r = await post(`${oa.base}/api/orders`, {}, '')
  assert.deepEqual([r.status, r.body], [401, { failure: 'ERR_MISSING_SIGNATURE' }])
  oa.close(); ok("onError: 'next' -> your error handler gets err.code / err.status")

  // Redis store option (if redis-server is running on 6379 this would connect; here only construction).
  const rg = new Guard({ keys: [{ id: 'k', secret: newSecret }], redisUrl: 'redis://127.0.0.1:6379/0' })
  assert.equal(rg.store, 'redis'); ok("new Guard({ redisUrl }) -> guard.store === 'redis'")

  // Keys with a validity window.
  const vg = new Guard({ keys: [{ id: 'old', secret: newSecret, notAfter: new Date('2026-03-31T00:00:00Z') }] })
  assert.deepEqual(vg.keyIds(), ['old']); ok('keys accept notAfter')
}

async function transition() {
  console.log('transition (express-transition.js):')
  const { legacyHeaders } = require('./express-handwritten.js')
  const { createOrder, signer } = require('./node-client.js')
  const secret = process.env.LEGACY_HMAC_SECRET
  const { app } = require('./express-transition.js')
  const { base, close } = await listen(app)
  const url = `${base}/api/orders`
  const body = '{"sku":"B-2"}'

  let r = await createOrder(base, { sku: 'A-1' })
  assert.deepEqual(r.body, { by: 'user:42', order: { sku: 'A-1' } }); ok('hmac-guard client: verified by hmac-guard')
  const warn = console.warn
  console.warn = () => {}
  r = await post(url, legacyHeaders(secret, body, '7'), body)
  assert.deepEqual([r.status, r.body], [200, { by: '7', order: { sku: 'B-2' } }]); ok('legacy client before the deadline: old check')
  const bad = signRequest(signer, url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"x":1}' })
  r = await post(url, { ...legacyHeaders(secret, body, '7'), ...bad.headers }, body)
  assert.deepEqual([r.status, r.body.error.code], [401, 'ERR_DIGEST_MISMATCH']); ok('failed hmac-guard check + valid legacy headers: refused, no fallback')
  const half = { ...legacyHeaders(secret, body, '7'), 'x-hmac-key-id': 'client-1' }
  r = await post(url, half, body)
  assert.deepEqual([r.status, r.body.error.code], [400, 'ERR_MISSING_HEADER']); ok('partial hmac-guard headers: refused, no fallback')
  console.warn = warn

  const realNow = Date.now
  Date.now = () => Date.parse('2027-07-01T00:00:00Z') // after the deadline (the guard's clock is its own)
  r = await post(url, legacyHeaders(secret, body, '7'), body)
  Date.now = realNow
  assert.deepEqual([r.status, r.body.error.code], [401, 'ERR_MISSING_SIGNATURE']); ok('legacy client after the deadline: 401')
  close()
}

;(async () => {
  await handWritten()
  await guarded()
  await transition()
  console.log('node: all checks passed')
  process.exit(0)
})().catch((e) => { console.error(e); process.exit(1) })

'use strict'

// Express 5 with real HTTP requests on 127.0.0.1.

const test = require('node:test')
const assert = require('node:assert/strict')
const http = require('node:http')
const express = require('express')
const { expressMiddleware, HmacGuardError, newGuard, listen, close, send, signed, abandonMidBody } = require('./helpers.js')
const { httpSuite, acceptSignatureSuite, exposeReasonsSuite } = require('./suite.js')
const { withRedis } = require('./redis-server.js')

function echoHandler(req, res) {
  res.json({
    keyId: req.hmac.keyId,
    subject: req.hmac.subject,
    created: req.hmac.created,
    nonce: req.hmac.nonce,
    covered: req.hmac.covered,
    body: Buffer.isBuffer(req.body) ? { buffer: req.body.length } : req.body,
    raw: req.rawBody.toString('base64'),
  })
}

function makeExpress(guard) {
  const app = express()
  app.get('/health', (_req, res) => res.send('ok'))
  const hmac = expressMiddleware(guard)
  app.get('/echo', hmac, echoHandler)
  app.post('/echo', hmac, echoHandler)
  app.put('/echo', hmac, echoHandler)
  app.post('/echo-alt', hmac, echoHandler)
  return { server: http.createServer(app), echo: '/echo', echoAlt: '/echo-alt', health: '/health', readEcho: (j) => j }
}

test('Express 5', (t) => httpSuite(t, makeExpress))

test('Express 5: Accept-Signature on refusals', (t) => acceptSignatureSuite(t, makeExpress))

test('Express 5: exposeReasons', (t) => exposeReasonsSuite(t, makeExpress))

test('Express 5: exposeReasons shows why a 500 ERR_INVALID_STATE happened', async (t) => {
  const app = express()
  app.post('/parsed-first', express.json(), expressMiddleware(newGuard({ exposeReasons: true })), (req, res) => res.json({ ok: true }))
  const server = http.createServer(app)
  const base = await listen(server)
  t.after(() => close(server))
  const r = await send(base, signed(base, { path: '/parsed-first', body: { a: 1 } }))
  assert.equal(r.status, 500, r.body)
  assert.equal(r.json.error.code, 'ERR_INVALID_STATE')
  assert.match(r.json.error.reason, /body parsers/)
})

// The same suite with the shared Redis replay store: the middleware finishes asynchronously.
test('Express 5 with the Redis replay store', { timeout: 90000 }, (t) =>
  withRedis((redisUrl) => httpSuite(t, makeExpress, { guardOptions: { redisUrl } })),
)

test('Express 5: parsing, next(err), misuse', async (t) => {
  const guard = newGuard()
  const app = express()
  app.post('/next', expressMiddleware(guard, { onError: 'next' }), (req, res) => res.json({ ok: true }))
  app.post('/parsed-first', express.json(), expressMiddleware(guard), (req, res) => res.json({ ok: true }))
  app.post('/any', expressMiddleware(guard), (req, res) => res.json({ body: req.body, type: typeof req.body }))
  app.post('/mounted', expressMiddleware(guard), express.json(), (req, res) => res.json({ body: req.body }))
  app.post('/strict', expressMiddleware(guard, { strict: true }), (req, res) => res.json({ body: req.body, type: typeof req.body }))
  app.use((err, req, res, _next) => {
    res.status(418).json({ caught: err instanceof HmacGuardError, code: err.code, status: err.status })
  })
  const server = http.createServer(app)
  const base = await listen(server)
  t.after(() => close(server))

  await t.test('onError next passes the HmacGuardError on', async () => {
    const r = await send(base, { method: 'POST', path: '/next', body: '{}' })
    assert.equal(r.status, 418)
    assert.deepEqual(r.json, { caught: true, code: 'ERR_MISSING_SIGNATURE', status: 401 })
  })
  await t.test('a body parser mounted first is reported', async () => {
    const r = await send(base, signed(base, { path: '/parsed-first', body: { a: 1 } }))
    assert.equal(r.status, 500)
    assert.equal(r.json.error.code, 'ERR_INVALID_STATE')
  })
  await t.test('urlencoded and text bodies are parsed; a later express.json() is skipped', async () => {
    let r = await send(base, signed(base, { path: '/any', body: 'a=1&b=2&b=3', headers: { 'content-type': 'application/x-www-form-urlencoded' } }))
    assert.deepEqual(r.json.body, { a: '1', b: ['2', '3'] })
    r = await send(base, signed(base, { path: '/any', body: 'hello', headers: { 'content-type': 'text/plain' } }))
    assert.deepEqual(r.json, { body: 'hello', type: 'string' })
    r = await send(base, signed(base, { path: '/mounted', body: { x: [1, 2] } }))
    assert.deepEqual(r.json, { body: { x: [1, 2] } })
  })
  await t.test('text is decoded by its declared charset', async () => {
    const latin1 = Buffer.from([0x63, 0x61, 0x66, 0xe9]) // "café" in ISO-8859-1
    let r = await send(base, signed(base, { path: '/any', body: latin1, headers: { 'content-type': 'text/plain; charset=iso-8859-1' } }))
    assert.deepEqual(r.json, { body: 'café', type: 'string' })
    r = await send(base, signed(base, { path: '/any', body: 'café', headers: { 'content-type': 'text/plain; charset="UTF-8"' } }))
    assert.deepEqual(r.json, { body: 'café', type: 'string' })
    const utf16 = Buffer.from('{"a":"é"}', 'utf16le')
    r = await send(base, signed(base, { path: '/any', body: utf16, headers: { 'content-type': 'application/json; charset=utf-16le' } }))
    assert.deepEqual(r.json, { body: { a: 'é' }, type: 'object' })
    // A charset nothing decodes leaves the verified bytes to the handler.
    r = await send(base, signed(base, { path: '/any', body: 'x', headers: { 'content-type': 'text/plain; charset=x-unknown' } }))
    assert.equal(r.json.type, 'object')
  })
  await t.test('strict JSON refuses a bare value; the default takes it', async () => {
    let r = await send(base, signed(base, { path: '/strict', body: '"just a string"' }))
    assert.equal(r.status, 400)
    assert.equal(r.json.error.code, 'ERR_BODY_PARSE')
    r = await send(base, signed(base, { path: '/strict', body: '[1]' }))
    assert.deepEqual(r.json, { body: [1], type: 'object' })
    r = await send(base, signed(base, { path: '/any', body: '"just a string"' }))
    assert.deepEqual(r.json, { body: 'just a string', type: 'string' })
  })
  await t.test('invalid JSON under a valid signature answers 400', async () => {
    const r = await send(base, signed(base, { path: '/any', body: '{not json' }))
    assert.equal(r.status, 400)
    assert.equal(r.json.error.code, 'ERR_BODY_PARSE')
  })
})

// An async middleware in front (a session or rate-limit lookup) while the client goes away: the
// request is already closed when hmac-guard starts, and nothing may stay in flight.
test('Express 5: a request closed before the middleware runs leaves nothing in flight', async () => {
  const guard = newGuard()
  const app = express()
  let arrived = 0
  const delay = (_req, _res, next) => {
    arrived++
    setTimeout(next, 150)
  }
  app.post('/slow', delay, expressMiddleware(guard), (req, res) => res.json({ ok: true }))
  app.get('/health', (_req, res) => res.send('ok'))
  const server = http.createServer(app)
  const base = await listen(server)
  try {
    const body = Buffer.alloc(2048, 0x61)
    const s = signed(base, { path: '/slow', body, headers: { 'content-type': 'application/octet-stream', 'content-length': String(body.length) } })
    for (let i = 0; i < 5; i++) await abandonMidBody(base, s, body, 100, 30)
    for (let i = 0; i < 50 && (arrived < 5 || guard.inFlight !== 0); i++) await new Promise((r) => setTimeout(r, 20))
    await new Promise((r) => setTimeout(r, 300)) // past the delay of the last one
    assert.equal(arrived, 5)
    assert.equal(guard.inFlight, 0)
    assert.equal((await send(base, { path: '/health' })).status, 200)
  } finally {
    await close(server)
  }
})

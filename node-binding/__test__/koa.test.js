'use strict'

// Koa with real HTTP requests on 127.0.0.1.

const test = require('node:test')
const assert = require('node:assert/strict')
const Koa = require('koa')
const { koaMiddleware, HmacGuardError, newGuard, listen, close, send, signed, abandonMidBody } = require('./helpers.js')
const { httpSuite, acceptSignatureSuite, exposeReasonsSuite } = require('./suite.js')
const { withRedis } = require('./redis-server.js')

function makeKoa(guard) {
  const app = new Koa()
  const hmac = koaMiddleware(guard)
  app.use(async (ctx, next) => {
    if (ctx.path === '/health') {
      ctx.body = 'ok'
      return
    }
    if (ctx.path === '/echo' || ctx.path === '/echo-alt') {
      await hmac(ctx, async () => {
        const body = ctx.request.body
        ctx.body = {
          keyId: ctx.state.hmac.keyId,
          subject: ctx.state.hmac.subject,
          created: ctx.state.hmac.created,
          body: Buffer.isBuffer(body) ? { buffer: body.length } : body,
          raw: ctx.request.rawBody.toString('base64'),
        }
      })
      return
    }
    await next()
  })
  return { server: require('node:http').createServer(app.callback()), echo: '/echo', echoAlt: '/echo-alt', health: '/health', readEcho: (j) => j }
}

test('Koa', (t) => httpSuite(t, makeKoa))

test('Koa: Accept-Signature on refusals', (t) => acceptSignatureSuite(t, makeKoa))

test('Koa: exposeReasons', (t) => exposeReasonsSuite(t, makeKoa))

// The same suite with the shared Redis replay store: the middleware finishes asynchronously.
test('Koa with the Redis replay store', { timeout: 90000 }, (t) => withRedis((redisUrl) => httpSuite(t, makeKoa, { guardOptions: { redisUrl } })))

test('Koa: onError throw reaches the app error handling', async (t) => {
  const guard = newGuard()
  const app = new Koa()
  app.use(async (ctx, next) => {
    try {
      await next()
    } catch (err) {
      ctx.status = 418
      ctx.body = { caught: err instanceof HmacGuardError, code: err.code, status: err.status }
    }
  })
  app.use(koaMiddleware(guard, { onError: 'throw' }))
  app.use((ctx) => {
    ctx.body = { ok: true, subject: ctx.state.hmac.subject }
  })
  const server = require('node:http').createServer(app.callback())
  const base = await listen(server)
  t.after(() => close(server))
  let r = await send(base, { method: 'POST', path: '/x', body: '{}' })
  assert.equal(r.status, 418)
  assert.deepEqual(r.json, { caught: true, code: 'ERR_MISSING_SIGNATURE', status: 401 })
  r = await send(base, signed(base, { path: '/x', body: { a: 1 } }))
  assert.deepEqual(r.json, { ok: true, subject: 'user:1' })
})

test('Koa: sink mode streams the verified body into a writable', async (t) => {
  const { Writable } = require('node:stream')
  const guard = newGuard({ policy: { bodyLimit: 1 << 20 } })
  const app = new Koa()
  let got = []
  app.use(
    koaMiddleware(guard, {
      sink: () =>
        new Writable({
          write(chunk, _enc, cb) {
            got.push(chunk)
            cb()
          },
        }),
    }),
  )
  app.use((ctx) => {
    ctx.body = { keyId: ctx.state.hmac.keyId, bytes: Buffer.concat(got).length, raw: ctx.request.rawBody === undefined }
  })
  const server = require('node:http').createServer(app.callback())
  const base = await listen(server)
  t.after(() => close(server))
  const body = Buffer.alloc(300 * 1024, 7)
  let r = await send(base, signed(base, { path: '/up', body, headers: { 'content-type': 'application/octet-stream' } }))
  assert.deepEqual(r.json, { keyId: 'k1', bytes: body.length, raw: true })
  got = []
  const bad = signed(base, { path: '/up', body, headers: { 'content-type': 'application/octet-stream' } })
  bad.body = Buffer.alloc(body.length, 8)
  r = await send(base, bad)
  assert.equal(r.status, 401)
  assert.equal(r.json.error.code, 'ERR_DIGEST_MISMATCH')
})

// An async middleware in front while the client goes away: nothing may stay in flight.
test('Koa: a request closed before the middleware runs leaves nothing in flight', async () => {
  const http = require('node:http')
  const guard = newGuard()
  const app = new Koa()
  const hmac = koaMiddleware(guard)
  let arrived = 0
  app.use(async (ctx, next) => {
    if (ctx.path === '/health') {
      ctx.body = 'ok'
      return
    }
    arrived++
    await new Promise((r) => setTimeout(r, 150))
    await hmac(ctx, next)
  })
  app.use((ctx) => {
    ctx.body = { ok: true }
  })
  const server = http.createServer(app.callback())
  const base = await listen(server)
  try {
    const body = Buffer.alloc(2048, 0x61)
    const s = signed(base, { path: '/slow', body, headers: { 'content-type': 'application/octet-stream', 'content-length': String(body.length) } })
    for (let i = 0; i < 5; i++) await abandonMidBody(base, s, body, 100, 30)
    for (let i = 0; i < 50 && arrived < 5; i++) await new Promise((r) => setTimeout(r, 20))
    await new Promise((r) => setTimeout(r, 300)) // past the delay of the last one
    assert.equal(arrived, 5)
    assert.equal(guard.inFlight, 0)
    assert.equal((await send(base, { path: '/health' })).status, 200)
  } finally {
    await close(server)
  }
})

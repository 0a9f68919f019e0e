'use strict'

// Request intake against real Express, Koa and Feathers servers on 127.0.0.1, with raw bytes on a
// TCP socket: a body the server cannot read answers 400 ERR_BAD_FRAMING (JSON, like any refusal),
// Transfer-Encoding with Content-Length is a 400, and a refused request with its body unread gets
// `Connection: close`, is not read any further, and the server keeps serving.

const test = require('node:test')
const assert = require('node:assert/strict')
const http = require('node:http')
const express = require('express')
const Koa = require('koa')
const { feathers } = require('@feathersjs/feathers')
const fexpress = require('@feathersjs/express')
const fkoa = require('@feathersjs/koa')
const { hmacExpress, hmacKoa, unlessVerified, requireHmac } = require('../feathers.js')
const { expressMiddleware, koaMiddleware, newGuard, wrongSigner, listen, close, send, signed } = require('./helpers.js')
const { rawHead, headOfSigned, chunk, rawExchange, flood } = require('./raw.js')

const MiB = 1024 * 1024
// 64 MiB: a declared 50 MiB body is within the limit, so the refusals below are 401s with the
// whole body still to come (not 413s decided on the length alone).
const LIMIT = 64 * MiB
const DECLARED = 50 * MiB
// What the client may get into the kernel's buffers (its send buffer, the server's receive
// buffer) before the server resets the connection: a few MiB on Linux loopback.
const MAX_WRITTEN = 8 * MiB
// What the server itself may read from a refused connection: the read that brought the head.
const MAX_READ = 1 * MiB

const codeOf = (r) => r.json?.error?.code ?? r.json?.data?.code

async function makeExpress(guard, serverOptions = {}) {
  const app = express()
  app.get('/health', (_req, res) => res.send('ok'))
  app.post('/echo', expressMiddleware(guard), (req, res) => res.status(201).json({ subject: req.hmac.subject, bytes: req.rawBody.length }))
  return http.createServer(serverOptions, app)
}

async function makeKoa(guard, serverOptions = {}) {
  const app = new Koa()
  const hmac = koaMiddleware(guard)
  app.use(async (ctx, next) => {
    if (ctx.path === '/health') {
      ctx.body = 'ok'
      return
    }
    if (ctx.path === '/echo') {
      await hmac(ctx, async () => {
        ctx.status = 201
        ctx.body = { subject: ctx.state.hmac.subject, bytes: ctx.request.rawBody.length }
      })
      return
    }
    await next()
  })
  return http.createServer(serverOptions, app.callback())
}

class Echo {
  async create(data, params) {
    return { subject: params.hmac.subject, bytes: params.rawBody.length }
  }
}

function services(app) {
  app.use('echo', new Echo())
  app.use('health', { async find() { return { ok: true } } })
  app.service('echo').hooks({ before: { all: [requireHmac()] } })
}

async function makeFeathersExpress(guard, serverOptions = {}) {
  const app = fexpress.default(feathers())
  app.use(hmacExpress(guard))
  app.use(fexpress.json())
  app.configure(fexpress.rest())
  services(app)
  app.use(fexpress.errorHandler({ logger: false }))
  const server = http.createServer(serverOptions, app)
  await app.setup(server)
  return server
}

async function makeFeathersKoa(guard, serverOptions = {}) {
  const app = fkoa.koa(feathers())
  app.use(fkoa.errorHandler())
  app.use(hmacKoa(guard))
  app.use(unlessVerified(fkoa.bodyParser()))
  app.configure(fkoa.rest())
  services(app)
  const server = http.createServer(serverOptions, app.callback())
  await app.setup(server)
  return server
}

// Feathers lets unsigned requests through to `requireHmac()` (after its body parser): its refusals
// with an unread body come from hmac-guard for signed requests only.
const SERVERS = [
  ['Express', makeExpress, { unsigned: true }],
  ['Koa', makeKoa, { unsigned: true }],
  ['Feathers over Express', makeFeathersExpress, { unsigned: false }],
  ['Feathers over Koa', makeFeathersKoa, { unsigned: false }],
]

const wait = (ms) => new Promise((r) => setTimeout(r, ms))

for (const [name, make, { unsigned }] of SERVERS) {
  test(`${name}: request intake`, { timeout: 120000 }, async (t) => {
    const guard = newGuard({ policy: { bodyLimit: LIMIT } })
    const server = await make(guard)
    // The server's view of each connection: bytes it read, once closed.
    const reads = []
    server.on('connection', (s) => s.once('close', () => reads.push(s.bytesRead)))
    const base = await listen(server)
    const host = new URL(base).host
    t.after(() => close(server))

    const body = Buffer.from(JSON.stringify({ amount: 10 }))
    const sign = (extra = {}) => signed(base, { path: '/echo', body, ...extra })
    const chunkedHead = (s) => headOfSigned(s, { drop: ['content-length'], add: [['Transfer-Encoding', 'chunked']] })

    const stillServing = async () => {
      const r = await send(base, sign())
      assert.equal(r.status, 201, `a fresh signed request afterwards: ${r.status} ${r.body}`)
      assert.deepEqual(r.json, { subject: 'user:1', bytes: body.length })
    }
    const noneInFlight = async () => {
      for (let i = 0; i < 100 && guard.inFlight !== 0; i++) await wait(20)
      assert.equal(guard.inFlight, 0, 'verifications left in flight')
    }
    const expectFraming = (r) => {
      assert.equal(r.status, 400, `status (body ${r.body})`)
      assert.equal(codeOf(r), 'ERR_BAD_FRAMING', `code (body ${r.body})`)
      assert.equal(r.headers.connection, 'close')
      assert.ok(r.closed, 'the server closed the connection')
    }

    await t.test('a bad chunk size answers 400 ERR_BAD_FRAMING, never a 500', async () => {
      const r = await rawExchange(base, [chunkedHead(sign()), Buffer.from('zz\r\n{"amount": 10}\r\n0\r\n\r\n')])
      expectFraming(r)
      await noneInFlight()
      await stillServing()
    })

    await t.test('a truncated chunk, then a half-close: 400 ERR_BAD_FRAMING', async () => {
      const r = await rawExchange(base, [chunkedHead(sign()), Buffer.from(`${(body.length + 40).toString(16)}\r\n`), body], { end: 'half' })
      expectFraming(r)
      await noneInFlight()
      await stillServing()
    })

    await t.test('a chunk without its CRLF, then the next chunk: 400 ERR_BAD_FRAMING', async () => {
      const r = await rawExchange(base, [chunkedHead(sign()), Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('XX5\r\nhello\r\n0\r\n\r\n')])
      expectFraming(r)
      await stillServing()
    })

    await t.test('a truncated chunk, then a close: nothing left in flight, the server keeps serving', async () => {
      await rawExchange(base, [chunkedHead(sign()), Buffer.from(`${(body.length + 40).toString(16)}\r\n`), body], { end: 'destroy' })
      await noneInFlight()
      await stillServing()
    })

    await t.test('a Content-Length body cut short by a half-close: 400 ERR_BAD_FRAMING', async () => {
      const s = sign()
      const r = await rawExchange(base, [headOfSigned(s, { add: [['Content-Length', String(body.length)]] }), body.subarray(0, 5)], { end: 'half' })
      expectFraming(r)
      await noneInFlight()
      await stillServing()
    })

    await t.test('Transfer-Encoding with Content-Length: 400, never accepted', async () => {
      const s = sign()
      const head = headOfSigned(s, { add: [['Content-Length', String(chunk(body).length + 5)], ['Transfer-Encoding', 'chunked']] })
      const r = await rawExchange(base, [head, chunk(body), Buffer.from('0\r\n\r\n')], { waitCloseMs: 200 })
      // Node's parser refuses it before the application: a bare 400 (the lenient parser below
      // lets it through to the adapter).
      assert.equal(r.status, 400, `status (body ${r.body})`)
      if (r.body) assert.equal(codeOf(r), 'ERR_BAD_FRAMING', `code (body ${r.body})`)
      await stillServing()
    })

    await t.test('a non-chunked final transfer coding: 400', async () => {
      const s = sign()
      const head = headOfSigned(s, { drop: ['content-length'], add: [['Transfer-Encoding', 'gzip']] })
      const r = await rawExchange(base, [head, body], { end: 'half' })
      assert.equal(r.status, 400, `status (body ${r.body})`)
      if (r.body) assert.equal(codeOf(r), 'ERR_BAD_FRAMING', `code (body ${r.body})`)
      await stillServing()
    })

    const refusedFlood = async (head, expected, options) => {
      const before = reads.length
      const r = await flood(base, head, options)
      assert.equal(r.status, expected.status, `status (body ${r.body}; ${r.written} bytes written)`)
      assert.equal(codeOf(r), expected.code, `code (body ${r.body})`)
      assert.equal(r.headers.connection, 'close')
      assert.ok(r.closed, `the connection was not closed (${r.written} bytes written)`)
      assert.ok(r.written < MAX_WRITTEN, `the client could write ${r.written} bytes of ${DECLARED}`)
      for (let i = 0; i < 150 && reads.length === before; i++) await wait(20)
      assert.ok(reads.length > before, 'the server did not close the connection')
      const read = reads[reads.length - 1]
      assert.ok(read < MAX_READ, `the server read ${read} bytes of the refused request`)
      await noneInFlight()
      await stillServing()
    }

    if (unsigned) {
      await t.test('unsigned, 50 MiB declared and sent: 401 with Connection: close, the rest never read', async () => {
        const head = rawHead('POST', '/echo', [['Host', host], ['Content-Type', 'application/octet-stream'], ['Content-Length', String(DECLARED)]])
        await refusedFlood(head, { status: 401, code: 'ERR_MISSING_SIGNATURE' })
      })
    }

    await t.test('a wrong MAC, 50 MiB declared and sent: 401 with Connection: close, the rest never read', async () => {
      const s = sign({ by: wrongSigner })
      const head = headOfSigned(s, { drop: ['content-length'], add: [['Content-Length', String(DECLARED)]] })
      await refusedFlood(head, { status: 401, code: 'ERR_SIGNATURE_MISMATCH' })
    })

    await t.test('a wrong MAC, a chunked body that keeps coming: 401 with Connection: close, the rest never read', async () => {
      await refusedFlood(chunkedHead(sign({ by: wrongSigner })), { status: 401, code: 'ERR_SIGNATURE_MISMATCH' }, { chunked: true })
    })

    await t.test('a refusal of a request without a body keeps the connection', async () => {
      const r = await rawExchange(base, [rawHead('POST', '/echo', [['Host', host], ['Content-Length', '0']])], { waitCloseMs: 200 })
      assert.equal(r.status, 401)
      assert.notEqual(r.headers.connection, 'close')
    })

    await t.test('a malformed request on another connection still gets Node’s own 400', async () => {
      const r = await rawExchange(base, [Buffer.from('NOT HTTP AT ALL\r\n\r\n')])
      assert.equal(r.status, 400)
      assert.ok(r.closed)
      await stillServing()
    })
  })

  // With Node's lenient parser (insecureHTTPParser) both headers reach the application: the
  // adapter hands both to the core, which refuses the request.
  test(`${name}: Transfer-Encoding with Content-Length behind a lenient parser`, { timeout: 60000 }, async (t) => {
    const guard = newGuard({ policy: { bodyLimit: LIMIT } })
    const server = await make(guard, { insecureHTTPParser: true })
    const base = await listen(server)
    t.after(() => close(server))
    const body = Buffer.from(JSON.stringify({ amount: 10 }))
    for (const order of [
      [['Content-Length', String(body.length)], ['Transfer-Encoding', 'chunked']],
      [['Transfer-Encoding', 'chunked'], ['Content-Length', String(body.length)]],
    ]) {
      const s = signed(base, { path: '/echo', body })
      const r = await rawExchange(base, [headOfSigned(s, { add: order }), chunk(body), Buffer.from('0\r\n\r\n')])
      assert.equal(r.status, 400, `status (body ${r.body})`)
      assert.equal(codeOf(r), 'ERR_BAD_FRAMING', `code (body ${r.body})`)
      assert.equal(r.headers.connection, 'close')
      assert.ok(r.closed, 'the server closed the connection')
    }
    for (let i = 0; i < 100 && guard.inFlight !== 0; i++) await wait(20)
    assert.equal(guard.inFlight, 0)
    const r = await send(base, signed(base, { path: '/echo', body }))
    assert.equal(r.status, 201, r.body)
  })
}

test('verifyUpload: a body the server cannot read rejects with ERR_BAD_FRAMING, answered by sendError', { timeout: 60000 }, async (t) => {
  const { Writable } = require('node:stream')
  const { verifyUpload, sendError } = require('..')
  const guard = newGuard({ policy: { bodyLimit: LIMIT } })
  const server = http.createServer(async (req, res) => {
    try {
      const verified = await verifyUpload(guard, req, new Writable({ write: (_c, _e, cb) => cb() }))
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ subject: verified.subject }))
    } catch (e) {
      sendError(req, res, e)
    }
  })
  const base = await listen(server)
  t.after(() => close(server))
  const body = Buffer.from(JSON.stringify({ amount: 10 }))
  const s = signed(base, { path: '/up', body })
  const chunked = headOfSigned(s, { drop: ['content-length'], add: [['Transfer-Encoding', 'chunked']] })
  let r = await rawExchange(base, [chunked, Buffer.from('zz\r\n{}\r\n')])
  assert.equal(r.status, 400, r.body)
  assert.equal(codeOf(r), 'ERR_BAD_FRAMING')
  assert.equal(r.headers.connection, 'close')
  assert.ok(r.closed)
  const s2 = signed(base, { path: '/up', body })
  r = await rawExchange(base, [headOfSigned(s2, { add: [['Content-Length', String(body.length)]] }), body.subarray(0, 3)], { end: 'half' })
  assert.equal(r.status, 400, r.body)
  assert.equal(codeOf(r), 'ERR_BAD_FRAMING')
  for (let i = 0; i < 100 && guard.inFlight !== 0; i++) await wait(20)
  assert.equal(guard.inFlight, 0)
  r = await send(base, signed(base, { path: '/up', body }))
  assert.equal(r.status, 201, r.body)
})

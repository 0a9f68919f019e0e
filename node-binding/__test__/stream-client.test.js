'use strict'

// Streaming uploads through the verifier, client helpers (http.request, fetch), reserve mode.

const test = require('node:test')
const assert = require('node:assert/strict')
const http = require('node:http')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { Writable } = require('node:stream')
const { acceptSignatureSuite, exposeReasonsSuite } = require('./suite.js')
const { verifyUpload, sendError, signRequest, HmacGuardError, Guard, ManualClock, Signer, newGuard, signer, listen, close, send, signed, SECRET } = require('./helpers.js')

test('verifyUpload pipes a verified upload into a file and enforces the cap mid-stream', async (t) => {
  const guard = newGuard({ policy: { bodyLimit: 256 * 1024 } })
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hmac-guard-'))
  let n = 0
  const server = http.createServer(async (req, res) => {
    const file = path.join(dir, `upload-${n++}`)
    const out = fs.createWriteStream(file)
    try {
      const v = await verifyUpload(guard, req, out)
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ keyId: v.keyId, size: fs.statSync(file).size }))
    } catch (e) {
      // The file stream opens on the libuv pool: a refusal can come before the file exists, so
      // remove it once the stream closed.
      out.destroy()
      if (!out.closed) await new Promise((resolve) => out.once('close', resolve))
      fs.rmSync(file, { force: true })
      sendError(req, res, e, guard)
    }
  })
  const base = await listen(server)
  t.after(async () => {
    await close(server)
    fs.rmSync(dir, { recursive: true, force: true })
  })

  const body = Buffer.alloc(200 * 1024)
  for (let i = 0; i < body.length; i++) body[i] = (i * 7919) & 0xff
  let r = await send(base, signed(base, { path: '/upload', body, headers: { 'content-type': 'application/octet-stream' } }))
  assert.equal(r.status, 200, r.body)
  assert.deepEqual(r.json, { keyId: 'k1', size: body.length })

  const big = Buffer.alloc(1024 * 1024, 1)
  const s = signed(base, { path: '/upload', body: big, headers: { 'content-type': 'application/octet-stream' } })
  delete s.headers['content-length']
  r = await send(base, { ...s, chunks: Array.from({ length: 16 }, (_, i) => big.subarray(i * 65536, (i + 1) * 65536)), body: undefined })
  // The client writes everything at once; the server answers 413 and closes without reading the rest.
  assert.ok(!r.error, `connection failed: ${r.error}`)
  assert.equal(r.status, 413, r.body)
  assert.equal(r.json.error.code, 'ERR_BODY_TOO_LARGE')
  r = await send(base, signed(base, { path: '/upload', body: { x: 1 } }))
  assert.equal(r.status, 200, r.body)

  const tampered = signed(base, { path: '/upload', body: Buffer.from('abc'), headers: { 'content-type': 'text/plain' } })
  tampered.body = Buffer.from('abd')
  r = await send(base, tampered)
  assert.equal(r.status, 401)
  assert.equal(r.json.error.code, 'ERR_DIGEST_MISMATCH')
  assert.equal(fs.readdirSync(dir).length, 2, 'failed uploads were removed')
})

// A plain node:http server: verifyUpload, and sendError(req, res, err, guard) for its refusals.
function makeUploadServer(guard) {
  const server = http.createServer(async (req, res) => {
    try {
      const v = await verifyUpload(guard, req, new Writable({ write: (_c, _e, cb) => cb() }))
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ keyId: v.keyId }))
    } catch (e) {
      sendError(req, res, e, guard)
    }
  })
  return { server, echo: '/upload', echoAlt: '/upload-alt', health: '/health', readEcho: (j) => j }
}

test('sendError: Accept-Signature on refusals', (t) => acceptSignatureSuite(t, makeUploadServer))

test('sendError: exposeReasons', (t) => exposeReasonsSuite(t, makeUploadServer))

test('sendError without the guard adds no Accept-Signature', async (t) => {
  const server = http.createServer((req, res) => sendError(req, res, new HmacGuardError('ERR_SIGNATURE_MISMATCH')))
  const base = await listen(server)
  t.after(() => close(server))
  const r = await send(base, { path: '/' })
  assert.equal(r.status, 401)
  assert.equal(r.headers['accept-signature'], undefined)
})

test('signRequest output works with http.request and fetch; simple scheme too', async (t) => {
  const rfc = newGuard()
  const simple = newGuard({ scheme: 'simple' })
  const server = http.createServer((req, res) => {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      const g = req.headers['x-hmac-signature'] ? simple : rfc
      try {
        const v = g.verify({ method: req.method, url: req.url, headers: req.rawHeaders, body: Buffer.concat(chunks) })
        res.end(JSON.stringify({ ok: true, scheme: v.scheme, keyId: v.keyId }))
      } catch (e) {
        sendError(req, res, e, g)
      }
    })
  })
  const base = await listen(server)
  t.after(() => close(server))

  const init = signRequest(signer, `${base}/a?b=c`, { method: 'put', headers: { 'Content-Type': 'application/json' }, body: '{"x":1}' })
  const viaHttp = await new Promise((resolve, reject) => {
    const req = http.request(`${base}/a?b=c`, { method: init.method, headers: init.headers, agent: false }, (res) => {
      let text = ''
      res.on('data', (c) => (text += c))
      res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(text) }))
    })
    req.on('error', reject)
    req.end(init.body)
  })
  assert.deepEqual(viaHttp, { status: 200, json: { ok: true, scheme: 'rfc9421', keyId: 'k1' } })

  const simpleSigner = new Signer({ id: 'k1', secret: SECRET, scheme: 'simple' })
  const sInit = signRequest(simpleSigner, `${base}/s?q=1`, { method: 'POST', body: Buffer.from([0xff, 0x00, 0xfe]) })
  const res = await fetch(`${base}/s?q=1`, sInit)
  assert.deepEqual(await res.json(), { ok: true, scheme: 'simple', keyId: 'k1' })

  const get = signRequest(signer, `${base}/g`)
  const res2 = await fetch(`${base}/g`, get)
  assert.equal(res2.status, 200)
})

test('reserve mode: a released delivery can be retried, a committed one cannot', () => {
  const now = 1_700_000_000
  const g = new Guard({ keys: [{ id: 'k1', secret: SECRET }], policy: { replay: 'reserve', reserveHoldSecs: 30 }, clock: new ManualClock(now) })
  const b = Buffer.from('{}')
  const headers = { host: 'h', 'content-type': 'application/json' }
  const req = { method: 'POST', url: '/hook', headers: { ...headers, ...signer.sign({ method: 'POST', url: '/hook', headers, body: b }, { created: now }) }, body: b }
  const first = g.verify(req)
  assert.ok(first.replayTicket)
  assert.throws(() => g.verify(req), (e) => e.code === 'ERR_REPLAY', 'a concurrent duplicate is rejected')
  first.replayTicket.release()
  const second = g.verify(req)
  second.replayTicket.commit()
  assert.throws(() => g.verify(req), (e) => e.code === 'ERR_REPLAY')
})

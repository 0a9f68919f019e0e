'use strict'

// expressWebhook against real Express servers on 127.0.0.1, for every preset: a valid delivery, a
// rotated secret, a duplicate after commit (answered 200, the handler not run), a duplicate in
// flight (409 + Retry-After), a failed handler (500, thrown) whose retry is accepted, a client gone
// before the answer, oversize bodies (413 before the body is sent; chunked over the cap: 413 and
// close), a non-UTF-8 body, malformed headers (400, never 500), a missing signature (401).

const test = require('node:test')
const assert = require('node:assert/strict')
const http = require('node:http')
const express = require('express')
const { expressWebhook, Guard } = require('..')
const { listen, close, send, until } = require('./helpers.js')
const { rawExchange, flood, chunk } = require('./raw.js')
const { PRESETS, SECRETS, TYPES, delivery, signatureHeader, post, rawDelivery, Plan, gate } = require('./webhook-support.js')

const LIMIT = 4096

/** An Express app with one receiver for `preset` on /hooks, the handler following `plan`. */
async function server(preset, plan, options = {}) {
  const app = express()
  const receiver = expressWebhook(preset, { secrets: SECRETS[preset], policy: { bodyLimit: LIMIT }, logger: false, ...options })
  app.post('/hooks', receiver, async (req, res) => {
    const { status, json } = await plan.run(req.webhook)
    res.status(status).json(json)
  })
  // express.json() ran first: the receiver cannot verify a consumed body and says so.
  app.post('/parsed', express.json(), expressWebhook(preset, { secrets: SECRETS[preset], logger: false }), (req, res) => res.json({}))
  const srv = http.createServer(app)
  const base = await listen(srv)
  return { base, srv, guard: receiver.guard }
}

for (const preset of PRESETS) {
  test(`expressWebhook ${preset}`, async (t) => {
    const plan = new Plan()
    const { base, srv, guard } = await server(preset, plan)
    t.after(() => close(srv))

    await t.test('a valid delivery reaches the handler with the verified event', async () => {
      const d = delivery(preset)
      const r = await send(base, post(d))
      assert.equal(r.status, 200, r.body)
      assert.deepEqual(r.json, { received: d.id, type: TYPES[preset], secretId: 'secret-0' })
      const w = plan.seen.get(d.id)
      assert.equal(w.provider, preset)
      assert.equal(w.type, TYPES[preset])
      assert.deepEqual(w.payload, JSON.parse(d.body.toString()))
      assert.ok(Buffer.isBuffer(w.rawBody) && w.rawBody.equals(d.body), 'rawBody: the exact bytes')
      assert.equal(w.secretId, 'secret-0')
      const dedupe = { 'standard-webhooks': 'signed-id', svix: 'signed-id', stripe: 'body-id', slack: 'body-id' }[preset] || 'signature'
      assert.equal(w.dedupe, dedupe)
    })

    await t.test('a delivery signed with the second secret (rotation) names secret-1', async () => {
      const d = delivery(preset, { secretIndex: 1 })
      const r = await send(base, post(d))
      assert.equal(r.status, 200, r.body)
      assert.equal(r.json.secretId, 'secret-1')
    })

    await t.test('a duplicate after commit is answered 200 without running the handler', async () => {
      const d = delivery(preset)
      assert.equal((await send(base, post(d))).status, 200)
      const again = await send(base, post(d))
      assert.equal(again.status, 200, again.body)
      assert.equal(again.json.error.code, 'ERR_DUPLICATE_DELIVERY')
      assert.equal(plan.count(d.id), 1, 'the handler ran once')
    })

    await t.test('a duplicate while the first is in flight is answered 409 with Retry-After', async () => {
      const d = delivery(preset)
      const g = gate()
      plan.set(d.id, () => g.wait())
      const first = send(base, post(d))
      await until(() => plan.count(d.id) === 1, 'the first delivery in the handler')
      const second = await send(base, post(d))
      assert.equal(second.status, 409, second.body)
      assert.equal(second.json.error.code, 'ERR_DELIVERY_IN_PROGRESS')
      assert.match(second.headers['retry-after'], /^\d+$/)
      g.open()
      assert.equal((await first).status, 200)
      assert.equal(plan.count(d.id), 1)
    })

    await t.test('a failed handler (500) releases the delivery: the retry runs', async () => {
      const d = delivery(preset)
      plan.set(d.id, 'fail')
      assert.equal((await send(base, post(d))).status, 500)
      plan.set(d.id, 'ok')
      const retry = await send(base, post(d))
      assert.equal(retry.status, 200, retry.body)
      assert.equal(plan.count(d.id), 2)
    })

    await t.test('a throwing handler releases the delivery: the retry runs', async () => {
      const d = delivery(preset)
      plan.set(d.id, 'throw')
      assert.equal((await send(base, post(d))).status, 500)
      plan.set(d.id, 'ok')
      assert.equal((await send(base, post(d))).status, 200)
      assert.equal(plan.count(d.id), 2)
    })

    await t.test('a body over the limit: 413 from its Content-Length, before any body byte', async () => {
      const d = delivery(preset)
      const r = await rawExchange(base, [rawDelivery(d, { length: LIMIT + 1 })])
      assert.equal(r.status, 413)
      assert.equal(r.json.error.code, 'ERR_BODY_TOO_LARGE')
      assert.equal(r.headers.connection, 'close')
    })

    await t.test('a chunked body over the limit: 413 mid-stream and the connection closed', async () => {
      const d = delivery(preset)
      const r = await flood(base, rawDelivery(d, { length: null, add: [['transfer-encoding', 'chunked']] }), { total: 32 * 1024 * 1024, piece: 64 * 1024, chunked: true })
      assert.equal(r.status, 413)
      assert.equal(r.json.error.code, 'ERR_BODY_TOO_LARGE')
      assert.equal(r.headers.connection, 'close')
      assert.ok(r.closed, 'the server closed the connection')
      assert.ok(r.written < 8 * 1024 * 1024, `the server stopped reading (${r.written} of 32 MiB taken)`)
    })

    await t.test('a chunked delivery within the limit is verified', async () => {
      const d = delivery(preset)
      const half = d.body.length >> 1
      const r = await rawExchange(base, [rawDelivery(d, { length: null, add: [['transfer-encoding', 'chunked']] }), chunk(d.body.subarray(0, half)), chunk(d.body.subarray(half)), Buffer.from('0\r\n\r\n')])
      assert.equal(r.status, 200, r.body)
    })

    await t.test('a non-UTF-8 body signed correctly is valid (payload null, raw bytes kept)', async () => {
      const body = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0xc3, 0x28, 0x7b, 0x22])
      const d = delivery(preset, { body })
      const r = await send(base, post(d))
      assert.equal(r.status, 200, r.body)
      const w = [...plan.seen.values()].find((x) => x.rawBody.equals(body))
      assert.ok(w, 'the handler saw the bytes')
      assert.equal(w.payload, null)
    })

    await t.test('malformed headers are 400, never 500', async () => {
      const d = delivery(preset)
      const name = signatureHeader(preset)
      // The signature header twice.
      const twice = await rawExchange(base, [rawDelivery(d, { add: [[name, d.headers[name]]] }), d.body])
      assert.equal(twice.status, 400, twice.body)
      assert.match(twice.json.error.code, /^ERR_MALFORMED_/)
      // Bytes no client library would send in the signature and timestamp headers.
      const garbage = Buffer.concat([
        Buffer.from(`POST /hooks HTTP/1.1\r\nhost: x\r\ncontent-length: ${d.body.length}\r\n`),
        Buffer.from(`${name}: v1,\xff\xfe=,t=\x80\x81,sha256=zz\r\n`, 'latin1'),
        Buffer.from('webhook-timestamp: 1e999\r\nx-slack-request-timestamp: -1\r\nwebhook-id: \xff\r\n\r\n', 'latin1'),
        d.body,
      ])
      const g = await rawExchange(base, [garbage])
      assert.ok(g.status === 400 || g.status === 401, `status ${g.status}: ${g.body}`)
      assert.match(g.json.error.code, /^ERR_/)
    })

    await t.test('a missing signature is 401', async () => {
      const d = delivery(preset)
      const r = await rawExchange(base, [rawDelivery(d, { drop: [signatureHeader(preset)] }), d.body])
      assert.equal(r.status, 401, r.body)
      assert.equal(r.json.error.code, 'ERR_MISSING_SIGNATURE')
    })

    await t.test('a wrong signature is 401, the handler not run', async () => {
      const d = delivery(preset)
      const tampered = Buffer.from(d.body)
      tampered[tampered.length - 2] ^= 1
      const r = await send(base, post({ ...d, body: tampered }))
      assert.equal(r.status, 401, r.body)
      assert.equal(plan.count(d.id), 0)
    })

    await t.test('a body consumed by express.json() first is refused, naming the fix', async () => {
      const d = delivery(preset)
      const r = await send(base, post(d, '/parsed'))
      assert.equal(r.status, 500)
      assert.equal(r.json.error.code, 'ERR_INVALID_STATE')
      assert.equal(guard.store, 'memory')
    })
  })
}

test('expressWebhook: a client gone before the answer releases the delivery', async (t) => {
  const plan = new Plan()
  const { base, srv } = await server('stripe', plan)
  t.after(() => close(srv))
  const d = delivery('stripe')
  const g = gate()
  plan.set(d.id, () => g.wait())
  const u = new URL(base)
  const req = http.request({ host: u.hostname, port: u.port, path: '/hooks', method: 'POST', headers: post(d).headers, agent: false })
  req.on('error', () => {})
  req.end(d.body)
  await until(() => plan.count(d.id) === 1, 'the delivery in the handler')
  req.destroy()
  // The handler is still blocked; once the server saw the connection close, the retry runs.
  plan.set(d.id, 'ok')
  let retry
  for (let i = 0; i < 100; i++) {
    retry = await send(base, post(d))
    if (retry.status !== 409) break
    await new Promise((r) => setTimeout(r, 20))
  }
  assert.equal(retry.status, 200, retry.body)
  assert.equal(plan.count(d.id), 2, 'the retry ran the handler')
  // The first handler answering late commits nothing more: a copy is a duplicate of the retry.
  g.open()
  await new Promise((r) => setTimeout(r, 50))
  const again = await send(base, post(d))
  assert.equal(again.json.error.code, 'ERR_DUPLICATE_DELIVERY')
  assert.equal(plan.count(d.id), 2)
})

test('expressWebhook: rotateSecrets swaps the secrets at runtime', async (t) => {
  const plan = new Plan()
  const { base, srv, guard } = await server('github', plan)
  t.after(() => close(srv))
  const oldSecret = SECRETS.github[0]
  const newSecret = 'github-secret-rotated-2'
  guard.rotateSecrets([newSecret])
  const byOld = delivery('github')
  assert.equal((await send(base, post(byOld))).status, 401, 'the old secret is refused')
  const { signWebhook } = require('..')
  const body = Buffer.from('{"rotated":true}')
  const s = signWebhook('github', { secret: newSecret, body })
  const r = await send(base, { method: 'POST', path: '/hooks', headers: { ...s.headers, 'x-github-delivery': 'rotated-1', 'content-type': 'application/json' }, body })
  assert.equal(r.status, 200, r.body)
  assert.equal(r.json.secretId, 'secret-0')
  assert.throws(() => guard.rotateSecrets(['short']), (e) => e.code === 'ERR_INVALID_CONFIG' && !String(e.reason).includes('short'))
  assert.notEqual(oldSecret, newSecret)
})

test('expressWebhook: options are the core\'s (a wrong one is ERR_INVALID_CONFIG naming it)', () => {
  assert.throws(() => expressWebhook('stripe', { secrets: SECRETS.stripe, keys: [] }), (e) => e.code === 'ERR_INVALID_CONFIG' && /keys/.test(e.reason))
  assert.throws(() => expressWebhook('nope', { secrets: ['x'] }), (e) => e.code === 'ERR_INVALID_CONFIG')
  assert.throws(() => expressWebhook('github', {}), (e) => e.code === 'ERR_INVALID_CONFIG' && /secrets/.test(e.reason))
  const guard = new Guard({ scheme: 'github', secrets: SECRETS.github })
  assert.equal(expressWebhook(guard).guard, guard)
})

test('expressWebhook: a body the server cannot read is 400 ERR_BAD_FRAMING, and nothing is claimed', async (t) => {
  const plan = new Plan()
  const { base, srv } = await server('standard-webhooks', plan)
  t.after(() => close(srv))
  const d = delivery('standard-webhooks')
  // A chunk size that is not hex.
  const bad = await rawExchange(base, [rawDelivery(d, { length: null, add: [['transfer-encoding', 'chunked']] }), Buffer.from('zz\r\nabc\r\n')])
  assert.equal(bad.status, 400, bad.body)
  assert.equal(bad.json.error.code, 'ERR_BAD_FRAMING')
  assert.equal(bad.headers.connection, 'close')
  // The connection ends before Content-Length bytes arrived.
  const short = await rawExchange(base, [rawDelivery(d), d.body.subarray(0, 5)], { end: 'half' })
  assert.ok(short.status === 400 || short.status === 0, `status ${short.status}`)
  if (short.status === 400) assert.equal(short.json.error.code, 'ERR_BAD_FRAMING')
  // Transfer-Encoding with Content-Length: refused by Node's parser or the adapter, never run.
  const both = await rawExchange(base, [rawDelivery(d, { add: [['transfer-encoding', 'chunked']] }), chunk(d.body), Buffer.from('0\r\n\r\n')])
  assert.equal(both.status, 400, both.body)
  assert.equal(plan.count(d.id), 0, 'the handler never ran')
  // The delivery itself, sent properly afterwards, is new: nothing was claimed.
  const r = await send(base, post(d))
  assert.equal(r.status, 200, r.body)
  assert.equal(plan.count(d.id), 1)
})

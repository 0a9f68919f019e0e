'use strict'

// A Redis outage as an operator sees it, against a real redis-server on 127.0.0.1 and a real
// Express server: stopped -> 503s, exactly one warn line "is failing" and stats().replayStore
// failing; started again -> exactly one warn line "answers again" and the store ok.

const test = require('node:test')
const assert = require('node:assert/strict')
const http = require('node:http')
const express = require('express')
const { RedisServer } = require('./redis-server.js')
const { Guard, expressMiddleware, SECRET, listen, close, send, signed, until } = require('./helpers.js')

test('Redis stops and comes back: one warn line each way, stats follow the store', { timeout: 90000 }, async (t) => {
  const redis = new RedisServer()
  await redis.start()
  t.after(() => redis.dispose())
  const lines = []
  const events = []
  const logger = { debug() {}, info() {}, warn: (message, fields) => lines.push({ message, fields }) }
  const guard = new Guard({
    keys: [{ id: 'k1', secret: SECRET }],
    redisUrl: redis.url,
    redisPrefix: `hg-observe-${process.pid}`,
    redisTimeoutMs: 250,
    logger,
    onEvent: (e) => events.push(e),
  })
  const app = express()
  app.post('/echo', expressMiddleware(guard), (_req, res) => res.json({}))
  const server = http.createServer(app)
  const base = await listen(server)
  t.after(() => close(server))
  const failing = () => lines.filter((l) => /^hmac-guard: replay store redis is failing/.test(l.message))
  const recovered = () => lines.filter((l) => /^hmac-guard: replay store redis answers again after [\d.]+ s$/.test(l.message))

  assert.equal((await send(base, signed(base, { body: { n: 0 } }))).status, 200)
  assert.equal(guard.stats().replayStore.state, 'ok')

  await redis.stop()
  for (let i = 1; i <= 3; i++) {
    const r = await send(base, signed(base, { body: { n: i } }))
    assert.equal(r.status, 503, r.body)
    assert.equal(r.json.error.code, 'ERR_REPLAY_STORE_UNAVAILABLE')
  }
  await until(() => failing().length > 0, 'the "is failing" line')
  const down = guard.stats().replayStore
  assert.equal(down.state, 'failing')
  assert.equal(typeof down.failingSinceMs, 'number')
  assert.ok(Math.abs(down.failingSinceMs - Date.now()) < 60000, 'failingSinceMs is wall time')
  assert.ok(down.failures >= 3, `failures: ${down.failures}`)
  assert.equal(down.stateChanges, 1)
  assert.equal(guard.stats().rejections.ERR_REPLAY_STORE_UNAVAILABLE, 3)

  await redis.start()
  // The client reconnects on the next request that needs the store.
  const deadline = Date.now() + 15000
  let n = 10
  for (;;) {
    const r = await send(base, signed(base, { body: { n: n++ } }))
    if (r.status === 200) break
    assert.ok(Date.now() < deadline, `Redis did not come back: ${r.status} ${r.body}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  await until(() => recovered().length > 0, 'the "answers again" line')
  const up = guard.stats().replayStore
  assert.equal(up.state, 'ok')
  assert.equal(up.failingSinceMs, null)
  assert.equal(up.stateChanges, 2)

  // Settle: nothing more is on its way.
  await new Promise((resolve) => setTimeout(resolve, 100))
  assert.equal(failing().length, 1, 'exactly one "is failing" line')
  assert.equal(recovered().length, 1, 'exactly one "answers again" line')
  assert.match(failing()[0].message, /signed requests are refused with 503 ERR_REPLAY_STORE_UNAVAILABLE until it answers/)
  assert.deepEqual(failing()[0].fields.type, 'store')
  const storeEvents = events.filter((e) => e.type === 'store')
  // The restarted redis-server is empty (no persistence): the claims made before are gone, and
  // the guard says so once (core/src/store/redis_loss.rs).
  assert.deepEqual(storeEvents.map((e) => e.outcome), ['failing', 'ok', 'lost'])
  assert.equal(lines.filter((l) => /^hmac-guard: replay store redis lost claims/.test(l.message)).length, 1)
  assert.equal(guard.stats().replayStore.dataLosses, 1)
  assert.ok(storeEvents.every((e) => e.level === 'warn' && e.log && e.store === 'redis'))
  assert.equal(typeof storeEvents[1].durationMs, 'number')
})

'use strict'

// The Redis replay store from Node (issue 5), against a real redis-server on 127.0.0.1 started
// and stopped here: a 4-worker cluster sharing one Redis, outage -> 503 and recovery without a
// restart, an event loop that stays responsive while Redis hangs, two-phase delivery, and one
// round trip per verification. A missing redis-server is a failure, not a skip.

const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const http = require('node:http')
const net = require('node:net')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { performance } = require('node:perf_hooks')
const express = require('express')
const Koa = require('koa')
const { Writable } = require('node:stream')
const h = require('./helpers.js')
const { RedisServer, sleep } = require('./redis-server.js')
const { Guard, HmacGuardError, expressMiddleware, koaMiddleware, verifyUpload, signer, SECRET, listen, close, send, signed } = h

const KEYS = [{ id: 'k1', secret: SECRET, subject: 'user:1' }]
let redis

before(async () => {
  redis = new RedisServer()
  await redis.start()
})

after(async () => {
  if (redis) await redis.dispose()
})

let prefixes = 0
const prefix = () => `hg-node-${process.pid}-${++prefixes}`

/** A signed in-memory request for the API calls. */
function apiRequest(body = '{"a":1}', sign = {}) {
  const b = Buffer.from(body)
  const headers = { host: 'api.example.com', 'content-type': 'application/json', 'content-length': String(b.length) }
  const added = signer.sign({ method: 'POST', url: '/orders?id=7', headers, body: b }, sign)
  return { method: 'POST', url: '/orders?id=7', headers: { ...headers, ...added }, body: b }
}

const isCode = (code, status) => (e) => e instanceof HmacGuardError && e.code === code && (status === undefined || e.status === status)

/** Starts the cluster fixture; resolves {base, pids, stop(), stderr()} once every worker listens. */
async function startCluster({ workers = 4, timeoutMs = 250 } = {}) {
  const { freePort } = require('./redis-server.js')
  const port = await freePort()
  const proc = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'redis-cluster.js')], {
    env: { ...process.env, HMAC_GUARD_REDIS_URL: redis.url, HG_PORT: String(port), HG_WORKERS: String(workers), HG_REDIS_TIMEOUT_MS: String(timeoutMs) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const killOnExit = () => proc.kill('SIGKILL')
  process.once('exit', killOnExit)
  let stderr = ''
  proc.stderr.on('data', (d) => (stderr += d))
  const ready = await new Promise((resolve, reject) => {
    let out = ''
    const t = setTimeout(() => reject(new Error(`cluster did not start:\n${stderr}`)), 30000)
    proc.stdout.on('data', (d) => {
      out += d
      const line = out.split('\n').find((l) => l.startsWith('{'))
      if (line) {
        clearTimeout(t)
        resolve(JSON.parse(line))
      }
    })
    proc.once('exit', (code) => {
      clearTimeout(t)
      reject(new Error(`cluster exited (${code}):\n${stderr}`))
    })
  })
  return {
    base: `http://127.0.0.1:${port}`,
    pids: ready.pids.map(String).sort(),
    stderr: () => stderr,
    alive: () => proc.exitCode === null && proc.signalCode === null,
    async stop() {
      process.removeListener('exit', killOnExit)
      if (proc.exitCode !== null || proc.signalCode !== null) return
      const exited = new Promise((r) => proc.once('exit', r))
      proc.kill('SIGTERM')
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(t)
    },
  }
}

test('configuration: redisUrl, HMAC_GUARD_REDIS_URL, the in-memory default, bad options', { timeout: 60000 }, () => {
  assert.equal(new Guard({ keys: KEYS }).store, 'memory')
  const g = new Guard({ keys: KEYS, redisUrl: redis.url, redisPrefix: prefix(), redisTimeoutMs: 500 })
  assert.equal(g.store, 'redis')
  assert.equal(g.failOpenUses, 0)
  const saved = process.env.HMAC_GUARD_REDIS_URL
  try {
    process.env.HMAC_GUARD_REDIS_URL = redis.url
    assert.equal(new Guard({ keys: KEYS }).store, 'redis', 'the environment variable is the default')
    assert.equal(new Guard({ keys: KEYS, redisUrl: '' }).store, 'memory', "'' selects the in-memory store")
    assert.equal(new Guard({ keys: KEYS, redisUrl: null }).store, 'redis', 'null is the same as leaving it out')
    process.env.HMAC_GUARD_REDIS_URL = ''
    assert.equal(new Guard({ keys: KEYS }).store, 'memory')
  } finally {
    if (saved === undefined) delete process.env.HMAC_GUARD_REDIS_URL
    else process.env.HMAC_GUARD_REDIS_URL = saved
  }
  assert.throws(() => new Guard({ keys: KEYS, redisUrl: 'not a url' }), isCode('ERR_INVALID_CONFIG', 500))
  assert.throws(() => new Guard({ keys: KEYS, redisUrl: redis.url, redisTimeoutMs: 0 }), isCode('ERR_INVALID_CONFIG'))
  assert.throws(() => new Guard({ keys: KEYS, redisPrefix: 'x' }), isCode('ERR_INVALID_CONFIG'), 'redis options need a URL')
  assert.throws(() => new Guard({ keys: KEYS, redisUrl: redis.url, replayStore: { capacity: 10 } }), isCode('ERR_INVALID_CONFIG'))
  // The password never shows in errors or inspection.
  const secretUrl = `redis://user:hunter2-password@127.0.0.1:${redis.port}/0`
  const sg = new Guard({ keys: KEYS, redisUrl: secretUrl })
  assert.ok(!require('node:util').inspect(sg).includes('hunter2'))
})

test('the API: verifyAsync and finishAsync claim once; the blocking calls refuse to run', { timeout: 60000 }, async () => {
  const g = new Guard({ keys: KEYS, redisUrl: redis.url, redisPrefix: prefix() })
  const r = apiRequest()
  const v = await g.verifyAsync(r)
  assert.equal(v.keyId, 'k1')
  assert.equal(v.subject, 'user:1')
  await assert.rejects(g.verifyAsync(r), isCode('ERR_REPLAY', 401))
  // Streaming: body checks on the JS thread, the claim awaited off it (the core's async claim).
  const r2 = apiRequest('{"b":2}')
  const ver = g.begin(r2)
  ver.update(r2.body.subarray(0, 3)).update(r2.body.subarray(3))
  const v2 = await ver.finishAsync()
  assert.equal(v2.bodyLength, r2.body.length)
  await assert.rejects(ver.finishAsync(), isCode('ERR_INVALID_STATE'), 'finish twice')
  const again = g.begin(r2)
  again.update(r2.body)
  await assert.rejects(again.finishAsync(), isCode('ERR_REPLAY', 401))
  // A body check that fails rejects before any store step.
  const r3 = apiRequest('{"c":3}')
  const bad = g.begin(r3)
  bad.update(Buffer.from('{"c":4}'))
  await assert.rejects(bad.finishAsync(), isCode('ERR_DIGEST_MISMATCH'))
  // A valid request that failed a body check is not burned: it still verifies once.
  await g.verifyAsync(r3)
  // verifyAsync runs every check before the claim too: a tampered body or an unknown key
  // rejects without a store step, and the genuine request still verifies once afterwards.
  const r6 = apiRequest('{"d":6}')
  await assert.rejects(g.verifyAsync({ ...r6, body: Buffer.from('{"d":7}') }), isCode('ERR_DIGEST_MISMATCH', 401))
  await assert.rejects(g.verifyAsync({ ...r6, headers: { ...r6.headers, 'content-length': '9' } }), isCode('ERR_BODY_LENGTH_MISMATCH'))
  assert.equal((await g.verifyAsync(r6)).bodyLength, r6.body.length)
  await assert.rejects(g.verifyAsync(r6), isCode('ERR_REPLAY', 401))
  // The sync calls would block the event loop on a round trip: they throw instead.
  assert.throws(() => g.verify(apiRequest()), isCode('ERR_INVALID_STATE', 500))
  const r4 = apiRequest()
  const s = g.begin(r4)
  s.update(r4.body)
  assert.throws(() => s.finish(), isCode('ERR_INVALID_STATE'))
  // The refusal spends nothing: the same verification still finishes asynchronously.
  assert.equal(g.inFlight, 1)
  assert.equal((await s.finishAsync()).bodyLength, r4.body.length)
  assert.equal(g.inFlight, 0)
  // The in-memory store keeps the sync path; finishAsync works there too.
  const m = new Guard({ keys: KEYS })
  const r5 = apiRequest()
  const mv = m.begin(r5)
  mv.update(r5.body)
  assert.equal((await mv.finishAsync()).keyId, 'k1')
  assert.throws(() => m.verify(r5), isCode('ERR_REPLAY'))
})

test('(e) one round trip per verification: INFO commandstats counts one SET (with the holder\'s GET and the data-loss watch\'s INCR and GET pipelined) each, nothing else', { timeout: 60000 }, async () => {
  const g = new Guard({ keys: KEYS, redisUrl: redis.url, redisPrefix: prefix() })
  await g.verifyAsync(apiRequest()) // warm the connection pool (connection setup is not per request)
  await redis.command('CONFIG', 'RESETSTAT')
  const reqs = Array.from({ length: 60 }, (_, i) => apiRequest(`{"i":${i}}`))
  for (const r of reqs) await g.verifyAsync(r)
  for (const r of reqs.slice(0, 20)) await assert.rejects(g.verifyAsync(r), isCode('ERR_REPLAY'))
  for (const r of reqs.slice(20, 40)) {
    const v = g.begin(r)
    v.update(r.body)
    await assert.rejects(v.finishAsync(), isCode('ERR_REPLAY'))
  }
  const calls = await redis.commandCalls()
  assert.equal(calls.set, 100, `one SET per verification: ${JSON.stringify(calls)}`)
  // The data-loss watch (core/src/store/redis_loss.rs) rides in the same round trip.
  assert.equal(calls.incr, 100, `one INCR per verification: ${JSON.stringify(calls)}`)
  // The core reads the key's holder in the same pipeline (a held reservation vs. a used nonce).
  assert.equal(calls.get, 200, `two GETs per verification (the holder, the watch's marker): ${JSON.stringify(calls)}`)
  const others = Object.keys(calls).filter((c) => !['set', 'incr', 'get', 'config|resetstat', 'info'].includes(c))
  assert.deepEqual(others, [], `no other command reached Redis: ${JSON.stringify(calls)}`)
})

test('Node cluster (4 workers) with the Express middleware sharing one Redis', { timeout: 150000 }, async (t) => {
  const app = await startCluster({ workers: 4, timeoutMs: 250 })
  t.after(() => app.stop())
  const { base } = app

  await t.test('(a) 200 concurrent copies of one signed request: exactly one 2xx, the rest 401 ERR_REPLAY', async () => {
    await redis.command('CONFIG', 'RESETSTAT')
    const req = signed(base, { path: '/orders', body: { order: 42 } })
    const results = await Promise.all(Array.from({ length: 200 }, () => send(base, req)))
    const errors = results.filter((r) => r.error)
    assert.deepEqual(errors.map((r) => String(r.error)), [])
    const ok = results.filter((r) => r.status >= 200 && r.status < 300)
    assert.equal(ok.length, 1, `statuses: ${JSON.stringify(results.map((r) => r.status))}`)
    assert.deepEqual(ok[0].json.body, { order: 42 })
    const rest = results.filter((r) => r.status < 200 || r.status >= 300)
    assert.equal(rest.length, 199)
    for (const r of rest) {
      assert.equal(r.status, 401)
      assert.equal(r.json.error.code, 'ERR_REPLAY')
    }
    const workers = new Set(results.map((r) => r.headers['x-worker']))
    assert.equal(workers.size, 4, `requests reached every worker: ${[...workers]}`)
    // (e) across the cluster too: 200 verifications, 200 SETs and 200 INCRs; and the data-loss
    // watch's marker on this fresh Redis: a `SET NX` by each worker that found none (1 to 4).
    const calls = await redis.commandCalls()
    assert.equal(calls.incr, 200, JSON.stringify(calls))
    assert.ok(calls.set >= 201 && calls.set <= 204, JSON.stringify(calls))
    // The key expires with the timestamp window (300 s + 30 s skew + 1 s); the watch's two keys
    // (`:epoch`, `:seq`) are not nonces.
    const keys = (await redis.command('KEYS', 'hmac-guard:*')).filter((k) => !/:(epoch|seq)$/.test(k))
    assert.equal(keys.length, 1)
    const pttl = await redis.command('PTTL', keys[0])
    assert.ok(pttl > 300_000 && pttl <= 331_000, `PTTL ${pttl}`)
  })

  await t.test('(d) two-phase delivery: a failed handler releases, the retry passes; a concurrent duplicate is rejected', async () => {
    // The handler fails on this delivery: each retry (the same signed request, on any worker)
    // reaches the handler again instead of being refused as a replay.
    const failing = signed(base, { path: '/webhook', body: { fail: true } })
    for (let attempt = 0; attempt < 3; attempt++) {
      const r = await send(base, failing)
      assert.equal(r.status, 500, `attempt ${attempt}: released, so the retry reached the handler: ${r.body}`)
      assert.equal(r.json.error.code, 'HANDLER_FAILED')
    }
    // A slow delivery that succeeds: a duplicate while it is reserved is rejected; once committed,
    // every later copy is a replay.
    const slow = signed(base, { path: '/webhook', body: { delayMs: 400 } })
    const [a, b] = await Promise.all([send(base, slow), sleep(100).then(() => send(base, slow))])
    assert.equal(a.status, 200, a.body)
    assert.equal(b.status, 401, 'a duplicate during the reservation is rejected')
    assert.equal(b.json.error.code, 'ERR_REPLAY')
    const r = await send(base, slow)
    assert.equal(r.status, 401, 'committed: later copies are replays')
    assert.equal(r.json.error.code, 'ERR_REPLAY')
  })

  await t.test('(b) Redis stops during a load run: 503 ERR_REPLAY_STORE_UNAVAILABLE, no crash, no hang; it comes back without a restart', async () => {
    const results = []
    const marks = {}
    let stopLoad = false
    const loadOne = async () => {
      while (!stopLoad) {
        const req = signed(base, { path: '/orders', body: { n: results.length } })
        const start = performance.now()
        const r = await send(base, req)
        results.push({ start, end: performance.now(), status: r.status, code: r.json && r.json.error && r.json.error.code, error: r.error, worker: r.headers && r.headers['x-worker'] })
      }
    }
    const load = Promise.all(Array.from({ length: 12 }, loadOne))
    await sleep(1000)
    marks.stopping = performance.now()
    await redis.stop()
    marks.stopped = performance.now()
    await sleep(1500)
    marks.restarting = performance.now()
    await redis.start()
    marks.restarted = performance.now()
    await sleep(3000)
    stopLoad = true
    await load

    assert.deepEqual(results.filter((r) => r.error).map((r) => String(r.error)), [], 'every request was answered')
    const latencies = results.map((r) => r.end - r.start)
    const worst = Math.max(...latencies)
    assert.ok(worst < 2000, `slowest request ${worst.toFixed(0)} ms (store timeout 250 ms)`)
    for (const r of results) {
      assert.ok(r.status === 200 || (r.status === 503 && r.code === 'ERR_REPLAY_STORE_UNAVAILABLE'), `unexpected ${r.status} ${r.code}`)
    }
    const before = results.filter((r) => r.end < marks.stopping)
    const during = results.filter((r) => r.start > marks.stopped && r.end < marks.restarting)
    // The restarted Redis is empty: requests signed in the second its data loss is noticed are
    // refused too (503, core/src/store/redis_loss.rs); from the next second on, all pass.
    const afterUp = results.filter((r) => r.start > marks.restarted + 1500)
    t.diagnostic(`requests: ${results.length}; before ${before.length}, during the outage ${during.length}, after recovery ${afterUp.length}; slowest ${worst.toFixed(0)} ms`)
    assert.ok(before.length > 20 && before.every((r) => r.status === 200), 'all 200 before the outage')
    assert.ok(during.length > 20, 'requests ran during the outage')
    assert.ok(during.every((r) => r.status === 503), `all 503 during the outage: ${JSON.stringify(during.filter((r) => r.status !== 503).slice(0, 3))}`)
    assert.ok(afterUp.length > 20, 'requests ran after the restart')
    assert.ok(afterUp.every((r) => r.status === 200), 'all 200 once Redis is back, without restarting the app')
    // No worker crashed: the same processes answered before and after, and none exited.
    assert.ok(app.alive(), 'the cluster primary is alive')
    // stderr also carries the guards' own warn lines (the outage, the recovery).
    assert.doesNotMatch(app.stderr(), /exited/, 'no worker exited')
    assert.match(app.stderr(), /replay store redis answers again/)
    const workersAfter = [...new Set(afterUp.map((r) => r.worker))].sort()
    assert.deepEqual(workersAfter, app.pids)
  })
})

test('(c) the event loop stays responsive while Redis hangs; the verification fails with 503 after the timeout', { timeout: 60000 }, async (t) => {
  // A listener that accepts connections and never answers.
  const sockets = new Set()
  const black = net.createServer((s) => {
    sockets.add(s)
    s.on('error', () => {})
    s.on('close', () => sockets.delete(s))
  })
  await new Promise((r) => black.listen(0, '127.0.0.1', r))
  t.after(() => {
    for (const s of sockets) s.destroy()
    black.close()
  })
  const timeoutMs = 400
  const g = new Guard({ keys: KEYS, redisUrl: `redis://127.0.0.1:${black.address().port}/0`, redisTimeoutMs: timeoutMs })

  // Measures the event loop while `work` is pending: setImmediate turns and the longest gap
  // between 5 ms timer ticks.
  async function whilePending(work) {
    let immediates = 0
    let running = true
    const spin = () => {
      immediates++
      if (running) setImmediate(spin)
    }
    setImmediate(spin)
    let last = performance.now()
    let maxGap = 0
    let ticks = 0
    const timer = setInterval(() => {
      const now = performance.now()
      maxGap = Math.max(maxGap, now - last)
      last = now
      ticks++
    }, 5)
    const start = performance.now()
    let outcome
    try {
      outcome = { value: await work() }
    } catch (e) {
      outcome = { error: e }
    }
    const elapsed = performance.now() - start
    running = false
    clearInterval(timer)
    return { ...outcome, elapsed, immediates, ticks, maxGap }
  }

  const check = (name, m) => {
    t.diagnostic(`${name}: ${m.elapsed.toFixed(0)} ms, ${m.immediates} setImmediate turns, ${m.ticks} timer ticks, longest gap ${m.maxGap.toFixed(1)} ms`)
    assert.ok(m.error, `${name} must fail`)
    assert.ok(isCode('ERR_REPLAY_STORE_UNAVAILABLE', 503)(m.error), `${name}: ${m.error && m.error.code}`)
    assert.ok(m.elapsed >= timeoutMs * 0.9, `${name} waited for the timeout (${m.elapsed.toFixed(0)} ms)`)
    assert.ok(m.elapsed < timeoutMs * 2 + 1500, `${name} bounded by the timeout (${m.elapsed.toFixed(0)} ms)`)
    assert.ok(m.immediates > 100, `${name}: the loop kept turning (${m.immediates})`)
    assert.ok(m.ticks >= 20, `${name}: timers kept firing (${m.ticks})`)
    assert.ok(m.maxGap < timeoutMs / 2, `${name}: no stall of the loop (longest gap ${m.maxGap.toFixed(1)} ms)`)
  }

  check('verifyAsync', await whilePending(() => g.verifyAsync(apiRequest())))
  check(
    'finishAsync',
    await whilePending(() => {
      const r = apiRequest()
      const v = g.begin(r)
      v.update(r.body)
      return v.finishAsync()
    }),
  )
  // Through the Express middleware, served and requested in this very process.
  const appx = express()
  appx.post('/orders', expressMiddleware(g), (req, res) => res.json({ ok: true }))
  const server = http.createServer(appx)
  const base = await listen(server)
  t.after(() => close(server))
  const m = await whilePending(async () => {
    const r = await send(base, signed(base, { path: '/orders', body: { x: 1 } }))
    const e = new HmacGuardError(r.json.error.code)
    if (r.status !== 503) throw new Error(`status ${r.status}`)
    throw e
  })
  check('Express middleware', m)
})

test('fail-open is opt-in and counted', { timeout: 60000 }, async () => {
  const { freePort } = require('./redis-server.js')
  const url = `redis://127.0.0.1:${await freePort()}/0` // nothing listens there
  const closed = new Guard({ keys: KEYS, redisUrl: url })
  await assert.rejects(closed.verifyAsync(apiRequest()), isCode('ERR_REPLAY_STORE_UNAVAILABLE', 503))
  const open = new Guard({ keys: KEYS, redisUrl: url, redisFailOpen: true })
  const r = apiRequest()
  assert.equal((await open.verifyAsync(r)).keyId, 'k1')
  assert.equal((await open.verifyAsync(r)).keyId, 'k1', 'no replay protection while Redis is down: that is the documented cost')
  assert.equal(open.failOpenUses, 2)
})

test('(d) two-phase through the JS API: release lets a retry pass, commit ends it; sync ticket calls refuse', { timeout: 60000 }, async () => {
  const g = new Guard({ keys: KEYS, redisUrl: redis.url, redisPrefix: prefix(), policy: { replay: 'reserve', reserveHoldSecs: 30 } })
  const r = apiRequest()
  const v = await g.verifyAsync(r)
  assert.ok(v.replayTicket, 'reserve mode gives a ticket')
  assert.throws(() => v.replayTicket.commit(), isCode('ERR_INVALID_STATE'))
  assert.throws(() => v.replayTicket.release(), isCode('ERR_INVALID_STATE'))
  await assert.rejects(g.verifyAsync(r), isCode('ERR_REPLAY'), 'a concurrent duplicate during the reservation')
  await v.replayTicket.releaseAsync()
  const v2 = await g.verifyAsync(r)
  // A stale ticket's release does not cancel the newer reservation.
  await v.replayTicket.releaseAsync()
  await assert.rejects(g.verifyAsync(r), isCode('ERR_REPLAY'))
  await v2.replayTicket.commitAsync()
  await assert.rejects(g.verifyAsync(r), isCode('ERR_REPLAY'), 'committed')
  // Streaming in reserve mode.
  const r2 = apiRequest('{"s":1}')
  const s = g.begin(r2)
  s.update(r2.body)
  const v3 = await s.finishAsync()
  await v3.replayTicket.releaseAsync()
  assert.ok((await g.verifyAsync(r2)).replayTicket)
  // Store errors reach the ticket's promise as HmacGuardError.
  const { freePort } = require('./redis-server.js')
  const down = new Guard({ keys: KEYS, redisUrl: `redis://127.0.0.1:${await freePort()}/0`, redisFailOpen: true, policy: { replay: 'reserve' } })
  const v4 = await down.verifyAsync(apiRequest())
  assert.ok(v4.replayTicket, 'fail-open accepted the delivery')
  await v4.replayTicket.commitAsync()
  assert.equal(down.failOpenUses, 2, 'the reservation and the commit both went without Redis')
  const closedDown = new Guard({ keys: KEYS, redisUrl: `redis://127.0.0.1:${await freePort()}/0`, policy: { replay: 'reserve' } })
  await assert.rejects(closedDown.verifyAsync(apiRequest()), isCode('ERR_REPLAY_STORE_UNAVAILABLE', 503))
})

test('Koa and streaming uploads use the async finish with the Redis store', { timeout: 60000 }, async (t) => {
  const g = new Guard({ keys: KEYS, redisUrl: redis.url, redisPrefix: prefix() })
  const app = new Koa()
  app.use(koaMiddleware(g))
  app.use((ctx) => {
    ctx.body = { keyId: ctx.state.hmac.keyId, body: ctx.request.body }
  })
  const server = http.createServer(app.callback())
  const base = await listen(server)
  t.after(() => close(server))
  const req = signed(base, { path: '/k', body: { k: 1 } })
  let r = await send(base, req)
  assert.equal(r.status, 200, r.body)
  assert.deepEqual(r.json, { keyId: 'k1', body: { k: 1 } })
  r = await send(base, req)
  assert.equal(r.status, 401)
  assert.equal(r.json.error.code, 'ERR_REPLAY')

  // verifyUpload / createVerifyStream (sink) with the Redis store.
  const up = http.createServer(async (req2, res) => {
    const chunks = []
    const sink = new Writable({
      write(c, _e, cb) {
        chunks.push(c)
        cb()
      },
    })
    try {
      const v = await verifyUpload(g, req2, sink)
      res.end(JSON.stringify({ ok: true, bytes: Buffer.concat(chunks).length, bodyLength: v.bodyLength }))
    } catch (e) {
      h.sendError(req2, res, e)
    }
  })
  const ubase = await listen(up)
  t.after(() => close(up))
  const body = Buffer.alloc(200_000, 7)
  const ureq = signed(ubase, { path: '/upload', body, headers: { 'content-type': 'application/octet-stream' } })
  r = await send(ubase, ureq)
  assert.equal(r.status, 200, r.body)
  assert.deepEqual(r.json, { ok: true, bytes: body.length, bodyLength: body.length })
  r = await send(ubase, ureq)
  assert.equal(r.status, 401)
  assert.equal(r.json.error.code, 'ERR_REPLAY')
})

test('guards in worker threads claim through the same runtime; the main thread keeps working after they exit', { timeout: 60000 }, async () => {
  const { Worker } = require('node:worker_threads')
  const runWorker = () =>
    new Promise((resolve, reject) => {
      const w = new Worker(
        `const { parentPort, workerData } = require('node:worker_threads')
         const h = require(workerData.helpers)
         const g = new h.Guard({ keys: [{ id: 'k1', secret: h.SECRET }], redisUrl: workerData.url, redisPrefix: workerData.prefix })
         const body = Buffer.from('{"w":1}')
         const headers = { host: 'api.example.com', 'content-type': 'application/json', 'content-length': String(body.length) }
         const r = { method: 'POST', url: '/w', headers: { ...headers, ...h.signer.sign({ method: 'POST', url: '/w', headers, body }) }, body }
         g.verifyAsync(r)
           .then((v) => g.verifyAsync(r).then(() => 'accepted twice', (e) => [v.keyId, e.code]))
           .then((out) => parentPort.postMessage(out), (e) => parentPort.postMessage(String(e)))`,
        { eval: true, workerData: { helpers: path.join(__dirname, 'helpers.js'), url: redis.url, prefix: prefix() } },
      )
      let out
      w.once('message', (m) => (out = m))
      w.once('error', reject)
      w.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`worker exited ${code}`))))
    })
  const g = new Guard({ keys: KEYS, redisUrl: redis.url, redisPrefix: prefix() })
  assert.equal((await g.verifyAsync(apiRequest())).keyId, 'k1')
  assert.deepEqual(await Promise.all([runWorker(), runWorker()]), [['k1', 'ERR_REPLAY'], ['k1', 'ERR_REPLAY']])
  assert.deepEqual(await runWorker(), ['k1', 'ERR_REPLAY'])
  const r = apiRequest()
  assert.equal((await g.verifyAsync(r)).keyId, 'k1', 'the main thread after the workers exited')
  await assert.rejects(g.verifyAsync(r), isCode('ERR_REPLAY'))
})

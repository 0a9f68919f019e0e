'use strict'

// A hung Redis (SIGSTOP) under steady load, against a real redis-server on 127.0.0.1 and a real
// Express server in this process (issue 13). The claim is the core's async one: it waits on the
// store's own runtime and connection, not on a libuv pool thread, so while Redis hangs every
// request is answered 503 at the store timeout, none is accepted later, timers stay on time and
// the libuv pool (fs) stays free; after SIGCONT requests pass again without a restart.
// Bounded: the load runs for a fixed time and Redis is resumed whatever happens.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const http = require('node:http')
const { performance } = require('node:perf_hooks')
const express = require('express')
const { RedisServer, sleep } = require('./redis-server.js')
const { Guard, expressMiddleware, SECRET, listen, close, send, signed } = require('./helpers.js')

const TIMEOUT_MS = 250
// How late a 503 may come after the timeout, and the other bounds (a loaded 2-core machine).
const LATE_MS = 100
const TIMER_LAG_MS = 50
const READ_FILE_MS = 100
const INTERVAL_MS = 25 // 40 requests/s, sent on schedule whatever the answers (open loop)
const HANG_MS = 2000

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length ? s[Math.floor(s.length / 2)] : NaN
}
const ms = (x) => `${x.toFixed(1)} ms`

/** Longest lateness of a 10 ms interval timer while it runs: `stop()` returns it. */
function timerLag() {
  let last = performance.now()
  let worst = 0
  const t = setInterval(() => {
    const now = performance.now()
    worst = Math.max(worst, now - last - 10)
    last = now
  }, 10)
  return () => {
    clearInterval(t)
    return worst
  }
}

/** `fs.promises.readFile` (a libuv pool user) every 50 ms while it runs: `stop()` returns the durations. */
function readFiles(file) {
  const took = []
  let running = true
  const loop = (async () => {
    while (running) {
      const t0 = performance.now()
      await fs.promises.readFile(file)
      took.push(performance.now() - t0)
      await sleep(50)
    }
  })()
  return async () => {
    running = false
    await loop
    return took
  }
}

test('a hung Redis (SIGSTOP) under load: 503 at the timeout for every request, none accepted later, timers and the libuv pool unaffected, recovery on SIGCONT', { timeout: 90000 }, async (t) => {
  const redis = new RedisServer()
  await redis.start()
  let stopped = false
  const resume = () => {
    if (stopped && redis.proc) redis.proc.kill('SIGCONT')
    stopped = false
  }
  t.after(async () => {
    resume()
    await redis.dispose()
  })
  const guard = new Guard({
    keys: [{ id: 'k1', secret: SECRET }],
    redisUrl: redis.url,
    redisPrefix: `hg-hang-${process.pid}`,
    redisTimeoutMs: TIMEOUT_MS,
    logger: false,
  })
  assert.equal(guard.store, 'redis')
  // Every request whose handler ran, by its number, with when.
  const handled = new Map()
  const app = express()
  app.post('/orders', expressMiddleware(guard), (req, res) => {
    const n = req.body.n
    if (n !== undefined) handled.set(n, [...(handled.get(n) || []), performance.now()])
    res.json({ n })
  })
  const server = http.createServer(app)
  const base = await listen(server)
  t.after(() => close(server))

  // Warm: the connection is made, JIT and the server settled.
  for (let i = 0; i < 20; i++) assert.equal((await send(base, signed(base, { path: '/orders', body: { warm: i } }))).status, 200)

  const results = []
  const sendOne = async (n) => {
    const req = signed(base, { path: '/orders', body: { n } })
    const start = performance.now()
    const r = await send(base, req)
    results.push({ n, req, start, end: performance.now(), status: r.status, code: r.json?.error?.code, error: r.error })
  }
  // The load: one request every INTERVAL_MS on a fixed schedule, until `stopLoad`.
  let stopLoad = false
  const inFlight = new Set()
  const load = (async () => {
    const t0 = performance.now()
    for (let n = 0; !stopLoad; n++) {
      const p = sendOne(n)
      inFlight.add(p)
      p.finally(() => inFlight.delete(p))
      await sleep(Math.max(0, t0 + (n + 1) * INTERVAL_MS - performance.now()))
    }
    await Promise.all(inFlight)
  })()

  const marks = {}
  let lag, readTimes, lagBefore
  try {
    const stopBaseLag = timerLag()
    await sleep(1000)
    lagBefore = stopBaseLag()
    const stopLag = timerLag()
    const stopReads = readFiles(__filename)
    marks.stop = performance.now()
    redis.proc.kill('SIGSTOP')
    stopped = true
    await sleep(HANG_MS)
    lag = stopLag()
    const reads = stopReads()
    marks.cont = performance.now()
    resume()
    readTimes = await reads
    await sleep(1500)
  } finally {
    resume()
    stopLoad = true
    await load
  }

  assert.deepEqual(results.filter((r) => r.error).map((r) => String(r.error)), [], 'every request was answered')
  for (const r of results) {
    assert.ok(r.status === 200 || (r.status === 503 && r.code === 'ERR_REPLAY_STORE_UNAVAILABLE'), `request ${r.n}: ${r.status} ${r.code}`)
  }
  const before = results.filter((r) => r.end < marks.stop)
  // Sent during the hang: none answered later than its timeout allows, whatever the answer.
  const during = results.filter((r) => r.start >= marks.stop && r.start < marks.cont)
  for (const r of during) {
    const took = r.end - r.start
    assert.ok(took < TIMEOUT_MS + LATE_MS, `request ${r.n}, sent ${ms(r.start - marks.stop)} into the hang, answered ${r.status} ${ms(took - TIMEOUT_MS)} after the timeout (bound ${LATE_MS} ms)`)
  }
  // Of those, the ones whose timeout ran out well before SIGCONT are 503 (a claim still waiting
  // when Redis resumes may be answered, and accepted, within its timeout).
  const hung = during.filter((r) => r.start + TIMEOUT_MS + 250 < marks.cont)
  const late = hung.map((r) => r.end - r.start - TIMEOUT_MS)
  const latencies = hung.map((r) => r.end - r.start)
  t.diagnostic(
    `requests: ${results.length}; before the hang ${before.length}, during it ${during.length}, of which ${hung.length} timed out before SIGCONT: 503 latency median ${ms(median(latencies))}, max ${ms(Math.max(...latencies))} ` +
      `(timeout ${TIMEOUT_MS} ms, latest ${ms(Math.max(...late))} after it); timer lag during the hang max ${ms(lag)} (before it ${ms(lagBefore)}); ` +
      `readFile during the hang: ${readTimes.length} reads, median ${ms(median(readTimes))}, max ${ms(Math.max(...readTimes))}`,
  )
  assert.ok(before.length >= 25 && before.every((r) => r.status === 200), `all 200 before the hang: ${JSON.stringify(before.filter((r) => r.status !== 200).map((r) => [r.n, r.status]))}`)
  assert.ok(hung.length >= 40, `requests ran during the hang: ${hung.length}`)
  for (const r of hung) {
    assert.equal(r.status, 503, `request ${r.n}, sent ${ms(r.start - marks.stop)} into the hang, answered ${r.status} after ${ms(r.end - r.start)}`)
    assert.ok(r.end - r.start >= TIMEOUT_MS * 0.9, `request ${r.n} waited for the timeout (${ms(r.end - r.start)})`)
  }
  // Beyond what the machine itself costs a timer (the same measure in the second before the hang).
  assert.ok(lag < TIMER_LAG_MS + lagBefore, `a 10 ms timer was ${ms(lag)} late during the hang (${ms(lagBefore)} before it)`)
  assert.ok(readTimes.length >= 10, `readFile ran during the hang (${readTimes.length})`)
  assert.ok(Math.max(...readTimes) < READ_FILE_MS, `readFile took ${ms(Math.max(...readTimes))} during the hang`)

  // Nothing refused during the hang was accepted later: no handler ran for any of them, then or
  // since. Sent again, each is either a replay (its claim, buffered in the stopped Redis, landed
  // when it resumed) or accepted for the first and only time (its claim never reached Redis: the
  // client was reconnecting); a third copy is a replay.
  const resentAt = performance.now()
  for (const r of hung) assert.equal(handled.get(r.n), undefined, `request ${r.n}, answered ${r.status} during the hang, reached its handler`)
  const again = await Promise.all(hung.map((r) => send(base, r.req)))
  const seen = {}
  again.forEach((a, i) => {
    const key = `${a.status} ${a.json?.error?.code ?? ''}`.trim()
    seen[key] = (seen[key] || 0) + 1
    const n = hung[i].n
    if (a.status === 401) assert.equal(a.json.error.code, 'ERR_REPLAY', `request ${n} sent again`)
    else assert.equal(a.status, 200, `request ${n} sent again: ${a.status} ${a.json?.error?.code}`)
    const runs = handled.get(n) || []
    assert.equal(runs.length, a.status === 200 ? 1 : 0, `request ${n}: its handler ran ${runs.length} times`)
    assert.ok(runs.every((at) => at >= resentAt), `request ${n}: its handler ran before it was sent again`)
  })
  t.diagnostic(`the hang's requests sent again: ${JSON.stringify(seen)}`)
  const third = await Promise.all(hung.map((r) => send(base, r.req)))
  for (const [i, a] of third.entries()) assert.equal(a.json?.error?.code, 'ERR_REPLAY', `request ${hung[i].n}, a third time: ${a.status}`)

  // Recovery without a restart: after SIGCONT every request passes (a claim that timed out may
  // have dropped the connection; the next one reconnects).
  const afterUp = results.filter((r) => r.start > marks.cont + 500)
  assert.ok(afterUp.length >= 20, `requests ran after SIGCONT: ${afterUp.length}`)
  assert.ok(afterUp.every((r) => r.status === 200), `all 200 after SIGCONT: ${JSON.stringify(afterUp.filter((r) => r.status !== 200).map((r) => [r.n, r.status, r.code]))}`)
  const fresh = await send(base, signed(base, { path: '/orders', body: { fresh: true } }))
  assert.equal(fresh.status, 200, fresh.body)
})

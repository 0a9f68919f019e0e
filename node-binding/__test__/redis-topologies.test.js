'use strict'

// Redis Sentinel and Redis Cluster from Node (issue 13), against real topologies started and
// stopped here with plain `redis-server` on 127.0.0.1 (no redis-cli): the 4-worker Express cluster
// of redis.test.js (fixtures/redis-cluster.js), its store picked by HMAC_GUARD_REDIS_URL.
// - Sentinel (master + replica + one sentinel): 500 copies of one request → exactly one 2xx; the
//   master SIGKILLed under a light steady load → 503 ERR_REPLAY_STORE_UNAVAILABLE during the switch
//   (fail closed), 2xx again on the promoted replica within 30 s, and no request accepted before
//   the failover is accepted again afterwards.
// - Cluster (three masters, `CLUSTER ADDSLOTSRANGE` + `CLUSTER MEET`): 500 copies → exactly one 2xx;
//   one master SIGKILLed → fresh requests are 2xx (other slots) or 503 (its slots), nothing else.
// Every process is killed by its pid whatever happens (and on exit); a missing redis-server fails.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { performance } = require('node:perf_hooks')
const { send, signed } = require('./helpers.js')
const net = require('node:net')
const { freePort, command, sleep } = require('./redis-server.js')

function redisBinary() {
  for (const dir of String(process.env.PATH || '').split(path.delimiter)) {
    if (!dir) continue
    const p = path.join(dir, 'redis-server')
    try {
      fs.accessSync(p, fs.constants.X_OK)
      return p
    } catch {}
  }
  throw new Error('redis-server is required for the Redis tests (make test installs it with apt-get)')
}

/** Polls `probe()` (async, truthy when done) every `everyMs`; throws `what` after `timeoutMs`. */
async function waitFor(what, probe, timeoutMs = 20000, everyMs = 100) {
  const deadline = Date.now() + timeoutMs
  let last
  for (;;) {
    try {
      const v = await probe()
      if (v) return v
    } catch (e) {
      last = e
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`)
    await sleep(everyMs)
  }
}

/**
 * A redis-server process with `argv`; resolves {port, proc, kill(signal), stop(), log()} once it
 * answers PING. Killed on process exit whatever happens.
 */
async function startRedis(port, argv) {
  const proc = spawn(redisBinary(), argv, { stdio: ['ignore', 'pipe', 'pipe'] })
  const killOnExit = () => proc.kill('SIGKILL')
  process.once('exit', killOnExit)
  let log = ''
  const keep = (d) => {
    log = (log + d).slice(-4000)
  }
  proc.stdout.on('data', keep)
  proc.stderr.on('data', keep)
  const exited = new Promise((r) => proc.once('exit', r))
  exited.then(() => process.removeListener('exit', killOnExit))
  const node = {
    port,
    proc,
    log: () => log,
    running: () => proc.exitCode === null && proc.signalCode === null,
    /** SIGKILL (or `signal`); resolves once the process has exited. */
    async kill(signal = 'SIGKILL') {
      if (node.running()) proc.kill(signal)
      await exited
    },
  }
  try {
    await waitFor(
      `redis-server on port ${port}`,
      async () => {
        if (!node.running()) throw new Error(`redis-server exited (${proc.exitCode}):\n${log}`)
        return (await command(port, ['PING'], 1000)) === 'PONG'
      },
      15000,
      50,
    )
  } catch (e) {
    await node.kill()
    throw e
  }
  return node
}

const baseArgs = (port, dir) => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir]

/** A free port whose cluster bus port (+10000) is valid and free too: a node needs both. */
async function clusterPort() {
  for (;;) {
    const port = await freePort()
    if (port > 55535) continue
    const busFree = await new Promise((resolve) => {
      const probe = net.createServer()
      probe.once('error', () => resolve(false))
      probe.listen(port + 10000, '127.0.0.1', () => probe.close(() => resolve(true)))
    })
    if (busFree) return port
  }
}

/** The 4-worker Express cluster of redis.test.js with its store at `url`; like its startCluster. */
async function startApp(url, { workers = 4, timeoutMs = 1000 } = {}) {
  const port = await freePort()
  const proc = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'redis-cluster.js')], {
    env: { ...process.env, HMAC_GUARD_REDIS_URL: url, HG_PORT: String(port), HG_WORKERS: String(workers), HG_REDIS_TIMEOUT_MS: String(timeoutMs) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const killOnExit = () => proc.kill('SIGKILL')
  process.once('exit', killOnExit)
  let stderr = ''
  proc.stderr.on('data', (d) => (stderr += d))
  const exited = new Promise((r) => proc.once('exit', r))
  const stop = async () => {
    process.removeListener('exit', killOnExit)
    if (proc.exitCode !== null || proc.signalCode !== null) return
    proc.kill('SIGTERM')
    const t = setTimeout(() => proc.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(t)
  }
  try {
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
      stop,
    }
  } catch (e) {
    await stop()
    throw e
  }
}

const is2xx = (r) => r.status >= 200 && r.status < 300
const describe = (r) => (r.error ? `error ${r.error}` : `${r.status} ${r.json && r.json.error ? r.json.error.code : ''}`)

/** 500 concurrent copies of one signed request: exactly one 2xx, 499 × 401 ERR_REPLAY, all 4 workers. */
async function storm(app, t) {
  const req = signed(app.base, { path: '/orders', body: { storm: 500 } })
  const started = performance.now()
  const results = await Promise.all(Array.from({ length: 500 }, () => send(app.base, req)))
  t.diagnostic(`500 copies answered in ${(performance.now() - started).toFixed(0)} ms`)
  assert.deepEqual(results.filter((r) => r.error).map((r) => String(r.error)), [], 'every copy was answered')
  const ok = results.filter(is2xx)
  const counts = {}
  for (const r of results) counts[describe(r)] = (counts[describe(r)] || 0) + 1
  assert.equal(ok.length, 1, `exactly one 2xx: ${JSON.stringify(counts)}`)
  assert.deepEqual(ok[0].json.body, { storm: 500 })
  for (const r of results.filter((x) => !is2xx(x))) {
    assert.equal(r.status, 401, JSON.stringify(counts))
    assert.equal(r.json.error.code, 'ERR_REPLAY')
  }
  const workers = new Set(results.map((r) => r.headers['x-worker']))
  assert.deepEqual([...workers].sort(), app.pids, 'the copies reached every worker')
  return req
}

test('Redis Sentinel: 4 Express workers on a redis+sentinel:// URL; 500 copies → one 2xx; the master killed → 503 during the failover, 2xx on the promoted replica, no replay across it', { timeout: 170000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hmac-guard-node-sentinel-'))
  const procs = []
  let app
  t.after(async () => {
    if (app) await app.stop()
    for (const p of procs) await p.kill()
    fs.rmSync(dir, { recursive: true, force: true })
  })
  const [m, r, s] = [await freePort(), await freePort(), await freePort()]
  const master = await startRedis(m, baseArgs(m, dir))
  procs.push(master)
  const replica = await startRedis(r, [...baseArgs(r, dir), '--replicaof', '127.0.0.1', String(m)])
  procs.push(replica)
  await waitFor('the replica to sync', async () => /master_link_status:up/.test(await command(r, ['INFO', 'replication'], 1000)))
  const conf = path.join(dir, `sentinel-${s}.conf`)
  fs.writeFileSync(
    conf,
    `port ${s}\nbind 127.0.0.1\ndir ${dir}\nsentinel resolve-hostnames no\nsentinel monitor hgmaster 127.0.0.1 ${m} 1\n` +
      'sentinel down-after-milliseconds hgmaster 500\nsentinel failover-timeout hgmaster 5000\n',
  )
  const sentinel = await startRedis(s, [conf, '--sentinel'])
  procs.push(sentinel)
  // The sentinel must know the replica before it can promote it.
  await waitFor('the sentinel to discover the replica', async () => {
    const replicas = await command(s, ['SENTINEL', 'REPLICAS', 'hgmaster'], 1000)
    return replicas.some((fields) => fields[fields.indexOf('port') + 1] === String(r) && !/down/.test(fields[fields.indexOf('flags') + 1]))
  })

  app = await startApp(`redis+sentinel://127.0.0.1:${s}/hgmaster`, { timeoutMs: 1000 })
  const { base } = app
  let stormReq

  await t.test('500 concurrent copies of one signed request: exactly one 2xx, the rest 401 ERR_REPLAY; the claims go to the master', async (t2) => {
    stormReq = await storm(app, t2)
    const onMaster = await command(m, ['DBSIZE'])
    assert.ok(onMaster >= 1, `the claim is on the master the sentinel names (DBSIZE ${onMaster})`)
  })

  await t.test('the master SIGKILLed under a light load: 503 ERR_REPLAY_STORE_UNAVAILABLE during the switch, 2xx on the promoted replica within 30 s, no replay accepted across it', async (t2) => {
    const results = []
    let stopLoad = false
    let killedAt = Infinity
    const loadOne = async (lane) => {
      let n = 0
      while (!stopLoad) {
        const req = signed(base, { path: '/orders', body: { lane, n: n++ } })
        const start = performance.now()
        const res = await send(base, req)
        results.push({ req, start, end: performance.now(), status: res.status, code: res.json && res.json.error && res.json.error.code, error: res.error, worker: res.headers && res.headers['x-worker'] })
        await sleep(50)
      }
    }
    const load = Promise.all([0, 1, 2, 3].map(loadOne))
    try {
      await sleep(2000)
      killedAt = performance.now()
      await master.kill('SIGKILL')
      // Run on until the load has been all 2xx for 4 s after the kill's refusals (at most 45 s).
      const settled = () => {
        const after = results.filter((x) => x.start > killedAt)
        const bad = after.filter((x) => !is2xx(x))
        if (!bad.length || !after.some(is2xx)) return false
        const lastBadEnd = Math.max(...bad.map((x) => x.end))
        return after.filter((x) => x.start > lastBadEnd).length >= 20 && performance.now() - lastBadEnd > 4000
      }
      const deadline = killedAt + 45000
      while (!settled() && performance.now() < deadline) await sleep(100)
    } finally {
      stopLoad = true
      await load
    }

    assert.deepEqual(results.filter((x) => x.error).map((x) => String(x.error)), [], 'every request was answered')
    for (const x of results) {
      assert.ok(is2xx(x) || (x.status === 503 && x.code === 'ERR_REPLAY_STORE_UNAVAILABLE'), `only 2xx or 503 ERR_REPLAY_STORE_UNAVAILABLE: ${describe(x)}`)
    }
    const before = results.filter((x) => x.end < killedAt)
    assert.ok(before.length >= 20 && before.every(is2xx), `all 2xx before the kill (${before.length})`)
    const after = results.filter((x) => x.start > killedAt)
    const refused = after.filter((x) => !is2xx(x))
    assert.ok(refused.length > 0, 'requests during the switch were refused (fail closed)')
    const lastRefusedEnd = Math.max(...refused.map((x) => x.end))
    const firstOk = after.find(is2xx)
    const recovered = after.filter((x) => x.start > lastRefusedEnd)
    const failoverMs = lastRefusedEnd - killedAt
    t2.diagnostic(
      `requests: ${results.length}; before the kill ${before.length}; after it ${refused.length} refused (503); the last 503 answered ${failoverMs.toFixed(0)} ms after the kill, ` +
        `the first 2xx ${firstOk ? (firstOk.end - killedAt).toFixed(0) : '-'} ms; ${recovered.length} requests after the last 503, all 2xx`,
    )
    assert.ok(failoverMs <= 30000, `2xx again within 30 s of the kill (${failoverMs.toFixed(0)} ms)`)
    assert.ok(recovered.length >= 20 && recovered.every(is2xx), 'all 2xx on the promoted replica')
    assert.deepEqual([...new Set(recovered.map((x) => x.worker))].sort(), app.pids, 'every worker answers 2xx again')
    assert.match(await command(r, ['INFO', 'replication']), /role:master/, 'the replica was promoted')
    assert.ok(app.alive(), 'the cluster primary is alive')
    assert.doesNotMatch(app.stderr(), /exited/, 'no worker exited')

    // No request accepted before the failover is accepted again: a replay (replicated claim) or
    // the data-loss rule's 503 (a claim the replica missed). Those accepted after it are replays.
    const acceptedBefore = [{ req: stormReq }, ...results.filter((x) => is2xx(x) && x.start < lastRefusedEnd)]
    const replays = []
    for (let i = 0; i < acceptedBefore.length; i += 25) {
      replays.push(...(await Promise.all(acceptedBefore.slice(i, i + 25).map((x) => send(base, x.req)))))
    }
    for (const x of replays) {
      assert.ok((x.status === 401 && x.json.error.code === 'ERR_REPLAY') || (x.status === 503 && x.json.error.code === 'ERR_REPLAY_STORE_UNAVAILABLE'), `a request accepted before the failover, replayed: ${describe(x)}`)
    }
    const acceptedAfter = recovered.slice(0, 20)
    const replaysAfter = await Promise.all(acceptedAfter.map((x) => send(base, x.req)))
    for (const x of replaysAfter) {
      assert.equal(x.status, 401, `replayed after the failover: ${describe(x)}`)
      assert.equal(x.json.error.code, 'ERR_REPLAY')
    }
    const tally = {}
    for (const x of replays) tally[describe(x)] = (tally[describe(x)] || 0) + 1
    t2.diagnostic(`replays of the ${acceptedBefore.length} requests accepted before the failover: ${JSON.stringify(tally)}`)
  })
})

test('Redis Cluster: 4 Express workers on a redis+cluster:// URL (three masters); 500 copies → one 2xx; a master killed → 2xx or 503 per slot, nothing else', { timeout: 170000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hmac-guard-node-cluster-'))
  const nodes = []
  let app
  t.after(async () => {
    if (app) await app.stop()
    for (const n of nodes) await n.kill()
    fs.rmSync(dir, { recursive: true, force: true })
  })
  for (let i = 0; i < 3; i++) {
    const port = await clusterPort()
    const args = [
      ...baseArgs(port, dir),
      '--cluster-enabled', 'yes',
      '--cluster-node-timeout', '1000',
      '--cluster-require-full-coverage', 'no',
      '--cluster-config-file', path.join(dir, `nodes-${port}.conf`),
    ]
    nodes.push(await startRedis(port, args))
  }
  const ranges = [[0, 5460], [5461, 10922], [10923, 16383]]
  for (let i = 0; i < 3; i++) assert.equal(await command(nodes[i].port, ['CLUSTER', 'ADDSLOTSRANGE', ...ranges[i]]), 'OK')
  for (const n of nodes.slice(1)) assert.equal(await command(nodes[0].port, ['CLUSTER', 'MEET', '127.0.0.1', n.port]), 'OK')
  await waitFor('the cluster to form', async () => {
    for (const n of nodes) {
      const info = await command(n.port, ['CLUSTER', 'INFO'], 1000)
      if (!/cluster_state:ok/.test(info) || !/cluster_known_nodes:3/.test(info)) return false
    }
    return true
  }, 30000)

  app = await startApp(`redis+cluster://${nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`, { timeoutMs: 1000 })
  const { base } = app

  await t.test('fresh requests are accepted once and their claims spread over the three masters', async () => {
    for (let i = 0; i < 150; i += 10) {
      const reqs = Array.from({ length: 10 }, (_, k) => signed(base, { path: '/orders', body: { spread: i + k } }))
      const first = await Promise.all(reqs.map((q) => send(base, q)))
      assert.ok(first.every(is2xx), first.map(describe).join(', '))
      const again = await Promise.all(reqs.map((q) => send(base, q)))
      assert.ok(again.every((x) => x.status === 401 && x.json.error.code === 'ERR_REPLAY'), again.map(describe).join(', '))
    }
    for (const n of nodes) {
      const size = await command(n.port, ['DBSIZE'])
      assert.ok(size > 10, `claims reach every master (port ${n.port}: ${size} keys)`)
    }
  })

  await t.test('500 concurrent copies of one signed request: exactly one 2xx, the rest 401 ERR_REPLAY', async (t2) => {
    await storm(app, t2)
  })

  await t.test('one master SIGKILLed: fresh requests are 2xx (the other slots) or 503 ERR_REPLAY_STORE_UNAVAILABLE (its slots), never another answer', async (t2) => {
    await nodes[2].kill('SIGKILL')
    const results = []
    for (let i = 0; i < 150; i += 10) {
      const batch = Array.from({ length: 10 }, (_, k) => signed(base, { path: '/orders', body: { dead: i + k } }))
      results.push(...(await Promise.all(batch.map((q) => send(base, q)))))
    }
    const tally = {}
    for (const x of results) tally[describe(x)] = (tally[describe(x)] || 0) + 1
    t2.diagnostic(`after the kill: ${JSON.stringify(tally)}`)
    for (const x of results) {
      assert.ok(is2xx(x) || (x.status === 503 && x.json.error.code === 'ERR_REPLAY_STORE_UNAVAILABLE'), `unexpected ${describe(x)}`)
    }
    const ok = results.filter(is2xx).length
    const refused = results.length - ok
    assert.ok(ok >= 20 && refused >= 10, `both seen: ${ok} accepted, ${refused} refused`)
    assert.ok(app.alive(), 'the cluster primary is alive')
    assert.doesNotMatch(app.stderr(), /exited/, 'no worker exited')
  })
})

'use strict'

// Verification throughput with the Redis replay store vs the in-memory store, in one run.
// Starts its own redis-server on 127.0.0.1 (a free port, no persistence) and stops it at the end.
// Rounds alternate between the contenders; the median of each is reported. Requests are signed
// beforehand (unique nonces, 1 KiB JSON body), so only verification is timed.
//
// Usage: node benchmark/redis.js [--rounds 5] [--n 10000] [--concurrency 32] [--other <package dir>]
// --other: another build of the package (a `git worktree` set up with its scripts/ci.sh and
// HMAC_GUARD_SETUP_ONLY=1) adds its Redis rows, in the same rounds, against the same Redis.
// The Redis claims are awaited from the core's own client (pipelined on one connection), not on the
// libuv pool: UV_THREADPOOL_SIZE only matters to the in-memory async rows.

const crypto = require('node:crypto')
const { Guard, Signer } = require('..')
const { RedisServer } = require('../__test__/redis-server.js')

const args = process.argv.slice(2)
const opt = (name, d) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? Number(args[i + 1]) : d
}
const ROUNDS = opt('rounds', 5)
const N = opt('n', 10000)
const C = opt('concurrency', 32)
const otherIndex = args.indexOf('--other')
const other = otherIndex >= 0 ? require(require('node:path').resolve(args[otherIndex + 1])) : null

const SECRET = crypto.randomBytes(32)
const keys = [{ id: 'k1', secret: SECRET }]
const signer = new Signer({ id: 'k1', secret: SECRET })
const body = Buffer.from(JSON.stringify({ data: 'x'.repeat(1000) }).slice(0, 1024))

function requests(n) {
  const out = new Array(n)
  for (let i = 0; i < n; i++) {
    const headers = { host: 'api.example.com', 'content-type': 'application/json', 'content-length': String(body.length) }
    out[i] = { method: 'POST', url: '/orders?id=7', headers: { ...headers, ...signer.sign({ method: 'POST', url: '/orders?id=7', headers, body }) }, body }
  }
  return out
}

async function pool(reqs, fn) {
  let i = 0
  await Promise.all(
    Array.from({ length: C }, async () => {
      while (i < reqs.length) await fn(reqs[i++])
    }),
  )
}

const streamSync = (g) => async (reqs) => {
  for (const r of reqs) g.begin(r).update(r.body).finish()
}
const streamAsync = (g) => (reqs) => pool(reqs, (r) => g.begin(r).update(r.body).finishAsync())
const oneShotAsync = (g) => (reqs) => pool(reqs, (r) => g.verifyAsync(r))

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

async function main() {
  const redis = new RedisServer()
  await redis.start()
  try {
    const memory = new Guard({ keys })
    const shared = new Guard({ keys, redisUrl: redis.url })
    const contenders = [
      ['memory  begin/update/finish (sync, adapters)', streamSync(memory)],
      [`memory  begin/update/finishAsync x${C}`, streamAsync(memory)],
      [`memory  verifyAsync x${C}`, oneShotAsync(memory)],
      [`redis   begin/update/finishAsync x${C} (adapters)`, streamAsync(shared)],
      [`redis   verifyAsync x${C}`, oneShotAsync(shared)],
    ]
    if (other) {
      const theirs = new other.Guard({ keys, redisUrl: redis.url })
      contenders.push([`redis   begin/update/finishAsync x${C} (--other)`, streamAsync(theirs)], [`redis   verifyAsync x${C} (--other)`, oneShotAsync(theirs)])
    }
    // Warm up (connections, JIT).
    for (const [, run] of contenders) await run(requests(500))
    await redis.command('CONFIG', 'RESETSTAT')
    let redisVerifications = 0
    const times = contenders.map(() => [])
    for (let round = 0; round < ROUNDS; round++) {
      for (let k = 0; k < contenders.length; k++) {
        const reqs = requests(N)
        const t = process.hrtime.bigint()
        await contenders[k][1](reqs)
        times[k].push(Number(process.hrtime.bigint() - t) / 1e3 / N)
        if (contenders[k][0].startsWith('redis')) redisVerifications += N
      }
    }
    const sets = (await redis.commandCalls()).set
    const load = require('node:os').loadavg().map((x) => x.toFixed(2)).join(' ')
    console.log(`node ${process.version}, ${require('node:os').cpus()[0].model.trim()}, ${require('node:os').cpus().length} cpus, load ${load}`)
    console.log(`1 KiB body, ${N} verifications per round, median of ${ROUNDS} interleaved rounds, UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE || 4}`)
    const base = median(times[0])
    contenders.forEach(([name], k) => {
      const m = median(times[k])
      console.log(`  ${name.padEnd(48)} ${m.toFixed(2).padStart(7)} µs/op ${Math.round(1e6 / m).toString().padStart(8)} op/s  ${(base / m).toFixed(2)}x of memory sync`)
    })
    console.log(`  redis SET calls per verification: ${(sets / redisVerifications).toFixed(3)} (${sets} / ${redisVerifications})`)
  } finally {
    await redis.dispose()
  }
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})

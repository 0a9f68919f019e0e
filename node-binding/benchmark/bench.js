'use strict'

// hmac-guard vs an idiomatic hand-written verifier (node:crypto createHmac + timingSafeEqual + a
// Map nonce cache with a sweep), same canonical content: the simple scheme's
//   HG1\n<METHOD>\n<path?query>\n<timestamp>\n<nonce>\n<key id>\n<hex sha-256 of body>
// Rounds alternate between the contenders; the median per-call time of each is reported.
// Usage: node benchmark/bench.js [--rounds 9] [--n 20000]

const crypto = require('node:crypto')
const { Guard, Signer } = require('..')
const { handWritten } = require('./handwritten.js')

const args = process.argv.slice(2)
const opt = (name, d) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? Number(args[i + 1]) : d
}
const ROUNDS = opt('rounds', 9)
const N = opt('n', 20000)

const SECRET = crypto.randomBytes(32)
const KEY_ID = 'client-1'

function requests(bodySize, count) {
  const signer = new Signer({ id: KEY_ID, secret: SECRET, scheme: 'simple' })
  const body = crypto.randomBytes(bodySize)
  const out = []
  for (let i = 0; i < count; i++) {
    const headers = { host: 'api.example.com', 'content-type': 'application/octet-stream', 'content-length': String(bodySize) }
    Object.assign(headers, signer.sign({ method: 'POST', url: '/orders?id=7', body }))
    out.push({ method: 'POST', url: '/orders?id=7', headers, body })
  }
  return out
}

function time(fn, reqs) {
  const t = process.hrtime.bigint()
  for (let i = 0; i < reqs.length; i++) fn(reqs[i])
  return Number(process.hrtime.bigint() - t) / reqs.length / 1000
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

function compare(label, bodySize, n) {
  const results = { 'hmac-guard verify': [], 'hand-written node:crypto': [], 'sha-256 of the body alone': [] }
  for (let r = 0; r < ROUNDS + 1; r++) {
    const guard = new Guard({ scheme: 'simple', keys: [{ id: KEY_ID, secret: SECRET }] })
    const hw = handWritten(KEY_ID, SECRET)
    const a = requests(bodySize, n)
    const b = requests(bodySize, n)
    const sha = (req) => crypto.createHash('sha256').update(req.body).digest()
    const runs = [
      ['hmac-guard verify', () => time((req) => guard.verify(req), a)],
      ['hand-written node:crypto', () => time(hw, b)],
      ['sha-256 of the body alone', () => time(sha, a)],
    ]
    if (r % 2) runs.reverse()
    for (const [name, f] of runs) {
      const us = f()
      if (r > 0) results[name].push(us) // round 0 warms up
    }
  }
  console.log(`\n${label} (median of ${ROUNDS} interleaved rounds, ${n} requests each)`)
  for (const [name, xs] of Object.entries(results)) console.log(`  ${name.padEnd(28)} ${median(xs).toFixed(2).padStart(8)} µs`)
  return Object.fromEntries(Object.entries(results).map(([k, v]) => [k, median(v)]))
}

console.log(`node ${process.version}, ${require('node:os').cpus()[0].model}, load ${require('node:os').loadavg().map((x) => x.toFixed(1)).join(' ')}`)
const small = compare('1 KiB body', 1024, N)
const big = compare('64 KiB body', 65536, Math.max(1000, Math.floor(N / 20)))
console.log(`\nspeed-up at 1 KiB: ${(small['hand-written node:crypto'] / small['hmac-guard verify']).toFixed(2)}x`)
console.log(`64 KiB: hmac-guard / sha-256 alone = ${(big['hmac-guard verify'] / big['sha-256 of the body alone']).toFixed(3)}`)

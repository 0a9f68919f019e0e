'use strict'

// Two builds of the package side by side in one process, rounds alternating (medians): the way
// to measure a change on a machine whose speed drifts between runs. Build the other tree first
// (`git worktree add /tmp/old <commit>`, then its `scripts/ci.sh` with HMAC_GUARD_SETUP_ONLY=1).
// Usage: node benchmark/compare.js <other package dir> [--rounds 9] [--n 20000]

const crypto = require('node:crypto')
const path = require('node:path')
const { handWritten } = require('./handwritten.js')

const args = process.argv.slice(2)
const opt = (name, d) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? Number(args[i + 1]) : d
}
if (!args[0] || args[0].startsWith('--')) {
  console.error('usage: node benchmark/compare.js <other package dir> [--rounds 9] [--n 20000]')
  process.exit(2)
}
const ROUNDS = opt('rounds', 9)
const N = opt('n', 20000)
const builds = { other: require(path.resolve(args[0])), this: require('..') }
const SECRET = crypto.randomBytes(32)

function requests(size, n) {
  const signer = new builds.this.Signer({ id: 'k1', secret: SECRET, scheme: 'simple' })
  const body = crypto.randomBytes(size)
  return Array.from({ length: n }, () => {
    const headers = { host: 'api.example.com', 'content-type': 'application/octet-stream', 'content-length': String(size) }
    Object.assign(headers, signer.sign({ method: 'POST', url: '/orders?id=7', body }))
    return { method: 'POST', url: '/orders?id=7', headers, body }
  })
}

function time(fn, reqs) {
  const t = process.hrtime.bigint()
  for (let i = 0; i < reqs.length; i++) fn(reqs[i])
  return Number(process.hrtime.bigint() - t) / reqs.length / 1000
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
const guardOf = (m) => new m.Guard({ scheme: 'simple', keys: [{ id: 'k1', secret: SECRET }] })

for (const [size, n] of [
  [1024, N],
  [65536, Math.max(1000, Math.floor(N / 15))],
]) {
  const results = {}
  for (let r = 0; r <= ROUNDS; r++) {
    const runs = []
    for (const [name, m] of Object.entries(builds)) {
      const verify = () => {
        const g = guardOf(m)
        return time((q) => g.verify(q), requests(size, n))
      }
      const streamed = () => {
        const g = guardOf(m)
        return time((q) => g.begin(q).update(q.body).finish(), requests(size, n))
      }
      runs.push([`${name}: verify`, verify], [`${name}: begin/update/finish`, streamed])
    }
    runs.push(['hand-written node:crypto', () => time(handWritten('k1', SECRET), requests(size, n))])
    runs.push(['createHash(sha256) alone', () => time((q) => crypto.createHash('sha256').update(q.body).digest(), requests(size, n))])
    if (r % 2) runs.reverse()
    for (const [name, f] of runs) {
      const us = f()
      if (r > 0) (results[name] ||= []).push(us) // round 0 warms up
    }
  }
  console.log(`\n${size} B body, median of ${ROUNDS} alternating rounds x ${n} requests (other = ${args[0]})`)
  for (const [name, xs] of Object.entries(results)) console.log(`  ${name.padEnd(30)} ${median(xs).toFixed(2).padStart(8)} µs`)
}

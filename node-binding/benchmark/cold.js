'use strict'

// One verification with cold caches, as in a busy server: between two requests a server runs
// hundreds of µs of other code (Express, the HTTP parser, V8's collector) that evicts the
// verifier's code and data from the L1/L2 caches. bench.js times calls in a tight loop, where
// everything stays hot; here a sweep over `--mb` MiB of memory runs before every timed call, and
// each contender (hmac-guard, the hand-written verifier of handwritten.js, and node:crypto's
// createHash / createHmac over the same 1 KiB body for scale) is timed alone, interleaved call by
// call. Reported: the median of `--n` calls each, cold and hot.
// Usage: node benchmark/cold.js [--mb 8] [--n 2000]

const crypto = require('node:crypto')
const os = require('node:os')
const { Guard, Signer } = require('..')
const { handWritten } = require('./handwritten.js')

const args = process.argv.slice(2)
const opt = (name, d) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? Number(args[i + 1]) : d
}
const N = opt('n', 2000)
const MB = opt('mb', 8)

const SECRET = crypto.randomBytes(32)
const KEY_ID = 'client-1'
const body = crypto.randomBytes(1024)
const signer = new Signer({ id: KEY_ID, secret: SECRET, scheme: 'simple' })
const requests = () =>
  Array.from({ length: N }, () => {
    const headers = { host: 'api.example.com', 'content-type': 'application/octet-stream', 'content-length': '1024' }
    Object.assign(headers, signer.sign({ method: 'POST', url: '/orders?id=7', body }))
    return { method: 'POST', url: '/orders?id=7', headers, body }
  })

// One byte per cache line, written, so the sweep evicts rather than shares lines.
const sweep = new Uint8Array(MB << 20)
let checksum = 0
function evict() {
  for (let i = 0; i < sweep.length; i += 64) checksum += sweep[i]++
}

function contenders() {
  const guard = new Guard({ scheme: 'simple', keys: [{ id: KEY_ID, secret: SECRET }] })
  const hw = handWritten(KEY_ID, SECRET)
  const a = requests()
  const b = requests()
  return {
    'hmac-guard verify': (i) => guard.verify(a[i]),
    'hand-written node:crypto': (i) => hw(b[i]),
    'createHash sha256 of the body': () => crypto.createHash('sha256').update(body).digest(),
    'createHmac sha256 of the body': () => crypto.createHmac('sha256', SECRET).update(body).digest(),
  }
}

function run(cold) {
  const fns = contenders()
  const times = Object.fromEntries(Object.keys(fns).map((k) => [k, []]))
  const names = Object.keys(fns)
  for (let i = 0; i < N; i++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(i + k) % names.length]
      if (cold) evict()
      const t = process.hrtime.bigint()
      fns[name](i)
      times[name].push(Number(process.hrtime.bigint() - t) / 1000)
    }
  }
  return times
}

const median = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1]
run(false) // warm-up: JIT, key ring, store
const hot = run(false)
const cold = run(true)
console.log(`node ${process.version}, ${os.cpus()[0].model}, load ${os.loadavg()[0].toFixed(1)}; ${MB} MiB swept before every cold call, ${N} calls each`)
for (const name of Object.keys(hot)) {
  console.log(`  ${name.padEnd(32)} cold ${median(cold[name]).toFixed(1).padStart(6)} µs   hot ${median(hot[name]).toFixed(2).padStart(6)} µs`)
}
if (checksum < 0) console.log(checksum) // keeps the sweep from being optimized away

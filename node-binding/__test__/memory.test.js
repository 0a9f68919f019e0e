'use strict'

// Memory: no per-request retention across 200 000 verifications, and a 256 MiB body streamed
// through the Express middleware (into a sink) keeps the server's RSS growth under 32 MiB.
// Each runs in a fresh process with --expose-gc (fixtures/memory.js).

const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { execFile } = require('node:child_process')

const fixture = path.join(__dirname, 'fixtures', 'memory.js')
const skip = process.env.HMAC_GUARD_NODE_PROFILE === 'debug' ? 'unoptimised addon (debug profile)' : false

function run(args) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--expose-gc', fixture, ...args], { timeout: 150000, maxBuffer: 1 << 20 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout.trim().split('\n').pop())),
    )
  })
}

test('200 000 verifications with unique nonces: heap and RSS level off', { skip, timeout: 160000 }, async (t) => {
  const { samples } = await run(['verify', '200000'])
  t.diagnostic(JSON.stringify(samples))
  const half = samples.length / 2
  const first = samples.slice(0, half)
  const second = samples.slice(half)
  const heapGrowth = Math.max(...second.map((s) => s.heap)) - Math.min(...first.map((s) => s.heap))
  assert.ok(heapGrowth < 2, `JS heap grew by ${heapGrowth} MiB over the second 100 000 verifications`)
  // RSS includes the replay store, which legitimately holds every live nonce (16 bytes each).
  const rssGrowth = Math.max(...second.map((s) => s.rss)) - Math.max(...first.map((s) => s.rss))
  assert.ok(rssGrowth < 24, `RSS grew by ${rssGrowth} MiB over the second 100 000 verifications`)
})

test('streaming 256 MiB through the middleware keeps RSS growth under 32 MiB', { skip, timeout: 160000 }, async (t) => {
  const r = await run(['stream'])
  t.diagnostic(JSON.stringify(r))
  assert.equal(r.status, 200, r.body)
  assert.equal(JSON.parse(r.body).bodyLength, 256 * 1024 * 1024)
  assert.ok(r.growth < 32, `RSS grew by ${r.growth} MiB`)
})

test('verifications dropped unfinished are reclaimed once collected', { timeout: 60000 }, async () => {
  const r = await run(['abandon', '20000'])
  assert.equal(r.begun, 20000, 'each begin() holds a slot until it is finished, aborted or collected')
  assert.equal(r.left, 1, `${r.left - 1} dropped verifications still hold their slots after collection`)
  assert.equal(r.afterAbort, 0)
})

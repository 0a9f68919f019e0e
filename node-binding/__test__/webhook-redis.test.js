'use strict'

// Webhook receivers on the Redis store (a real redis-server): two Express worker processes, each
// with its own Guard, sharing one Redis. 50 concurrent copies of one delivery spread over both run
// the handler exactly once; every other copy is a 200 duplicate or a 409 in flight. A later copy
// on either worker is a duplicate; a delivery that failed on one worker is retried on the other.

const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { send } = require('./helpers.js')
const { withRedis } = require('./redis-server.js')
const { SECRETS, delivery, post, newId } = require('./webhook-support.js')

/** Starts a worker process; resolves { base, stop }. */
async function worker(t, env) {
  const proc = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'webhook-worker.js')], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  proc.stderr.on('data', (d) => (stderr += d))
  const exited = new Promise((r) => proc.once('exit', r))
  t.after(async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
    await exited
  })
  const { port } = await new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`worker did not start:\n${stderr}`)), 30000)
    proc.stdout.on('data', (d) => {
      out += d
      const line = out.split('\n').find((l) => l.startsWith('{'))
      if (line) {
        clearTimeout(timer)
        resolve(JSON.parse(line))
      }
    })
    proc.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`worker exited (${code}):\n${stderr}`))
    })
  })
  return `http://127.0.0.1:${port}`
}

for (const preset of ['stripe', 'standard-webhooks']) {
  test(`webhooks on Redis (${preset}): two worker processes, one delivery`, { timeout: 120000 }, (t) =>
    withRedis(async (redisUrl) => {
      const failing = newId(preset)
      const env = { HG_PRESET: preset, HG_SECRETS: JSON.stringify(SECRETS[preset]), HG_REDIS_URL: redisUrl, HG_DELAY_MS: '300' }
      // Worker a fails `failing` once; b does not.
      const [a, b] = await Promise.all([worker(t, { ...env, HG_FAIL_ONCE: JSON.stringify([failing]) }), worker(t, env)])
      const runs = async (id) => (await send(a, { path: `/runs/${id}` })).json.runs + (await send(b, { path: `/runs/${id}` })).json.runs

      // 50 concurrent copies, alternating between the workers; the handler takes 300 ms.
      const d = delivery(preset)
      const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => send(i % 2 ? b : a, post(d))))
      const statuses = answers.map((r) => r.status)
      assert.equal(await runs(d.id), 1, `exactly one handler run over both workers (${statuses.join(' ')})`)
      const done = answers.filter((r) => r.status === 200 && r.json && r.json.received === d.id)
      assert.equal(done.length, 1, 'one answer from the handler')
      assert.equal(done[0].json.store, 'redis')
      for (const r of answers) {
        if (r === done[0]) continue
        if (r.status === 409) {
          assert.equal(r.json.error.code, 'ERR_DELIVERY_IN_PROGRESS')
          assert.match(r.headers['retry-after'], /^\d+$/)
        } else assert.ok(r.status === 200 && r.json.error.code === 'ERR_DUPLICATE_DELIVERY', `${r.status} ${r.body}`)
      }
      // Committed before the handler's 200 went out: a later copy on either worker is a duplicate.
      for (const w of [a, b]) {
        const again = await send(w, post(d))
        assert.equal(again.status, 200, again.body)
        assert.equal(again.json.error.code, 'ERR_DUPLICATE_DELIVERY')
      }
      assert.equal(await runs(d.id), 1)

      // A failure on one worker is released before its 500 goes out: the retry runs on the other.
      const f = delivery(preset, { id: failing, secretIndex: 1 })
      assert.equal((await send(a, post(f))).status, 500)
      const retry = await send(b, post(f))
      assert.equal(retry.status, 200, retry.body)
      assert.equal(retry.json.secretId, 'secret-1')
      assert.equal(await runs(f.id), 2)
    }),
  )
}

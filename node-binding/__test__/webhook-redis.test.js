'use strict'

// Webhook receivers on the Redis store (a real redis-server): two Express workers, each with its
// own Guard, sharing one Redis. 50 concurrent copies of one delivery spread over both run the
// handler exactly once; every other copy is a 200 duplicate or a 409 in flight. Then the
// two-phase claim across workers: a commit seen by the other worker, a failure released for it.

const test = require('node:test')
const assert = require('node:assert/strict')
const http = require('node:http')
const express = require('express')
const { expressWebhook } = require('..')
const { listen, close, send } = require('./helpers.js')
const { withRedis } = require('./redis-server.js')
const { PRESETS, SECRETS, delivery, post, Plan } = require('./webhook-support.js')

async function worker(preset, plan, redisUrl) {
  const app = express()
  const receiver = expressWebhook(preset, { secrets: SECRETS[preset], redisUrl, redisTimeoutMs: 2000, logger: false })
  assert.equal(receiver.guard.store, 'redis')
  app.post('/hooks', receiver, async (req, res) => {
    const { status, json } = await plan.run(req.webhook)
    res.status(status).json(json)
  })
  const srv = http.createServer(app)
  return { srv, base: await listen(srv) }
}

test('webhooks on Redis: two workers, one delivery', { timeout: 120000 }, () =>
  withRedis(async (redisUrl) => {
    for (const preset of ['stripe', 'standard-webhooks']) {
      const plan = new Plan()
      const a = await worker(preset, plan, redisUrl)
      const b = await worker(preset, plan, redisUrl)
      try {
        // 50 concurrent copies, alternating between the workers; the handler takes a while.
        const d = delivery(preset)
        plan.set(d.id, () => new Promise((r) => setTimeout(r, 300)))
        const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => send(i % 2 ? b.base : a.base, post(d))))
        const statuses = answers.map((r) => r.status)
        assert.equal(plan.count(d.id), 1, `${preset}: exactly one handler run (${statuses.join(' ')})`)
        const done = answers.filter((r) => r.status === 200 && r.json && r.json.received === d.id)
        assert.equal(done.length, 1, `${preset}: one answer from the handler`)
        for (const r of answers) {
          if (r === done[0]) continue
          if (r.status === 409) assert.match(r.headers['retry-after'], /^\d+$/)
          else assert.ok(r.status === 200 && r.json.error.code === 'ERR_DUPLICATE_DELIVERY', `${r.status} ${r.body}`)
        }
        // Committed: a later copy on either worker is a duplicate.
        for (const w of [a, b]) {
          const again = await send(w.base, post(d))
          assert.equal(again.status, 200, again.body)
          assert.equal(again.json.error.code, 'ERR_DUPLICATE_DELIVERY')
        }
        // A failure on one worker is released: the retry runs on the other.
        const f = delivery(preset, { secretIndex: 1 })
        plan.set(f.id, 'fail')
        assert.equal((await send(a.base, post(f))).status, 500)
        plan.set(f.id, 'ok')
        let retry
        for (let i = 0; i < 50; i++) {
          retry = await send(b.base, post(f))
          if (retry.status !== 409) break // the release is on its way to Redis
          await new Promise((r) => setTimeout(r, 20))
        }
        assert.equal(retry.status, 200, retry.body)
        assert.equal(retry.json.secretId, 'secret-1')
        assert.equal(plan.count(f.id), 2)
      } finally {
        await close(a.srv)
        await close(b.srv)
      }
    }
    assert.ok(PRESETS.includes('stripe'))
  }),
)

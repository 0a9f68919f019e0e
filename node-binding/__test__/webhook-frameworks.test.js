'use strict'

// The webhook receivers where they differ from Express's: Koa (koaWebhook), Feathers over Express
// and over Koa (webhookExpress, webhookKoa: the service's create() is the handler). Real servers
// on 127.0.0.1: a valid delivery, a duplicate after commit (200, the handler not run), a duplicate
// in flight (409), a failed handler whose retry runs, oversize bodies (413 early; chunked: 413 and
// close).

const test = require('node:test')
const assert = require('node:assert/strict')
const http = require('node:http')
const Koa = require('koa')
const { feathers } = require('@feathersjs/feathers')
const fexpress = require('@feathersjs/express')
const fkoa = require('@feathersjs/koa')
const { koaWebhook } = require('..')
const { webhookExpress, webhookKoa, unlessVerified } = require('../feathers.js')
const { listen, close, send, until } = require('./helpers.js')
const { rawExchange, flood } = require('./raw.js')
const { SECRETS, TYPES, delivery, post, rawDelivery, Plan, gate } = require('./webhook-support.js')

const LIMIT = 4096
const options = (preset) => ({ secrets: SECRETS[preset], policy: { bodyLimit: LIMIT }, logger: false })

function makeKoa(preset, plan) {
  const app = new Koa()
  const receiver = koaWebhook(preset, options(preset))
  app.use(async (ctx, next) => {
    if (ctx.path !== '/hooks') return next()
    return receiver(ctx, async () => {
      const { status, json } = await plan.run(ctx.state.webhook)
      ctx.status = status
      ctx.body = json
    })
  })
  return http.createServer(app.callback())
}

/** A Feathers service whose create() is the webhook handler. */
const hookService = (plan) => ({
  async create(data, params) {
    const w = params.webhook
    assert.deepEqual(data, w.payload, 'data is the payload')
    const { status, json } = await plan.run(w)
    if (status >= 400) throw new Error('the service failed')
    return json
  },
})

async function makeFeathersExpress(preset, plan) {
  const app = fexpress.default(feathers())
  app.use('/hooks', webhookExpress(preset, options(preset)))
  app.use(fexpress.json())
  app.configure(fexpress.rest())
  app.use('hooks', hookService(plan))
  app.use(fexpress.errorHandler({ logger: false }))
  const server = http.createServer(app)
  await app.setup(server)
  return server
}

async function makeFeathersKoa(preset, plan) {
  const app = fkoa.koa(feathers())
  app.use(fkoa.errorHandler())
  const receiver = webhookKoa(preset, options(preset))
  app.use((ctx, next) => (ctx.path === '/hooks' ? receiver(ctx, next) : next()))
  app.use(unlessVerified(fkoa.bodyParser()))
  app.configure(fkoa.rest())
  app.use('hooks', hookService(plan))
  const server = http.createServer(app.callback())
  await app.setup(server)
  return server
}

for (const [name, make] of [
  ['Koa', makeKoa],
  ['Feathers over Express', makeFeathersExpress],
  ['Feathers over Koa', makeFeathersKoa],
]) {
  for (const preset of ['stripe', 'github']) {
    test(`${name} webhook receiver (${preset})`, async (t) => {
      const plan = new Plan()
      const srv = await make(preset, plan)
      const base = await listen(srv)
      t.after(() => close(srv))

      await t.test('a valid delivery reaches the handler', async () => {
        const d = delivery(preset)
        const r = await send(base, post(d))
        assert.ok(r.status === 200 || r.status === 201, `${r.status} ${r.body}`)
        assert.deepEqual(r.json, { received: d.id, type: TYPES[preset], secretId: 'secret-0' })
        assert.ok(plan.seen.get(d.id).rawBody.equals(d.body))
      })

      await t.test('a duplicate after commit: 200, the handler not run', async () => {
        const d = delivery(preset, { secretIndex: 1 })
        const first = await send(base, post(d))
        assert.ok(first.status < 300, first.body)
        assert.equal(first.json.secretId, 'secret-1')
        const again = await send(base, post(d))
        assert.equal(again.status, 200, again.body)
        assert.equal(again.json.error.code, 'ERR_DUPLICATE_DELIVERY')
        assert.equal(plan.count(d.id), 1)
      })

      await t.test('a duplicate in flight: 409 with Retry-After', async () => {
        const d = delivery(preset)
        const g = gate()
        plan.set(d.id, () => g.wait())
        const first = send(base, post(d))
        await until(() => plan.count(d.id) === 1, 'the delivery in the handler')
        const second = await send(base, post(d))
        assert.equal(second.status, 409, second.body)
        assert.match(second.headers['retry-after'], /^\d+$/)
        g.open()
        assert.ok((await first).status < 300)
      })

      await t.test('a failed handler: the retry runs', async () => {
        for (const mode of ['fail', 'throw']) {
          const d = delivery(preset)
          plan.set(d.id, mode)
          const r = await send(base, post(d))
          assert.equal(r.status, 500, `${mode}: ${r.body}`)
          plan.set(d.id, 'ok')
          const retry = await send(base, post(d))
          assert.ok(retry.status < 300, `${mode}: retry ${retry.status} ${retry.body}`)
          assert.equal(plan.count(d.id), 2)
        }
      })

      await t.test('oversize: 413 from Content-Length before the body; chunked: 413 and close', async () => {
        const d = delivery(preset)
        const early = await rawExchange(base, [rawDelivery(d, { length: LIMIT + 1 })])
        assert.equal(early.status, 413, early.body)
        assert.equal(early.json.error.code, 'ERR_BODY_TOO_LARGE')
        assert.equal(early.headers.connection, 'close')
        const r = await flood(base, rawDelivery(d, { length: null, add: [['transfer-encoding', 'chunked']] }), { total: 32 * 1024 * 1024, piece: 64 * 1024, chunked: true })
        assert.equal(r.status, 413, r.body)
        assert.equal(r.headers.connection, 'close')
        assert.ok(r.closed, 'the server closed the connection')
        assert.ok(r.written < 8 * 1024 * 1024, `the server stopped reading (${r.written} of 32 MiB taken)`)
      })
    })
  }
}

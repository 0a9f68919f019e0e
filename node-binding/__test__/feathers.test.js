'use strict'

// Feathers v5 over @feathersjs/express (Express 4) and over @feathersjs/koa, real HTTP on 127.0.0.1.

const test = require('node:test')
const assert = require('node:assert/strict')
const http = require('node:http')
const { feathers } = require('@feathersjs/feathers')
const fexpress = require('@feathersjs/express')
const fkoa = require('@feathersjs/koa')
const { MemoryService } = require('@feathersjs/memory')
const { AuthenticationService, authenticate } = require('@feathersjs/authentication')
const { hmacExpress, hmacKoa, unlessVerified, requireHmac, compareAndSet, HmacStrategy } = require('../feathers.js')
const { newGuard, listen, close, send, signed, signer } = require('./helpers.js')
const { httpSuite, acceptSignatureSuite } = require('./suite.js')
const { withRedis } = require('./redis-server.js')

class EchoService {
  async create(data, params) {
    return {
      keyId: params.hmac.keyId,
      subject: params.hmac.subject,
      created: params.hmac.created,
      body: Buffer.isBuffer(data) ? { buffer: data.length } : data,
      raw: params.rawBody.toString('base64'),
    }
  }
}

function services(app) {
  app.use('echo', new EchoService())
  app.use('echo-alt', new EchoService())
  app.use('health', { async find() { return { ok: true } } })
  app.service('echo').hooks({ before: { all: [requireHmac()] } })
  app.service('echo-alt').hooks({ before: { all: [requireHmac()] } })

  // Identity from the key's subject only.
  app.set('authentication', {
    secret: 'test-only-jwt-secret-not-used-by-hmac',
    entity: 'user',
    service: 'users',
    authStrategies: ['hmac'],
    hmac: { subjectPrefix: 'user:' },
  })
  const auth = new AuthenticationService(app)
  auth.register('hmac', new HmacStrategy())
  app.use('authentication', auth)
  app.use('users', new MemoryService({ startId: 1 }))
  app.use('me', { async find(params) { return { user: params.user, keyId: params.hmac.keyId } } })
  app.service('me').hooks({ before: { all: [authenticate('hmac')] } })

  // Compare-and-set on a version the client signed (TOCTOU), with a real adapter.
  app.use('documents', new MemoryService({ startId: 1 }))
  app.service('documents').hooks({ around: { patch: [requireHmac(), compareAndSet()] } })
}

async function seed(app) {
  await app.service('users').create({ name: 'alice' }) // id 1 = subject user:1
  await app.service('users').create({ name: 'bob' }) // id 2 = subject user:2
  await app.service('documents').create({ text: 'v0', version: 1 })
}

async function makeFeathersExpress(guard) {
  const app = fexpress.default(feathers())
  app.use(hmacExpress(guard))
  app.use(fexpress.json())
  app.configure(fexpress.rest())
  services(app)
  app.use(fexpress.errorHandler({ logger: false }))
  const server = http.createServer(app)
  await app.setup(server)
  await seed(app)
  return { server, echo: '/echo', echoAlt: '/echo-alt', health: '/health', readEcho: (j) => j }
}

async function makeFeathersKoa(guard) {
  const app = fkoa.koa(feathers())
  app.use(fkoa.errorHandler())
  app.use(hmacKoa(guard))
  app.use(unlessVerified(fkoa.bodyParser()))
  app.configure(fkoa.rest())
  services(app)
  const server = http.createServer(app.callback())
  await app.setup(server)
  await seed(app)
  return { server, echo: '/echo', echoAlt: '/echo-alt', health: '/health', readEcho: (j) => j }
}

for (const [name, make] of [
  ['Feathers over Express', makeFeathersExpress],
  ['Feathers over Koa', makeFeathersKoa],
]) {
  test(name, (t) => httpSuite(t, make))
  test(`${name}: Accept-Signature on refusals`, (t) => acceptSignatureSuite(t, make, { unsignedPassesThrough: true }))
  test(`${name} with the Redis replay store`, { timeout: 90000 }, (t) =>
    withRedis((redisUrl) => httpSuite(t, make, { guardOptions: { redisUrl } })),
  )

  test(`${name}: authentication strategy and compare-and-set`, async (t) => {
    const guard = newGuard()
    const app = await make(guard)
    const base = await listen(app.server)
    t.after(() => close(app.server))

    await t.test('the entity comes from the key subject, not from client data', async () => {
      const r = await send(base, signed(base, { method: 'GET', path: '/me' }))
      assert.equal(r.status, 200, r.body)
      assert.equal(r.json.user.name, 'alice')
      assert.equal(r.json.keyId, 'k1')
      // Unsigned: no identity, whatever the client claims.
      const u = await send(base, { method: 'POST', path: '/authentication', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ strategy: 'hmac', subject: 'user:2', userId: 2 }) })
      assert.equal(u.status, 401, u.body)
      const m = await send(base, { method: 'GET', path: '/me', headers: { authorization: 'hmac user:2' } })
      assert.equal(m.status, 401, m.body)
    })

    await t.test('a signed version value drives a compare-and-set update', async () => {
      const patch = (version, text) =>
        send(
          base,
          signed(base, {
            method: 'PATCH',
            path: '/documents/1',
            body: { text, version: 999 },
            headers: { 'x-expected-version': String(version) },
            sign: { components: ['@method', '@authority', '@path', '@query', 'content-digest', 'x-expected-version'] },
          }),
        )
      let r = await patch(1, 'v1')
      assert.equal(r.status, 200, r.body)
      assert.deepEqual([r.json.text, r.json.version], ['v1', 2])
      r = await patch(1, 'stale write')
      assert.equal(r.status, 409, r.body)
      r = await patch(2, 'v2')
      assert.equal(r.status, 200, r.body)
      assert.equal(r.json.version, 3)
      // An unsigned or version-less patch is refused.
      r = await send(base, signed(base, { method: 'PATCH', path: '/documents/1', body: { text: 'x' } }))
      assert.equal(r.status, 400, r.body)
    })
  })
}

test('signer helper is usable with fetch against Feathers', async (t) => {
  const { signRequest } = require('..')
  const guard = newGuard()
  const app = await makeFeathersExpress(guard)
  const base = await listen(app.server)
  t.after(() => close(app.server))
  const init = signRequest(signer, `${base}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ via: 'fetch' }) })
  const res = await fetch(`${base}/echo`, init)
  assert.equal(res.status, 201)
  assert.deepEqual((await res.json()).body, { via: 'fetch' })
})

#!/usr/bin/env node
'use strict'

// Feathers v5 demo server over @feathersjs/express, protected by hmac-guard's Feathers
// integration (in-memory replay store; HMAC_GUARD_REDIS_URL switches it to Redis).
// DEMO ONLY: its keys are the public ones in demo/keys.json.
//
//   node demo/servers/feathers.js [--port 3030]
//
//   POST /orders, POST /refunds   services; signed with a client key -> 201 {key_id, subject, body}
//   PUT|DELETE /admin/keys/:id    service; signed with the admin key: load/remove a client key
//   POST /hooks/<preset>          services; a webhook delivery of standard-webhooks, svix, stripe,
//                                 github, slack or shopify -> 200 {provider, id, type, secret_id, handled}
//   GET /health                   unsigned
// Errors are Feathers errors: {name, message, code, className, data: {code: "ERR_..."}}.

const http = require('node:http')
const demo = require('./common.js')

const { feathers } = demo.requireFromBinding('@feathersjs/feathers')
const fexpress = demo.requireFromBinding('@feathersjs/express')
const errors = demo.requireFromBinding('@feathersjs/errors')
const { Guard } = demo.hmacGuard()
const { hmacExpress, requireHmac, webhookExpress } = demo.hmacGuardFeathers()

const port = demo.portArg(3030)
const guard = new Guard({ keys: demo.startKeys() }) // HMAC_GUARD_REDIS_URL, when set, picks Redis
const adminGuard = new Guard({ keys: [demo.adminKey()] })

const app = fexpress.default(feathers())

// Transport middleware, before express.json(): verifies signed requests and puts the result into
// params.hmac (unsigned ones pass without it; requireHmac() below refuses them per service).
// The key-control service has its own guard, so client keys are unknown there.
const clientTransport = hmacExpress(guard)
const adminTransport = hmacExpress(adminGuard)
// Routed on the path as Feathers will see it (it ignores repeated and trailing slashes), so
// `//admin/keys/x` cannot reach the key-control service through the client guard.
const isAdminPath = (path) => /^\/admin(\/|$)/i.test(path.replace(/\/{2,}/g, '/'))
// Webhook receivers, one per provider preset, first: each reads and verifies its delivery and
// hands it to the service on its path as params.webhook (the transports below leave it alone).
for (const preset of demo.PRESETS) app.use(`/hooks/${preset}`, webhookExpress(preset, { secrets: [demo.webhookSecret(preset)] }))
app.use((req, res, next) => (req.webhook ? next() : (isAdminPath(req.path) ? adminTransport : clientTransport)(req, res, next)))
app.use(fexpress.json())
app.configure(fexpress.rest())

class Orders {
  constructor(endpoint) {
    this.endpoint = endpoint
  }

  // params.hmac is the verified result: the identity is the key's subject, never client data.
  async create(data, params) {
    return demo.accepted('feathers', this.endpoint, params.hmac, data)
  }
}
app.use('orders', new Orders('/orders'))
app.use('refunds', new Orders('/refunds'))
for (const name of ['orders', 'refunds']) app.service(name).hooks({ before: { all: [requireHmac()] } })

// The webhook services: only a delivery the receiver verified reaches create() (a path the
// receiver did not match, such as //hooks/stripe, has no params.webhook and is refused).
class Hook {
  async create(_data, params) {
    if (!params.webhook) throw new errors.NotAuthenticated('not a verified webhook delivery', { code: 'ERR_MISSING_SIGNATURE' })
    return demo.delivered('feathers', params.webhook)
  }
}
const answer200 = (context) => {
  context.http = { ...context.http, status: 200 } // a handled delivery is 200, not create's 201
}
for (const preset of demo.PRESETS) {
  app.use(`hooks/${preset}`, new Hook())
  app.service(`hooks/${preset}`).hooks({ after: { create: [answer200] } })
}

// Key rotation at runtime, DEMO ONLY.
const control = (method, id, params) => {
  const { status, body } = demo.controlKeys(guard, params.hmac, method, String(id))
  if (status === 200) return body
  if (status === 404) throw new errors.NotFound(body.error.message)
  throw new errors.Forbidden(body.error.message)
}
app.use('admin/keys', {
  async update(id, _data, params) {
    return control('PUT', id, params)
  },
  async remove(id, params) {
    return control('DELETE', id, params)
  },
})
app.service('admin/keys').hooks({ before: { all: [requireHmac({ subjects: [demo.adminKey().subject] })] } })

app.use('health', {
  async find() {
    return demo.health('feathers', guard)
  },
})

app.use(fexpress.errorHandler({ logger: false }))

const server = http.createServer(app)
app.setup(server).then(
  () => demo.listen('feathers', server, port, guard),
  (e) => {
    console.error(`feathers demo server: ${e.message}`)
    process.exit(1)
  },
)

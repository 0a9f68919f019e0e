#!/usr/bin/env node
'use strict'

// Express 5 demo server protected by hmac-guard (in-memory replay store; HMAC_GUARD_REDIS_URL
// switches it to Redis). DEMO ONLY: its keys are the public ones in demo/keys.json.
//
//   node demo/servers/express.js [--port 3000]
//
//   POST /orders, POST /refunds   signed with a client key -> 201 {key_id, subject, body}
//   PUT|DELETE /admin/keys/:id    signed with the admin key: load/remove a client key (rotation)
//   POST /hooks/<preset>          a webhook delivery of standard-webhooks, svix, stripe, github, slack
//                                 or shopify -> 200 {provider, id, type, secret_id, handled}
//   GET /health                   unsigned

const http = require('node:http')
const demo = require('./common.js')

const express = demo.requireFromBinding('express')
const { Guard, expressMiddleware, expressWebhook } = demo.hmacGuard()

const port = demo.portArg(3000)
const guard = new Guard({ keys: demo.startKeys() }) // HMAC_GUARD_REDIS_URL, when set, picks Redis
const adminGuard = new Guard({ keys: [demo.adminKey()] })

const app = express()
app.get('/health', (req, res) => res.json(demo.health('express', guard)))

// Mounted before any body parser: the body streams through the verifier, then req.body is the
// verified, parsed JSON and req.hmac the verified identity.
const verified = expressMiddleware(guard)
for (const endpoint of ['/orders', '/refunds']) {
  app.post(endpoint, verified, (req, res) => {
    res.status(201).json(demo.accepted('express', endpoint, req.hmac, req.body))
  })
}

// Webhook receivers, one per provider preset: the body is verified as received (raw bytes), a
// copy of a handled delivery is answered 200 ERR_DUPLICATE_DELIVERY without running the handler.
for (const preset of demo.PRESETS) {
  app.post(`/hooks/${preset}`, expressWebhook(preset, { secrets: [demo.webhookSecret(preset)] }), (req, res) => {
    res.json(demo.delivered('express', req.webhook))
  })
}

// Key rotation at runtime, DEMO ONLY: a separate guard with the admin key only.
app.all('/admin/keys/:id', expressMiddleware(adminGuard), (req, res) => {
  const { status, body } = demo.controlKeys(guard, req.hmac, req.method, req.params.id)
  res.status(status).json(body)
})

demo.listen('express', http.createServer(app), port, guard)

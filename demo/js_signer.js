#!/usr/bin/env node
'use strict'

// The JS side of demo/run.py: signs requests with the Node binding's Signer and explains them
// with its Guard.explain(). One JSON request per stdin line, one JSON answer per stdout line:
//   {"op": "sign", "keyId", "method", "target", "headers": [[name, value]...], "body": base64, "created"?}
//     -> {"headers": [[name, value]...]}
//   {"op": "explain", "keys": [keyId...], "method", "target", "headers", "body"}
//     -> {"text": "..."}   (what a server holding those keys computes; never a secret)
//   {"op": "webhook", "preset", "body": base64, "id"?}
//     -> {"headers": [[name, value]...]}   (signWebhook with the preset's demo secret)
// Errors: {"error": "..."}. Exits when stdin closes (so it never outlives run.py). DEMO ONLY.

const readline = require('node:readline')
const demo = require('./servers/common.js')

const { Guard, Signer, signWebhook } = demo.hmacGuard()
const signers = new Map()

function signer(id) {
  if (!signers.has(id)) {
    const key = demo.anyKey(id)
    if (!key) throw new Error(`no demo key ${id}`)
    signers.set(id, new Signer({ id: key.id, secret: key.secret }))
  }
  return signers.get(id)
}

function handle(msg) {
  const req = { method: msg.method, url: msg.target, headers: msg.headers, body: Buffer.from(msg.body || '', 'base64') }
  if (msg.op === 'sign') {
    const headers = signer(msg.keyId).sign(req, msg.created === undefined ? {} : { created: msg.created })
    return { headers: Object.entries(headers) }
  }
  if (msg.op === 'explain') {
    const guard = new Guard({ keys: msg.keys.map((id) => demo.anyKey(id)).map((k) => ({ id: k.id, secret: k.secret, subject: k.subject })), redisUrl: '' })
    return { text: guard.explain(req).text }
  }
  if (msg.op === 'webhook') {
    const secret = demo.webhookSecret(msg.preset)
    if (!secret) throw new Error(`no demo secret for the webhook preset ${msg.preset}`)
    const { headers } = signWebhook(msg.preset, { secret, body: Buffer.from(msg.body, 'base64'), id: msg.id })
    return { headers: Object.entries(headers) }
  }
  throw new Error(`unknown op ${msg.op}`)
}

const rl = readline.createInterface({ input: process.stdin })
rl.on('line', (line) => {
  let answer
  try {
    answer = handle(JSON.parse(line))
  } catch (e) {
    answer = { error: String((e && e.message) || e) }
  }
  process.stdout.write(JSON.stringify(answer) + '\n')
})
rl.on('close', () => process.exit(0))

'use strict'

// Shared by the webhook receiver tests: each preset's secrets and deliveries (signed with
// signWebhook, now), a handler whose behaviour each test picks per delivery id, and a raw request.

const crypto = require('node:crypto')
const { signWebhook } = require('..')
const { rawHead } = require('./raw.js')

const PRESETS = ['standard-webhooks', 'svix', 'stripe', 'github', 'slack', 'shopify']

/** Two secrets per preset, as each provider's dashboard shows them. */
const SECRETS = {
  'standard-webhooks': ['whsec_' + Buffer.alloc(32, 1).toString('base64'), 'whsec_' + Buffer.alloc(24, 2).toString('base64')],
  svix: ['whsec_' + Buffer.alloc(32, 3).toString('base64'), 'whsec_' + Buffer.alloc(24, 4).toString('base64')],
  stripe: ['whsec_stripe-secret-number-zero-0000', 'whsec_stripe-secret-number-one-11111'],
  github: ['github-secret-zero', 'github-secret-one'],
  slack: ['8f742231b10e8888abcd99yyyzzz85a5-zero', '8f742231b10e8888abcd99yyyzzz85a5-one!'],
  shopify: ['shpss_shopify-secret-zero-0000000000', 'shpss_shopify-secret-one-11111111111'],
}

/** The event type each preset's deliveries carry. */
const TYPES = {
  'standard-webhooks': 'invoice.paid',
  svix: 'invoice.paid',
  stripe: 'payment_intent.succeeded',
  github: 'issues',
  slack: 'message',
  shopify: 'orders/create',
}

let counter = 0
/** A fresh delivery id. */
const newId = (preset) => `${preset === 'stripe' ? 'evt' : preset === 'slack' ? 'Ev' : 'msg'}_${process.pid}_${++counter}_${crypto.randomBytes(4).toString('hex')}`

/** The JSON body a provider would send for delivery `id`. */
function bodyFor(preset, id) {
  const doc = {
    'standard-webhooks': { type: TYPES[preset], data: { n: id } },
    svix: { type: TYPES[preset], data: { n: id } },
    stripe: { id, object: 'event', type: TYPES[preset] },
    github: { action: 'opened', n: id, emoji: '🎉' },
    slack: { type: 'event_callback', event_id: id, event: { type: TYPES[preset] } },
    shopify: { n: id, total: '10.00' },
  }[preset]
  return Buffer.from(JSON.stringify(doc))
}

/**
 * A signed delivery: `{ id, body, headers }` (headers a plain object, lowercase names), signed with
 * `secrets[secretIndex]` (default 0), now. `body` (bytes) replaces the JSON body.
 */
function delivery(preset, { id = newId(preset), body, secretIndex = 0 } = {}) {
  const b = body ?? bodyFor(preset, id)
  const s = signWebhook(preset, { secret: SECRETS[preset][secretIndex], body: b, id })
  const headers = { 'content-type': 'application/json', ...s.headers }
  if (preset === 'github') Object.assign(headers, { 'x-github-delivery': id, 'x-github-event': TYPES.github })
  if (preset === 'shopify') Object.assign(headers, { 'x-shopify-webhook-id': id, 'x-shopify-topic': TYPES.shopify })
  return { id, body: b, headers }
}

/** The signature header of a preset (lowercase). */
function signatureHeader(preset) {
  return { 'standard-webhooks': 'webhook-signature', svix: 'svix-signature', stripe: 'stripe-signature', github: 'x-hub-signature-256', slack: 'x-slack-signature', shopify: 'x-shopify-hmac-sha256' }[preset]
}

/** send() options for a delivery. */
function post(d, path = '/hooks') {
  return { method: 'POST', path, headers: { ...d.headers, 'content-length': String(d.body.length) }, body: d.body }
}

/** A delivery as a raw request head (plus extra header lines). */
function rawDelivery(d, { path = '/hooks', drop = [], add = [], length = d.body.length } = {}) {
  const pairs = Object.entries(d.headers).filter(([n]) => !drop.includes(n))
  return rawHead('POST', path, [['host', '127.0.0.1'], ...pairs, ...(length === null ? [] : [['content-length', String(length)]]), ...add])
}

/**
 * What the handlers do, per delivery id: `'ok'` (default: 200 with a summary), `'fail'` (500),
 * `'throw'` (a rejected promise), or a function `(webhook) => Promise` awaited before answering 200.
 * `calls` counts the handler's runs per id; `seen` keeps the last `webhook` per id.
 */
class Plan {
  constructor() {
    this.modes = new Map()
    this.calls = new Map()
    this.seen = new Map()
  }

  set(id, mode) {
    this.modes.set(id, mode)
  }

  count(id) {
    return this.calls.get(id) || 0
  }

  /** Runs the planned behaviour; resolves the status and JSON to answer with, or rejects. */
  async run(webhook) {
    this.calls.set(webhook.id, this.count(webhook.id) + 1)
    this.seen.set(webhook.id, webhook)
    const mode = this.modes.get(webhook.id) || 'ok'
    if (mode === 'fail') return { status: 500, json: { failed: true } }
    if (mode === 'throw') throw new Error('the handler failed')
    if (typeof mode === 'function') await mode(webhook)
    return { status: 200, json: { received: webhook.id, type: webhook.type, secretId: webhook.secretId } }
  }
}

/** A promise with its resolve function: a handler blocked until the test says so. */
function gate() {
  let open
  const p = new Promise((r) => {
    open = r
  })
  return { wait: () => p, open }
}

module.exports = { PRESETS, SECRETS, TYPES, newId, bodyFor, delivery, signatureHeader, post, rawDelivery, Plan, gate }

'use strict'

// Shared by the webhook receiver tests: each preset's secrets and deliveries (signed with
// signWebhook, now), a handler whose behaviour each test picks per delivery id, and a raw request.

const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const { Guard, ManualClock, HmacGuardError, signWebhook } = require('..')
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

/** A header's value in a case (names in any case), or undefined. */
function header(c, name) {
  const found = c.headers.find(([n]) => n.toLowerCase() === name)
  return found && found[1]
}

/** The timestamp and id the case's delivery was signed with, read back from its headers. */
function signedWith(c) {
  const p = c.preset
  if (p === 'standard-webhooks') return { timestamp: Number(header(c, 'webhook-timestamp')), id: header(c, 'webhook-id') }
  if (p === 'svix') return { timestamp: Number(header(c, 'svix-timestamp')), id: header(c, 'svix-id') }
  if (p === 'stripe') return { timestamp: Number(/(?:^|,)t=(\d+)/.exec(header(c, 'stripe-signature'))[1]) }
  if (p === 'slack') return { timestamp: Number(header(c, 'x-slack-request-timestamp')) }
  return {}
}


/**
 * One case of tests/vectors/webhooks.json through the public API: a Guard built for its preset
 * (`scheme`, `secrets`, a ManualClock at `now`) verifies it or refuses it with the expected code;
 * an ok case names the matching secret, its id and type, is a duplicate once committed, and the
 * bytes signWebhook() says the MAC covers equal `signed_b64` (what signWebhook signs verifies).
 */
function runWebhookCase(c) {
  const guard = new Guard({ scheme: c.preset, secrets: c.secrets, clock: new ManualClock(c.now) })
  const body = Buffer.from(c.body_b64, 'base64')
  const req = { method: 'POST', url: '/hooks', headers: c.headers, body }
  if (c.expect.error) {
    assert.throws(
      () => guard.verify(req),
      (e) => e instanceof HmacGuardError && e.code === c.expect.error,
      `${c.name}: expected ${c.expect.error}`,
    )
    return
  }
  let v
  try {
    v = guard.verify(req)
  } catch (e) {
    assert.fail(`${c.name}: ${e.code} ${e.reason}`)
  }
  assert.equal(v.scheme, c.preset)
  assert.equal(v.keyId, `secret-${c.expect.secret_index}`, 'the matching secret')
  assert.equal(v.webhook.provider, c.preset)
  assert.equal(v.webhook.id, c.expect.id, 'delivery id')
  assert.equal(v.webhook.type, c.expect.type, 'event type')
  assert.equal(v.bodyLength, body.length)
  assert.ok(v.replayTicket, 'a webhook delivery is reserved')
  v.replayTicket.commit()
  // The same delivery again: processed, so a duplicate (200), never a second run.
  assert.throws(() => guard.verify(req), (e) => e.code === 'ERR_DUPLICATE_DELIVERY' && e.status === 200)
  // signWebhook covers the same bytes, and what it signs verifies on a fresh guard.
  const secret = c.secrets[c.expect.secret_index]
  const s = signWebhook(c.preset, { secret, body, ...signedWith(c) })
  assert.ok(Buffer.isBuffer(s.signed))
  assert.equal(s.signed.toString('base64'), c.signed_b64, 'signWebhook(...).signed vs. signed_b64')
  const extra = c.headers.filter(([n]) => !Object.keys(s.headers).includes(n.toLowerCase()))
  const fresh = new Guard({ scheme: c.preset, secrets: [secret], clock: new ManualClock(c.now) })
  const again = fresh.verify({ method: 'POST', url: '/hooks', headers: [...extra, ...Object.entries(s.headers)], body })
  assert.equal(again.webhook.id, c.expect.id)
  again.replayTicket.release()
}

module.exports = { runWebhookCase, PRESETS, SECRETS, TYPES, newId, bodyFor, delivery, signatureHeader, post, rawDelivery, Plan, gate }

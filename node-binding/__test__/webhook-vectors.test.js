'use strict'

// tests/vectors/webhooks.json through the public API: each case verified by a Guard built for its
// preset (`scheme`, `secrets`, a ManualClock at `now`), the delivery's id and type, the matching
// secret's id; and for ok cases the bytes signWebhook() says the MAC covers equal `signed_b64`.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { Guard, ManualClock, HmacGuardError, signWebhook } = require('..')

const FILE = path.join(__dirname, '..', '..', 'tests', 'vectors', 'webhooks.json')
const VECTORS = JSON.parse(fs.readFileSync(FILE, 'utf8'))

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

test('the webhook vectors file is there and covers every preset', () => {
  assert.equal(VECTORS.kind, 'webhook')
  const presets = new Set(VECTORS.cases.map((c) => c.preset))
  assert.deepEqual([...presets].sort(), ['github', 'shopify', 'slack', 'standard-webhooks', 'stripe', 'svix'])
  assert.ok(VECTORS.cases.length >= 50, `${VECTORS.cases.length} cases`)
})

for (const c of VECTORS.cases) {
  test(`webhook vector ${c.name}`, () => {
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
  })
}

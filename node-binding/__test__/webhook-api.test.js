'use strict'

// The webhook API without a server: signWebhook round trips through a Guard for every preset
// (one secret, several, a rotation), rotateSecrets (the old secret refused after it, the new one
// accepted), the core's refusal answers (duplicate 200, in flight 409 + Retry-After), and no
// error, inspection, event or log line showing a secret.

const test = require('node:test')
const assert = require('node:assert/strict')
const util = require('node:util')
const { Guard, ManualClock, HmacGuardError, signWebhook, expressWebhook } = require('..')
const { refusal } = require('../lib/core.js')
const { PRESETS, SECRETS, bodyFor } = require('./webhook-support.js')

const NOW = 1_700_000_000

function guardFor(preset, secrets = SECRETS[preset], extra = {}) {
  return new Guard({ scheme: preset, secrets, clock: new ManualClock(NOW), logger: false, ...extra })
}

const req = (headers, body) => ({ method: 'POST', url: '/hooks', headers, body })

for (const preset of PRESETS) {
  test(`signWebhook round trip: ${preset}`, () => {
    const body = bodyFor(preset, `evt_${preset}_1`)
    const s = signWebhook(preset, { secret: SECRETS[preset][1], body, timestamp: NOW, id: 'msg_round_trip' })
    assert.ok(Buffer.isBuffer(s.signed) && s.signed.includes(body), 'signed covers the body')
    assert.ok(Object.keys(s.headers).length >= 1)
    const g = guardFor(preset)
    const v = g.verify(req(s.headers, body))
    assert.equal(v.keyId, 'secret-1')
    assert.equal(v.webhook.provider, preset)
    assert.equal(v.webhook.json, true)
    assert.ok(['signed-id', 'body-id', 'signature'].includes(v.webhook.dedupe))
    v.replayTicket.commit()
    assert.throws(() => g.verify(req(s.headers, body)), (e) => e instanceof HmacGuardError && e.code === 'ERR_DUPLICATE_DELIVERY' && e.status === 200)
    // Several secrets: Standard Webhooks and Stripe send one signature per secret, the others sign with the first.
    const both = signWebhook(preset, { secrets: SECRETS[preset], body: Buffer.from('not json \xff'), timestamp: NOW })
    const w = guardFor(preset, [SECRETS[preset][0]]).verify(req(both.headers, Buffer.from('not json \xff')))
    assert.equal(w.keyId, 'secret-0')
    assert.equal(w.webhook.json, false)
    w.replayTicket.release()
    // A string body is UTF-8 and the same as its bytes.
    assert.deepEqual(signWebhook(preset, { secret: SECRETS[preset][0], body: 'é', timestamp: NOW, id: 'x' }).signed, signWebhook(preset, { secret: SECRETS[preset][0], body: Buffer.from('é'), timestamp: NOW, id: 'x' }).signed)
  })

  test(`rotateSecrets: ${preset}`, () => {
    const g = guardFor(preset, [SECRETS[preset][0]])
    const body = bodyFor(preset, `evt_rot_${preset}`)
    const byOld = signWebhook(preset, { secret: SECRETS[preset][0], body, timestamp: NOW })
    const byNew = signWebhook(preset, { secret: SECRETS[preset][1], body, timestamp: NOW })
    assert.throws(() => g.verify(req(byNew.headers, body)), (e) => e.code === 'ERR_SIGNATURE_MISMATCH')
    g.rotateSecrets([SECRETS[preset][1]])
    assert.throws(() => g.verify(req(byOld.headers, body)), (e) => e.code === 'ERR_SIGNATURE_MISMATCH', 'the old secret is refused')
    const v = g.verify(req(byNew.headers, body))
    assert.equal(v.keyId, 'secret-0')
    v.replayTicket.release()
    // Both during a rotation; one string is a list of one.
    g.rotateSecrets([SECRETS[preset][1], SECRETS[preset][0]])
    assert.deepEqual(g.keyIds(), ['secret-0', 'secret-1'])
    g.rotateSecrets(SECRETS[preset][0])
    assert.deepEqual(g.keyIds(), ['secret-0'])
  })
}

test('signWebhook: arguments and the core\'s errors', () => {
  assert.throws(() => signWebhook(1, {}), TypeError)
  assert.throws(() => signWebhook('stripe'), TypeError)
  assert.throws(() => signWebhook('stripe', { secret: SECRETS.stripe[0], timestamp: 1.5 }), TypeError)
  assert.throws(() => signWebhook('stripe', { secret: SECRETS.stripe[0], body: 5 }), TypeError)
  assert.throws(() => signWebhook('nope', { secret: SECRETS.stripe[0] }), (e) => e.code === 'ERR_INVALID_CONFIG')
  assert.throws(() => signWebhook('stripe', {}), (e) => e.code === 'ERR_INVALID_CONFIG')
  assert.throws(() => signWebhook('stripe', { secrets: [] }), (e) => e.code === 'ERR_INVALID_CONFIG')
  assert.throws(() => signWebhook('slack', { secret: 'too-short' }), (e) => e.code === 'ERR_INVALID_CONFIG')
  // Without a timestamp: now, so a guard on the system clock accepts it.
  const body = bodyFor('slack', 'Ev_now')
  const s = signWebhook('slack', { secret: SECRETS.slack[0], body })
  const v = new Guard({ scheme: 'slack', secrets: SECRETS.slack, logger: false }).verify(req(s.headers, body))
  assert.equal(v.webhook.id, 'Ev_now')
  v.replayTicket.release()
})

test('rotateSecrets on a guard that is not a webhook preset is ERR_INVALID_CONFIG', () => {
  const g = new Guard({ keys: [{ id: 'k', secret: 'x'.repeat(32) }], logger: false })
  assert.throws(() => g.rotateSecrets(['whatever-whatever-whatever-whatever']), (e) => e.code === 'ERR_INVALID_CONFIG')
})

test("refusals are the core's: duplicate 200, in flight 409 with Retry-After = the reservation hold", () => {
  const g = guardFor('stripe', SECRETS.stripe, { policy: { reserveHoldSecs: 17 } })
  const dup = refusal(g, new HmacGuardError('ERR_DUPLICATE_DELIVERY', 'r'), true, true)
  assert.equal(dup.status, 200)
  assert.equal(JSON.parse(dup.body).error.code, 'ERR_DUPLICATE_DELIVERY')
  assert.equal(dup.retryAfter ?? null, null)
  const busy = refusal(g, new HmacGuardError('ERR_DELIVERY_IN_PROGRESS', 'r'), true, true)
  assert.equal(busy.status, 409)
  assert.equal(busy.retryAfter, 17)
  const big = refusal(g, new HmacGuardError('ERR_BODY_TOO_LARGE', 'r'), true, false)
  assert.equal(big.status, 413)
  assert.equal(big.close, true)
  assert.equal(refusal(g, new Error('not ours'), true, true), undefined)
})

test('no secret in errors, inspections, settings, events or log lines', () => {
  const all = PRESETS.flatMap((p) => SECRETS[p])
  const leaks = (text, where) => {
    const s = String(text)
    for (const secret of all) {
      for (const form of [secret, Buffer.from(secret).toString('hex'), Buffer.from(secret).toString('base64'), secret.replace(/^whsec_/, '')]) {
        assert.ok(!s.includes(form), `a secret shows in ${where}`)
      }
    }
  }
  const lines = []
  const events = []
  const logger = { info: (...a) => lines.push(a), warn: (...a) => lines.push(a), debug: (...a) => lines.push(a) }
  for (const preset of PRESETS) {
    const g = new Guard({ scheme: preset, secrets: SECRETS[preset], clock: new ManualClock(NOW), logger, onEvent: (e) => events.push(e), reportAccepted: true })
    leaks(util.inspect(g, { showHidden: true, depth: 5 }), `${preset} guard inspect`)
    leaks(JSON.stringify(g.settings), `${preset} settings`)
    leaks(JSON.stringify(g.stats()), `${preset} stats`)
    const receiver = expressWebhook(g)
    leaks(util.inspect(receiver, { depth: 5 }), `${preset} receiver inspect`)
    const body = bodyFor(preset, `evt_leak_${preset}`)
    const s = signWebhook(preset, { secrets: SECRETS[preset], body, timestamp: NOW })
    leaks(util.inspect(s, { depth: 5 }), `${preset} signWebhook result`)
    const v = g.verify(req(s.headers, body))
    leaks(util.inspect(v, { depth: 5 }), `${preset} Verified`)
    v.replayTicket.release()
    const errors = []
    const tampered = Buffer.concat([body, Buffer.from(' ')])
    for (const attempt of [
      () => g.verify(req(s.headers, tampered)),
      () => g.rotateSecrets([SECRETS[preset][0].slice(0, 7)]),
      () => g.rotateSecrets([SECRETS[preset][0], 5]),
      () => new Guard({ scheme: preset, secrets: [SECRETS[preset][0].slice(0, 7)] }),
      () => new Guard({ scheme: preset, secrets: SECRETS[preset], keys: [{ id: 'k', secret: SECRETS[preset][0] }] }),
      () => signWebhook(preset, { secret: SECRETS[preset][0].slice(0, 7), body }),
      () => g.explain(req(s.headers, tampered)),
    ]) {
      try {
        const out = attempt()
        if (out) leaks(util.inspect(out, { depth: 8 }), `${preset} explain`)
      } catch (e) {
        errors.push(e)
      }
    }
    assert.ok(errors.length >= 5, `${preset}: the refusals threw`)
    for (const e of errors) {
      for (const text of [e.message, e.reason, e.stack, util.inspect(e, { showHidden: true, depth: 5 }), JSON.stringify(e)]) leaks(text, `${preset} error ${e.code}`)
    }
  }
  return new Promise((r) => setTimeout(r, 100)).then(() => {
    assert.ok(events.length > 0, 'events were reported')
    leaks(util.inspect(events, { depth: 8 }), 'events')
    leaks(util.inspect(lines, { depth: 8 }), 'log lines')
  })
})

test('a receiver refuses a guard of signed requests (the core decides)', () => {
  const signedRequests = new Guard({ keys: [{ id: 'k', secret: 'k'.repeat(32) }], logger: false })
  for (const make of [expressWebhook, require('..').koaWebhook]) {
    assert.throws(
      () => make(signedRequests),
      (e) => e instanceof HmacGuardError && e.code === 'ERR_INVALID_CONFIG' && /webhook preset/.test(e.reason),
    )
  }
  assert.equal(guardFor('github').webhookPreset(), 'github')
})

'use strict'

// The shared observability cases (tests/observe/events.json, format in tests/observe/README.md):
// the event the hook receives for each scripted request and the stats at the end, the same as the
// core's runner (core/tests/observe_events.rs) and the Python binding's. Names in camelCase.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { Guard, ManualClock, Signer, configFields, until } = require('./helpers.js')

const doc = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'tests', 'observe', 'events.json'), 'utf8'))
const SPELLED = new Map(configFields().map((f) => [f.id, f.name]))

/** `key_id` -> `keyId`; other names (`ERR_REPLAY`, key ids) as they are. */
const camel = (name) => (/^[a-z]+(_[a-z]+)+$/.test(name) ? name.replace(/_([a-z])/g, (_, c) => c.toUpperCase()) : name)

function camelDeep(v) {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return v
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [camel(k), camelDeep(x)]))
}

/** The case's canonical options spelled for Node (`observe.log_rate` -> `logRate`). */
function options(canonical, secret) {
  const out = {}
  for (const [id, v] of Object.entries(canonical)) {
    const given = id === 'keys' ? v.map((k) => Object.fromEntries(Object.entries(k).map(([f, x]) => [SPELLED.get(`key.${f}`), x === '$secret' ? secret : x]))) : v
    const name = SPELLED.get(id)
    assert.ok(name, `unknown canonical id ${id}`)
    const [group, inner] = name.split('.')
    if (inner === undefined) out[group] = given
    else (out[group] ??= {})[inner] = given
  }
  return out
}

/** The request a step sends, signed as the case file describes. */
function request(step, secret, now) {
  const nonce = step.nonce ?? 'nonce-unsigned'
  const body = Buffer.from('{}')
  const sign = (keyId, created, signedBody) => {
    const head = { method: 'POST', url: '/orders', scheme: 'https', headers: { host: 'example.com', 'content-type': 'application/json' } }
    const added = new Signer({ id: keyId, secret }).sign({ ...head, body: signedBody }, { created, nonce })
    return { ...head, headers: { ...head.headers, ...added }, body: signedBody }
  }
  switch (step.send) {
    case 'valid':
      return sign('k1', now, body)
    case 'tampered':
      return { ...sign('k1', now, body), body: Buffer.from('{!') }
    case 'unknown_key':
      return sign('stranger', now, body)
    case 'unsigned': {
      const r = sign('k1', now, body)
      const headers = Object.fromEntries(Object.entries(r.headers).filter(([n]) => n !== 'signature' && n !== 'signature-input'))
      return { ...r, headers }
    }
    case 'expired':
      return sign('k1', now - 1000, body)
    case 'too_large':
      return sign('k1', now, Buffer.alloc(1048577, 'a'))
    default:
      throw new Error(`unknown send ${step.send}`)
  }
}

test(`observability cases: tests/observe/events.json (${doc.steps.length} steps)`, async (t) => {
  const events = []
  const guard = new Guard({
    ...options(doc.options, doc.secret),
    clock: new ManualClock(doc.now),
    onEvent: (e) => events.push(e),
    logger: false,
  })
  for (const [i, step] of doc.steps.entries()) {
    await t.test(`${i}: ${step.send}`, async () => {
      try {
        guard.verify(request(step, doc.secret, doc.now))
      } catch {}
      await until(() => events.length > 0, `the event of step ${i}`)
      // Nothing more is on its way: one event per verification.
      await new Promise((r) => setImmediate(r))
      const got = events.splice(0)
      assert.equal(got.length, 1, JSON.stringify(got))
      const [event] = got
      for (const [k, want] of Object.entries(step.event)) assert.deepEqual(event[camel(k)], want, `${k} in ${JSON.stringify(event)}`)
      assert.match(event.message, /^hmac-guard: /)
      assert.equal(typeof event.durationMs, 'number')
      assert.equal(typeof event.scheme, 'string')
      assert.equal(typeof event.store, 'string')
      assert.ok(event.reason === null || typeof event.reason === 'string')
      assert.ok(!JSON.stringify(event).includes(doc.secret), 'the secret in an event')
    })
  }
  const stats = guard.stats()
  for (const [k, want] of Object.entries(camelDeep(doc.stats))) assert.deepEqual(stats[k], want, `stats ${k}: ${JSON.stringify(stats[k])}`)
})

'use strict'

// The configuration parity cases (tests/parity/config.json, format in tests/parity/README.md)
// through `new Guard(...)`: the same verdicts as the core's own runner (core/tests/parity.rs) and
// the Python binding's. Canonical ids are spelled for Node from the core's table, configFields().

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const util = require('node:util')
const { Guard, ManualClock, HmacGuardError, configFields } = require('./helpers.js')

const doc = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'tests', 'parity', 'config.json'), 'utf8'))
const SECRET = doc.secret
const SPELLED = new Map(configFields().map((f) => [f.id, f.name]))
// Every variable hmac-guard reads: unset for each case unless the case sets it.
const ENV_VARS = ['HMAC_GUARD_REDIS_URL', 'HMAC_GUARD_REDIS_TLS_CA_FILE']

function spelled(id) {
  const name = SPELLED.get(id)
  assert.ok(name, `unknown canonical id ${id}`)
  return name
}

/** A case's JSON value as a JS caller would write it (`$`-objects encode what JSON cannot say). */
function value(v) {
  if (typeof v === 'string') return v.replaceAll('$secret', SECRET)
  if (Array.isArray(v)) return v.map(value)
  if (v === null || typeof v !== 'object') return v
  switch (v.$) {
    case undefined:
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, value(x)]))
    case 'infinity':
      return Infinity
    case 'nan':
      return NaN
    case 'int':
      return Number(v.value)
    case 'lone-surrogate':
      return '\ud800'
    case 'bytes':
      return Buffer.from(v.hex, 'hex')
    case 'clock':
      return new ManualClock(v.at)
    case 'function':
      return () => {}
    case 'logger':
      return { debug() {}, info() {}, warn() {}, error() {} }
    default:
      throw new Error(`unknown encoding ${v.$}`)
  }
}

/** Canonical options (`policy.max_age_secs`, keys with canonical field names) spelled for Node. */
function spelledOptions(options) {
  const out = {}
  for (const [id, v] of Object.entries(options)) {
    const given = id === 'keys' && Array.isArray(v) ? v.map(spelledKey) : value(v)
    const [group, inner] = spelled(id).split('.')
    if (inner === undefined) out[group] = given
    else (out[group] ??= {})[inner] = given
  }
  return out
}

function spelledKey(key) {
  if (key === null || typeof key !== 'object' || Array.isArray(key)) return value(key)
  return Object.fromEntries(Object.entries(key).map(([k, v]) => [spelled(`key.${k}`), value(v)]))
}

/** A case's field path (`keys[0].not_after`, `policy.body_limit`) as Node writes it. */
function spelledPath(p) {
  const at = p.indexOf('].')
  if (at >= 0) return `${p.slice(0, at + 2)}${spelled(`key.${p.slice(at + 2)}`)}`
  return p.startsWith('keys[') ? p : spelled(p)
}

/** Runs `fn` with exactly the case's hmac-guard variables set, then restores the environment. */
function withEnv(vars, fn) {
  const saved = Object.fromEntries(ENV_VARS.map((k) => [k, process.env[k]]))
  const set = (k, v) => (v === undefined ? delete process.env[k] : (process.env[k] = v))
  try {
    for (const k of ENV_VARS) set(k, vars[k])
    return fn()
  } finally {
    for (const k of ENV_VARS) set(k, saved[k])
  }
}

function assertNoSecret(text, where) {
  assert.ok(!String(text).includes(SECRET), `the secret leaked into ${where}: ${text}`)
}

let ran = 0

test(`configuration parity: tests/parity/config.json (${doc.cases.length} cases)`, async (t) => {
  for (const c of doc.cases) {
    await t.test(c.name, () => {
      const options = c.raw ? value(c.raw.node) : spelledOptions(c.options)
      const mentions = c.error !== undefined ? [spelledPath(c.error)] : c.error_mentions ? c.error_mentions.node : []
      let guard
      let error
      withEnv(c.env || {}, () => {
        try {
          guard = new Guard(options)
        } catch (e) {
          error = e
        }
      })
      if (mentions.length === 0) {
        assert.equal(error, undefined, `refused (${error && error.reason}), expected success`)
        const settings = guard.settings
        for (const [k, want] of Object.entries(c.settings)) assert.deepEqual(settings[k], want, `setting ${k}`)
        assertNoSecret(util.inspect(guard, { showHidden: true, depth: 5 }), 'util.inspect(guard)')
        assertNoSecret(JSON.stringify(settings), 'guard.settings')
      } else {
        assert.ok(error, `accepted, expected an error naming ${mentions.join(', ')}`)
        assert.ok(error instanceof HmacGuardError, `not an HmacGuardError: ${util.inspect(error)}`)
        assert.equal(error.code, 'ERR_INVALID_CONFIG')
        for (const m of mentions) assert.ok(error.reason.includes(m), `${JSON.stringify(error.reason)} does not name ${m}`)
        for (const [where, text] of [['reason', error.reason], ['message', error.message], ['inspect', util.inspect(error, { showHidden: true })], ['String', String(error)], ['stack', error.stack]]) {
          assertNoSecret(text, where)
        }
      }
      ran++
    })
  }
})

test('every parity case ran', () => {
  assert.equal(ran, doc.cases.length)
  assert.ok(ran >= 90, `only ${ran} parity cases ran`)
})

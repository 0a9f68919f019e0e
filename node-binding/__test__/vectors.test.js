'use strict'

// The shared vectors (tests/vectors/*.json) through the public JS API.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { Guard, Signer, ManualClock, HmacGuardError, configFields, native } = require('./helpers.js')
const { runWebhookCase } = require('./webhook-support.js')

const dir = path.join(__dirname, '..', '..', 'tests', 'vectors')
const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort() : []

// Vector option names are canonical ids (policy options without their `policy.` prefix, the
// memory store's as `store_*`); the core's own table spells them for Node.
const SPELLED = new Map(configFields().map((f) => [f.id, f.name]))
const VECTOR_IDS = { store_capacity: 'replay_store.capacity', store_per_key_quota: 'replay_store.per_key_quota' }

function spelled(id) {
  const name = SPELLED.get(id)
  assert.ok(name, `no Node spelling for ${id}`)
  return name
}

/** Sets `value` at a dotted path (`policy.maxAgeSecs`) of `into`. */
function put(into, path, value) {
  const [group, inner] = path.split('.')
  if (inner === undefined) into[group] = value
  else (into[group] ??= {})[inner] = value
}

function keyOf(k) {
  const key = { [spelled('key.id')]: k.id, [spelled('key.secret')]: Buffer.from(k.secret_b64, 'base64') }
  for (const f of ['algorithm', 'subject', 'not_before', 'not_after']) if (k[f] != null) key[spelled(`key.${f}`)] = k[f]
  return key
}

function guardOf(c) {
  const options = { scheme: c.scheme, keys: (c.keys || []).map(keyOf) }
  for (const [name, value] of Object.entries(c.policy || {})) put(options, spelled(VECTOR_IDS[name] || `policy.${name}`), value)
  if (c.now !== undefined) options.clock = new ManualClock(c.now)
  return new Guard(options)
}

function reqOf(r) {
  return {
    method: r.method,
    url: r.target,
    scheme: r.scheme,
    headers: r.headers,
    body: Buffer.from(r.body_b64 || '', 'base64'),
  }
}

function verifyOnce(guard, r, chunkSize) {
  if (!chunkSize) return guard.verify(r)
  const v = guard.begin(r)
  for (let i = 0; i < r.body.length; i += chunkSize) v.update(r.body.subarray(i, i + chunkSize))
  return v.finish()
}

function runRequestCase(c) {
  let guard
  try {
    guard = guardOf(c)
  } catch (e) {
    assert.ok(e instanceof HmacGuardError, `${c.name}: guard construction threw ${e}`)
    assert.equal(e.code, c.expect.error, `${c.name}: construction error`)
    return
  }
  const r = reqOf(c.request)
  if (c.expect.signature_base !== undefined) {
    const ex = guard.explain(r)
    assert.equal(ex.signatureBase, c.expect.signature_base, `${c.name}: explain signature base`)
  }
  for (const b of c.before || []) verifyOnce(guard, reqOf(b), 0)
  const attempts = c.attempts || 1
  let result
  let error
  for (let i = 0; i < attempts; i++) {
    result = undefined
    error = undefined
    try {
      result = verifyOnce(guard, r, c.chunk_size)
    } catch (e) {
      error = e
    }
  }
  if (c.expect.ok) {
    assert.equal(error, undefined, `${c.name}: expected success, got ${error && error.code} (${error && error.reason})`)
    if (c.expect.key_id !== undefined) assert.equal(result.keyId, c.expect.key_id, `${c.name}: key id`)
    if (c.expect.subject !== undefined) assert.equal(result.subject ?? null, c.expect.subject, `${c.name}: subject`)
    if (c.expect.nonce !== undefined) assert.equal(result.nonce ?? null, c.expect.nonce, `${c.name}: nonce`)
  } else {
    assert.ok(error, `${c.name}: expected ${c.expect.error}, got success`)
    assert.ok(error instanceof HmacGuardError, `${c.name}: not an HmacGuardError: ${error}`)
    assert.equal(error.code, c.expect.error, `${c.name}: error code (reason: ${error.reason})`)
  }
}

test('vector files are present', () => {
  assert.ok(files.length > 0, `no vectors in ${dir}`)
})

for (const file of files) {
  const doc = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'))
  test(`vectors ${file} (${doc.kind}, ${doc.cases.length} cases)`, async (t) => {
    for (const c of doc.cases) {
      await t.test(c.name, () => {
        if (doc.kind === 'request') runRequestCase(c)
        else if (doc.kind === 'hmac') {
          const key = { id: 'rfc4231', secret: Buffer.from(c.key_hex, 'hex'), algorithm: c.algorithm }
          if (c.error) {
            assert.throws(() => new Guard({ keys: [key] }), (e) => e instanceof HmacGuardError && e.code === c.error)
            assert.throws(() => new Signer(key), (e) => e instanceof HmacGuardError && e.code === c.error)
            const g = new Guard({})
            assert.throws(() => g.addKey(key), (e) => e instanceof HmacGuardError && e.code === c.error)
          } else {
            assert.equal(native.__macForTest(key, Buffer.from(c.data_hex, 'hex')), c.mac_hex)
            new Guard({ keys: [key] }).addKey({ ...key, id: 'again' })
          }
        } else if (doc.kind === 'content-digest') {
          const s = new Signer({ id: 'k', secret: Buffer.alloc(32, 1) })
          const h = s.sign(
            { method: 'POST', url: '/', headers: { host: 'example.com' }, body: Buffer.from(c.body_b64, 'base64') },
            { components: ['content-digest'], digest: c.algorithm },
          )
          assert.equal(h['content-digest'], c.header)
        } else if (doc.kind === 'webhook') {
          runWebhookCase(c)
        } else {
          assert.fail(`unknown vector kind ${doc.kind}`)
        }
      })
    }
  })
}

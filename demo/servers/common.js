'use strict'

// Shared by the Node demo servers (express.js, feathers.js) and demo/js_signer.js: where the
// packages are, the demo keys, the key-control endpoint, the webhook answer, the command line.
// DEMO ONLY.

const fs = require('node:fs')
const path = require('node:path')
const { createRequire } = require('node:module')
const { parseArgs } = require('node:util')

const ROOT = path.resolve(__dirname, '..', '..')
const BINDING = path.join(ROOT, 'node-binding')
const KEYS_FILE = path.join(ROOT, 'demo', 'keys.json')

// The demo runs on what `node-binding/` installs for its own tests (express, @feathersjs/*) and
// on the addon built there (`make demo` does both), so it needs no npm install of its own.
const requireFromBinding = createRequire(path.join(BINDING, 'package.json'))

function hmacGuard() {
  try {
    return require(BINDING) // node-binding/index.js: what `require('hmac-guard')` gives
  } catch (e) {
    console.error(`cannot load hmac-guard from ${BINDING}: ${e.message}\nbuild it first: make demo (or bash node-binding/scripts/ci.sh --setup-only)`)
    process.exit(2)
  }
}

function hmacGuardFeathers() {
  return require(path.join(BINDING, 'feathers.js')) // require('hmac-guard/feathers')
}

const KEYS = JSON.parse(fs.readFileSync(KEYS_FILE, 'utf8'))

const toKey = (k) => ({ id: k.id, secret: k.secret, subject: k.subject })

/** The client keys every server starts with. */
function startKeys() {
  return KEYS.clients.filter((k) => k.loaded_at_start).map(toKey)
}

/** The key of the key-control endpoint (its own Guard: client keys cannot call it). */
function adminKey() {
  return toKey(KEYS.admin)
}

/** Any demo key by id (for the signer helper), or undefined. */
function anyKey(id) {
  return [...KEYS.clients, KEYS.admin, KEYS.stranger].find((k) => k.id === id)
}

/** `--port N` (default: the server's documented port). */
function portArg(defaultPort) {
  const { values } = parseArgs({ options: { port: { type: 'string', default: String(defaultPort) } } })
  const port = Number(values.port)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`--port: not a port number: ${values.port}`)
    process.exit(2)
  }
  return port
}

function health(server, guard) {
  return { ok: true, server, pid: process.pid, store: guard.store, keys: guard.keyIds(), instance: process.env.HMAC_GUARD_DEMO_INSTANCE || null }
}

/** What a protected endpoint answers: the verified identity and the verified, parsed body. */
function accepted(server, endpoint, verified, body) {
  return { server, endpoint, key_id: verified.keyId, subject: verified.subject ?? null, body }
}

/** The webhook presets: every server receives `POST /hooks/<preset>` with the preset's demo secret. */
const PRESETS = Object.keys(KEYS.webhook_secrets)

/** The demo secret of a webhook preset, as the provider's dashboard would show it. */
function webhookSecret(preset) {
  return KEYS.webhook_secrets[preset]
}

const handled = new Map() // preset -> handler runs in this process

/** What a webhook handler answers (200): the verified delivery and how often this handler ran. */
function delivered(server, webhook) {
  handled.set(webhook.provider, (handled.get(webhook.provider) ?? 0) + 1)
  const { provider, id, type, secretId } = webhook
  return { server, provider, id, type, secret_id: secretId, handled: handled.get(provider) }
}

/**
 * The key-control endpoint (DEMO ONLY): `PUT /admin/keys/:id` loads the client key `id` from
 * demo/keys.json into the running guard, `DELETE /admin/keys/:id` removes it. Only requests
 * verified by the admin guard reach it; secrets never travel over the wire.
 * Returns { status, body }.
 */
function controlKeys(guard, verified, method, id) {
  if (!verified || verified.keyId !== KEYS.admin.id) return { status: 403, body: { error: { code: 'DEMO_FORBIDDEN', message: 'admin key required' } } }
  const key = KEYS.clients.find((k) => k.id === id)
  if (!key) return { status: 404, body: { error: { code: 'DEMO_NO_SUCH_KEY', message: 'not a demo client key' } } }
  if (method === 'PUT') guard.addKey(toKey(key))
  else if (method === 'DELETE') {
    if (!guard.removeKey(id)) return { status: 404, body: { error: { code: 'DEMO_NO_SUCH_KEY', message: 'key not loaded' } } }
  } else return { status: 405, body: { error: { code: 'DEMO_METHOD', message: 'PUT or DELETE' } } }
  console.log(`demo key control: ${method} ${id} -> keys now ${guard.keyIds().join(', ')}`)
  return { status: 200, body: { keys: guard.keyIds() } }
}

/** Listens on 127.0.0.1 and exits cleanly on SIGTERM/SIGINT. */
function listen(name, server, port, guard) {
  server.listen(port, '127.0.0.1', () => {
    const { port: actual } = server.address()
    console.log(`${name} demo server on http://127.0.0.1:${actual} (replay store: ${guard.store}; keys: ${guard.keyIds().join(', ')})`)
  })
  server.on('error', (e) => {
    console.error(`${name} demo server: ${e.message}`)
    process.exit(1)
  })
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.on(signal, () => {
      if (server.closeAllConnections) server.closeAllConnections()
      server.close()
      process.exit(0)
    })
  }
}

module.exports = { ROOT, KEYS, PRESETS, requireFromBinding, hmacGuard, hmacGuardFeathers, startKeys, adminKey, anyKey, webhookSecret, portArg, health, accepted, delivered, controlKeys, listen }

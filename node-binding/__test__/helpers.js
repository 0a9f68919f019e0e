'use strict'

// Shared test helpers: keys, signing, loopback servers and a raw HTTP client.

const http = require('node:http')
const lib = require('..')
const core = require('../lib/core.js')

const SECRET = Buffer.from('0123456789abcdef0123456789abcdef-test-secret', 'utf8')
const OTHER_SECRET = Buffer.alloc(32, 0x5a)

function newGuard(extra = {}) {
  return new lib.Guard({
    keys: [
      { id: 'k1', secret: SECRET, subject: 'user:1' },
      { id: 'k2', secret: OTHER_SECRET, subject: 'user:2', algorithm: 'hmac-sha512' },
    ],
    ...extra,
  })
}

const signer = new lib.Signer({ id: 'k1', secret: SECRET })
const wrongSigner = new lib.Signer({ id: 'k1', secret: OTHER_SECRET })
const unknownSigner = new lib.Signer({ id: 'nobody', secret: SECRET })

/** Starts `server` on an ephemeral loopback port; resolves its base URL. */
function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${server.address().port}`))
  })
}

function close(server) {
  return new Promise((resolve) => {
    if (server.closeAllConnections) server.closeAllConnections()
    server.close(() => resolve())
  })
}

/**
 * Sends one request with http.request and collects the answer.
 * opts: {method, path, headers, body (Buffer|string), chunks (array, sent as chunked), agent}
 * Resolves {status, headers, body (string), json} or {error} when the connection failed.
 */
function send(base, opts) {
  return new Promise((resolve) => {
    const u = new URL(opts.path, base)
    const req = http.request(
      { host: u.hostname, port: u.port, path: u.pathname + u.search, method: opts.method || 'GET', headers: opts.headers || {}, agent: opts.agent ?? false },
      (res) => {
        const chunks = []
        res.on('data', (c) => chunks.push(c))
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8')
          let json
          try {
            json = JSON.parse(body)
          } catch {}
          resolve({ status: res.statusCode, headers: res.headers, body, json })
        })
        res.on('error', (error) => resolve({ error }))
      },
    )
    req.setTimeout(20000, () => req.destroy(new Error('client timeout')))
    req.on('error', (error) => resolve({ error }))
    if (opts.chunks) {
      for (const c of opts.chunks) req.write(c)
      req.end()
    } else {
      req.end(opts.body)
    }
  })
}

/** Signs a request for `base` (host header included) and returns send() options. */
/**
 * Sends a signed request's head and the first `sent` bytes of `body`, waits `lingerMs`, then
 * drops the connection without reading an answer: a client that went away mid-body.
 */
function abandonMidBody(base, s, body, sent, lingerMs) {
  const u = new URL(s.path, base)
  return new Promise((resolve) => {
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method: s.method, headers: s.headers, agent: false })
    req.on('error', () => {})
    req.write(body.subarray(0, sent), () =>
      setTimeout(() => {
        req.destroy()
        resolve()
      }, lingerMs),
    )
  })
}

function signed(base, { method = 'POST', path = '/echo', body, headers = {}, by = signer, sign = {}, scheme } = {}) {
  const u = new URL(path, base)
  const h = { host: u.host, ...headers }
  if (body !== undefined && h['content-type'] === undefined) h['content-type'] = 'application/json'
  const b = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body))
  const added = by.sign({ method, url: path, headers: h, body: b }, scheme ? { ...sign, scheme } : sign)
  return { method, path, headers: { ...h, ...added }, body: b }
}

/**
 * Resolves once `predicate()` holds, polling each 10 ms; rejects after `timeoutMs`. For what arrives
 * a moment after a response: a guard's events come through a threadsafe function.
 */
async function until(predicate, what, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

module.exports = { ...lib, native: core.native, translateForTest: core.translate, SECRET, OTHER_SECRET, newGuard, signer, wrongSigner, unknownSigner, listen, close, send, signed, abandonMidBody, until }

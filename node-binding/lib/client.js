'use strict'

// Client side: produce a signed request init for fetch / undici / http.request.

const { toBytes } = require('./core.js')

/**
 * Signs a request and returns `{ method, headers, body }` ready for `fetch(url, init)`,
 * `undici.request(url, init)` or `http.request(url, init)` (then `req.end(init.body)`).
 * `url` must be absolute (the signature covers its authority). `init.headers` may be a plain
 * object, a `Headers` or an array of pairs; the body must be a string, Buffer or Uint8Array.
 */
function signRequest(signer, url, init = {}, options = {}) {
  const method = String(init.method || 'GET').toUpperCase()
  const body = init.body == null ? undefined : toBytes(init.body)
  const headers = {}
  const src = init.headers
  if (src) {
    if (typeof src.forEach === 'function' && !Array.isArray(src)) src.forEach((v, k) => { headers[k.toLowerCase()] = v })
    else if (Array.isArray(src)) for (const [k, v] of src) headers[String(k).toLowerCase()] = String(v)
    else for (const k of Object.keys(src)) headers[k.toLowerCase()] = src[k]
  }
  const u = new URL(url)
  const forSigning = { ...headers, host: headers.host || u.host }
  const added = signer.sign({ method, url: u.href, scheme: u.protocol.replace(':', ''), headers: forSigning, body }, options)
  return { ...init, method, headers: { ...headers, ...added }, body }
}

module.exports = { signRequest }

'use strict'

// A request head packed for the addon (src/head.rs): method, target, URL scheme and every header
// name and value back to back in one string, plus their UTF-16 lengths. One string conversion
// instead of one per header, which is most of a call's cost. Also the body bytes.

const { argError, isObject } = require('./errors.js')

// Headers in any common shape -> the flat [name, value, ...] list.
// Accepted: Node's `rawHeaders` (flat array), an array of [name, value] pairs, a plain object
// (`req.headers`: values string or string[]), a fetch `Headers`, or a `Map`.
function flattenHeaders(headers) {
  if (headers == null) return []
  if (Array.isArray(headers)) {
    if (headers.length === 0) return headers
    if (Array.isArray(headers[0])) {
      const out = []
      for (const [n, v] of headers) out.push(String(n), String(v))
      return out
    }
    for (let i = 0; i < headers.length; i++) {
      if (typeof headers[i] !== 'string') return headers.map(String)
    }
    return headers
  }
  if (typeof headers !== 'object') throw argError('req.headers', 'an array, a plain object, a Headers or a Map', flattenHeaders)
  const out = []
  if (typeof headers.forEach === 'function' && typeof headers.get === 'function') {
    // Headers or Map. fetch's Headers joins repeats with ", " already (set-cookie aside).
    headers.forEach((v, n) => {
      if (Array.isArray(v)) for (const x of v) out.push(String(n), String(x))
      else out.push(String(n), String(v))
    })
    return out
  }
  for (const n of Object.keys(headers)) {
    const v = headers[n]
    if (v === undefined) continue
    if (Array.isArray(v)) for (const x of v) out.push(n, String(x))
    else out.push(n, String(v))
  }
  return out
}

// How the request reached the application, as the caller or the framework knows it: `req.scheme`
// when given, an absolute URL, Express's `req.protocol`, a Node request's TLS socket. Otherwise ''
// (unknown): the core takes its default (https), or, with `policy.trustProxy`, the proxy's
// Forwarded / X-Forwarded-Proto header (every header reaches the core).
function schemeOf(req) {
  const { scheme, url } = req
  if (scheme != null) {
    // Given: as is ('' says "unknown" outright).
    if (typeof scheme !== 'string') throw argError('req.scheme', 'a string', packHead)
    return scheme
  }
  if (/^https?:\/\//i.test(url)) return url.slice(0, url.indexOf(':')).toLowerCase()
  if (typeof req.protocol === 'string') return req.protocol
  if (isObject(req.socket)) return req.socket.encrypted ? 'https' : 'http'
  return ''
}

// The lengths go into one module-level buffer, reused by every call: callers pack the head last,
// right before the native call, and the addon reads the lengths before it returns (the async
// variants too: the head is split on this thread), so two heads never share it.
let lensBuf = new Uint32Array(64)

function growLens(lens, n, shared) {
  const next = new Uint32Array(Math.max(n, lens.length * 2))
  next.set(lens)
  if (shared) lensBuf = next
  return next
}

let packing = false

/** `[parts, lens, count]` for `req`; throws a TypeError for a request that is not one. */
function packHead(req) {
  if (!isObject(req)) throw argError('req', 'an object {method, url, headers?, body?}', packHead)
  if (typeof req.method !== 'string') throw argError('req.method', 'a string', packHead)
  if (typeof req.url !== 'string') throw argError('req.url', 'a string', packHead)
  // A String() conversion below may run user code; should that code pack another head, it gets
  // its own buffer instead of overwriting this one.
  if (packing) return packHeadInto(req, new Uint32Array(64), false)
  packing = true
  try {
    return packHeadInto(req, lensBuf, true)
  } finally {
    packing = false
  }
}

/** The array a synchronous result comes back in (`verified.js`): the shared one, unless a head is being packed. */
function resultIo() {
  return packing ? new Uint32Array(64) : lensBuf
}

function packHeadInto(req, lens, shared) {
  const method = req.method
  const url = req.url
  const scheme = schemeOf(req)
  lens[0] = method.length
  lens[1] = url.length
  lens[2] = scheme.length
  let parts = method + url + scheme
  let n = 3
  const headers = req.headers
  if (headers != null && typeof headers === 'object' && !Array.isArray(headers) && !(typeof headers.forEach === 'function' && typeof headers.get === 'function')) {
    // A plain object (`req.headers`): walked in place, no intermediate list (flattenHeaders order).
    for (const name of Object.keys(headers)) {
      const v = headers[name]
      if (v === undefined) continue
      if (Array.isArray(v)) {
        for (const x of v) {
          const s = String(x)
          if (n + 2 > lens.length) lens = growLens(lens, n + 2, shared)
          parts += name + s
          lens[n++] = name.length
          lens[n++] = s.length
        }
      } else {
        const s = typeof v === 'string' ? v : String(v)
        if (n + 2 > lens.length) lens = growLens(lens, n + 2, shared)
        parts += name + s
        lens[n++] = name.length
        lens[n++] = s.length
      }
    }
  } else {
    const flat = flattenHeaders(headers)
    if (n + flat.length > lens.length) lens = growLens(lens, n + flat.length, shared)
    for (let i = 0; i < flat.length; i++) {
      const h = flat[i]
      parts += h
      lens[n++] = h.length
    }
  }
  return [parts, lens, n]
}

/** Body bytes: a string as UTF-8, views and ArrayBuffers in place; `null`/`undefined`: none. */
function toBytes(body, name = 'body') {
  if (body == null) return undefined
  if (typeof body === 'string') return Buffer.from(body, 'utf8')
  if (Buffer.isBuffer(body)) return body
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength)
  if (body instanceof ArrayBuffer) return Buffer.from(body)
  throw argError(name, 'a Buffer, Uint8Array, ArrayBuffer or string', toBytes)
}

module.exports = { flattenHeaders, schemeOf, packHead, resultIo, toBytes }

'use strict'

// Client side: `Signer` (its key validated by the core as a guard's keys are) and `signRequest`,
// a signed request init for fetch / undici / http.request.

const util = require('node:util')
const { native, call, argError, isObject, HmacGuardError } = require('./errors.js')
const { packHead, schemeOf, toBytes } = require('./head.js')

const kNative = Symbol('hmac-guard.native')
const SCHEMES = ['rfc9421', 'simple']

// The sign options' types (their values are the core's to judge).
const TYPES = {
  label: ['a string', (x) => typeof x === 'string'],
  components: ['an array of strings', (x) => Array.isArray(x) && x.every((c) => typeof c === 'string')],
  created: ['an integer (Unix seconds)', Number.isSafeInteger],
  timestamp: ['an integer (Unix seconds)', Number.isSafeInteger],
  expiresIn: ['a whole number of seconds', (x) => Number.isInteger(x) && x >= 0 && x <= 0xffffffff],
  nonce: ['a string', (x) => typeof x === 'string'],
  tag: ['a string', (x) => typeof x === 'string'],
  includeAlg: ['true or false', (x) => typeof x === 'boolean'],
  digest: ['a string', (x) => typeof x === 'string'],
}

function schemeChoice(scheme) {
  if (SCHEMES.includes(scheme)) return scheme
  // Never echoed: a secret put in the wrong field must not reach a log.
  throw new HmacGuardError('ERR_INVALID_CONFIG', `scheme must be one of ${SCHEMES.join(', ')}`)
}

/** Signs requests with one key, for clients and tests. */
class Signer {
  /** `{id, secret, algorithm?, subject?, notBefore?, notAfter?, scheme?}`: a key, and the default scheme of sign(). */
  constructor(options) {
    let key = options
    let scheme
    if (isObject(options) && 'scheme' in options) ({ scheme, ...key } = options)
    this[kNative] = call(() => new native.NativeSigner(key))
    this.scheme = schemeChoice(scheme ?? 'rfc9421')
  }

  get keyId() {
    return this[kNative].keyId
  }

  /**
   * Returns the headers to add to the request, as a plain object with lowercase names.
   * `req`: {method, url, headers?, body?}. RFC 9421 components read headers (e.g. Host for
   * `@authority`); when `url` is absolute its authority is used.
   */
  sign(req, options = {}) {
    return signed(this, req, options, this.sign).headers
  }

  /**
   * As `sign` (same arguments), also returning the signature base those headers sign:
   * `{ headers, base }`. Compare `base` byte for byte with the `signatureBase` a server's
   * `guard.explain()` reports for the request, to find where a mismatch comes from.
   */
  signWithBase(req, options = {}) {
    return signed(this, req, options, this.signWithBase)
  }

  [util.inspect.custom]() {
    return `Signer { keyId: '${this.keyId}', scheme: '${this.scheme}' }`
  }
}

/** The native signer's answer for `req`: `{ headers, base }`. */
function signed(signer, req, options, caller) {
  if (!isObject(req)) throw argError('req', 'an object {method, url, headers?, body?}', caller)
  if (!isObject(options)) throw argError('options', 'an object', caller)
  for (const name of Object.keys(TYPES)) {
    const [expected, ok] = TYPES[name]
    if (options[name] != null && !ok(options[name])) throw argError(`options.${name}`, expected, caller)
  }
  const scheme = schemeChoice(options.scheme ?? signer.scheme)
  const body = toBytes(req.body)
  const method = String(req.method || 'GET').toUpperCase()
  const url = String(req.url)
  const native = signer[kNative]
  if (scheme === 'simple') {
    const pq = /^https?:\/\//i.test(url) ? new URL(url).pathname + new URL(url).search : url
    return unpack(call(() => native.signSimple(method, pq, body, options.timestamp, options.nonce)))
  }
  const [parts, lens, n] = packHead({ method, url, scheme: schemeOf({ ...req, url }), headers: req.headers })
  const { label, components, created, expiresIn, nonce, tag, includeAlg, digest } = options
  const opts = { label, components, created, expiresIn, nonce, tag, includeAlg, digest }
  return unpack(call(() => native.signRfc9421(parts, lens.subarray(0, n), body, opts)))
}

/** `[name, value, …, base]` as `{ headers (lowercase names), base }`. */
function unpack(flat) {
  const headers = {}
  const last = flat.length - 1
  for (let i = 0; i < last; i += 2) headers[flat[i].toLowerCase()] = flat[i + 1]
  return { headers, base: flat[last] }
}

/**
 * Signs a request and returns `{ method, headers, body }` ready for `fetch(url, init)`,
 * `undici.request(url, init)` or `http.request(url, init)` (then `req.end(init.body)`).
 * `url` must be absolute (the signature covers its authority). `init.headers` may be a plain
 * object, a `Headers` or an array of pairs; the body must be a string, Buffer or Uint8Array.
 */
function signRequest(signer, url, init = {}, options = {}) {
  if (!(signer instanceof Signer)) throw argError('signer', 'a Signer', signRequest)
  if (!isObject(init)) throw argError('init', 'an object {method?, headers?, body?}', signRequest)
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

/**
 * Signs a webhook delivery as `preset`'s provider would (the core's `webhook::sign`), to test an
 * endpoint: `{ headers: {name: value}, signed }` (`signed`: the exact bytes the MAC covers).
 * `options`: `secret` or `secrets` (as the provider's dashboard shows them; several: one
 * signature each where the provider sends a list), `body` (string or bytes), `timestamp` (Unix
 * seconds; default now), `id` (the Standard Webhooks delivery id; default random).
 */
function signWebhook(preset, options) {
  if (typeof preset !== 'string') throw argError('preset', 'a string', signWebhook)
  if (!isObject(options)) throw argError('options', 'an object { secret | secrets, body, timestamp?, id? }', signWebhook)
  const { secret, secrets, body, timestamp, id } = options
  if (timestamp != null && !Number.isSafeInteger(timestamp)) throw argError('options.timestamp', 'an integer (Unix seconds)', signWebhook)
  if (id != null && typeof id !== 'string') throw argError('options.id', 'a string', signWebhook)
  const bytes = toBytes(body, 'options.body')
  const r = call(() => native.signWebhook(preset, secrets ?? secret, bytes, timestamp ?? undefined, id ?? undefined))
  const headers = {}
  for (let i = 0; i < r.headers.length; i += 2) headers[r.headers[i]] = r.headers[i + 1]
  return { headers, signed: r.signed }
}

module.exports = { Signer, signRequest, signWebhook }

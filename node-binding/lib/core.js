'use strict'

// The JS face of the native addon: argument plumbing and error translation only.
// Every check runs in the Rust core; nothing here decides whether a request is valid.

const fs = require('node:fs')
const util = require('node:util')
const native = require('../native.js')

const CODES = new Map(native.errorCodes().map((c) => [c.code, Object.freeze({ ...c })]))

/** An hmac-guard failure: a stable `code`, its HTTP `status`, and a generic `message`. */
class HmacGuardError extends Error {
  constructor(code, reason) {
    const info = CODES.get(code) || CODES.get('ERR_INTERNAL')
    super(info.message)
    this.name = 'HmacGuardError'
    this.code = info.code
    this.status = info.status
    this.statusCode = info.status
    // Koa and http-errors convention: whether `message` may be shown to the client.
    this.expose = info.status < 500
    // The core's internal reason, for server logs. It never contains a secret or expected MAC.
    this.reason = reason === undefined ? info.message : String(reason)
  }

  /** The JSON body adapters answer with. */
  toJSON() {
    return { code: this.code, message: this.message }
  }
}

/** Every error code with its status and generic message (the core's table). */
function errorCodes() {
  return Array.from(CODES.values())
}

// Native errors carry `code` = ERR_* and `message` = the core's reason. Anything else is a
// programming error in the arguments (napi type checks) and is passed through unchanged.
function translate(e) {
  if (e instanceof HmacGuardError) return e
  if (e && typeof e.code === 'string' && CODES.has(e.code)) return new HmacGuardError(e.code, e.message)
  return e
}

function call(fn) {
  try {
    return fn()
  } catch (e) {
    const err = translate(e)
    // Point the stack at the caller of the public method, not at this plumbing.
    if (err !== e) Error.captureStackTrace(err, call)
    throw err
  }
}

// As `call`, for the hot paths that call the addon directly (no closure per call).
function rethrown(e, caller) {
  const err = translate(e)
  if (err !== e) Error.captureStackTrace(err, caller)
  return err
}

function fromValue(v) {
  return new HmacGuardError(v.code, v.reason)
}

// An async task resolves with `{code, reason}` instead of rejecting (napi task rejections cannot
// carry an ERR_* code); a verified result is an object with `keyId`.
function isErrorValue(r) {
  return r != null && typeof r.reason === 'string' && typeof r.code === 'string' && r.keyId === undefined
}

// Headers in any common shape -> the flat [name, value, ...] list the addon takes.
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

// The head crosses into the addon as one string plus the UTF-16 lengths of its pieces (method,
// target, scheme, then each header name and value): one string conversion instead of one per
// header, which is most of a call's cost. The addon splits it back by those lengths.
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

function packHead(req) {
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

function packHeadInto(req, lens, shared) {
  const method = String(req.method)
  const url = String(req.url)
  const scheme = schemeOf(req)
  lens[0] = method.length
  lens[1] = url.length
  lens[2] = scheme.length
  let parts = method + url + scheme
  let n = 3
  const headers = req.headers
  if (headers != null && !Array.isArray(headers) && !(typeof headers.forEach === 'function' && typeof headers.get === 'function')) {
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

function toBytes(body) {
  if (body == null) return undefined
  if (typeof body === 'string') return Buffer.from(body, 'utf8')
  if (Buffer.isBuffer(body)) return body
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength)
  if (body instanceof ArrayBuffer) return Buffer.from(body)
  throw new TypeError('body must be a Buffer, Uint8Array, ArrayBuffer or string')
}

function normKey(key) {
  if (!key || typeof key !== 'object') throw new TypeError('a key must be an object {id, secret, ...}')
  const out = {
    id: key.id,
    secret: typeof key.secret === 'string' ? key.secret : toBytes(key.secret),
    algorithm: key.algorithm,
    subject: key.subject,
    notBefore: toSecs(key.notBefore),
    notAfter: toSecs(key.notAfter),
  }
  return out
}

function toSecs(t) {
  if (t == null) return undefined
  if (t instanceof Date) return Math.floor(t.getTime() / 1000)
  return t
}

function normReplay(policy) {
  if (!policy) return policy
  const p = { ...policy }
  if (p.replay && typeof p.replay === 'object') {
    p.reserveHoldSecs = p.replay.holdSecs
    p.replay = p.replay.mode
  }
  return p
}

function schemeOf(req) {
  if (req.scheme) return req.scheme
  if (typeof req.url === 'string' && /^https?:\/\//i.test(req.url)) return req.url.slice(0, req.url.indexOf(':')).toLowerCase()
  return 'http'
}

const kNative = Symbol('hmac-guard.native')
// Set on guards (and their verifications) whose replay store is networked (Redis): the store step
// then only runs on the libuv pool, and adapters finish with `finishAsync()`.
const kNetworked = Symbol('hmac-guard.networked')
// A guard's per-request native path (src/lane.rs), and a streamed verification's number in it.
const kLane = Symbol('hmac-guard.lane')
const kHandle = Symbol('hmac-guard.handle')
const kTracked = Symbol('hmac-guard.tracked')

// A packed result (convert.rs `pack_into`): the field texts back to back in one string, the
// field count in io[0] and each field's length in io[1..] (ABSENT: the field is missing).
const ABSENT = 0xffffffff
let at = 0

function piece(s, len) {
  if (len === ABSENT) return undefined
  const out = s.slice(at, at + len)
  at += len
  return out
}

const num = (x) => (x === undefined ? undefined : Number(x))

/** A verified request. Act only on these values. */
class Verified {
  constructor(f) {
    this.scheme = f[0]
    this.label = f[1]
    this.keyId = f[2]
    this.subject = f[3]
    this.algorithm = f[4]
    this.created = num(f[5])
    this.expires = num(f[6])
    this.nonce = f[7]
    this.tag = f[8]
    this.bodyLength = Number(f[9])
    this.covered = []
    this.replayTicket = undefined
  }

  /** The signed value of a covered component: `@path`, `content-type`, or a serialized identifier. */
  component(id) {
    const q = `"${id}"`
    for (const c of this.covered) if (c.id === id || c.id === q) return c.value
    return undefined
  }
}

// Scheme, label, key id, subject, algorithm, created, expires, nonce, tag, body length, then the
// id and value of each covered component. Read right after the call, before any other JS runs.
function unpackVerified(s, io) {
  at = 0
  const n = io[0]
  const f = [piece(s, io[1]), piece(s, io[2]), piece(s, io[3]), piece(s, io[4]), piece(s, io[5])]
  f.push(piece(s, io[6]), piece(s, io[7]), piece(s, io[8]), piece(s, io[9]), piece(s, io[10]))
  const v = new Verified(f)
  const covered = v.covered
  for (let k = 11; k < n; k += 2) {
    const id = piece(s, io[k])
    covered.push({ id, value: piece(s, io[k + 1]) })
  }
  return v
}

function makeVerified(r, io) {
  if (typeof r === 'string') return unpackVerified(r, io)
  // Reserve mode: a full object with the replay ticket.
  const v = new Verified([r.scheme, r.label, r.keyId, r.subject, r.algorithm, r.created, r.expires, r.nonce, r.tag, r.bodyLength])
  v.covered = r.covered
  v.replayTicket = r.replayTicket ? new ReplayTicket(r.replayTicket) : undefined
  return v
}

/**
 * A two-phase replay reservation (`replay: 'reserve'`). With the Redis store, use the async
 * methods: the sync ones would block the event loop and throw ERR_INVALID_STATE.
 */
class ReplayTicket {
  constructor(handle) {
    this[kNative] = handle
  }

  /** The delivery was processed: keep the nonce for the rest of its window. */
  commit() {
    call(() => this[kNative].commit())
  }

  /** The handler failed: drop the reservation so a retry can pass. */
  release() {
    call(() => this[kNative].release())
  }

  /** As commit(), on the libuv pool. Rejects with HmacGuardError. */
  async commitAsync() {
    const e = await this[kNative].commitAsync()
    if (e) throw fromValue(e)
  }

  /** As release(), on the libuv pool. Rejects with HmacGuardError. */
  async releaseAsync() {
    const e = await this[kNative].releaseAsync()
    if (e) throw fromValue(e)
  }

  [util.inspect.custom]() {
    return 'ReplayTicket {}'
  }
}

// The Redis URL: the option when given (null or '' selects the in-memory store), else
// HMAC_GUARD_REDIS_URL.
function redisUrlOf(options) {
  const url = options.redisUrl !== undefined ? options.redisUrl : process.env.HMAC_GUARD_REDIS_URL
  return url ? String(url) : undefined
}

const CA_FILE_ENV = 'HMAC_GUARD_REDIS_TLS_CA_FILE'

// The private CA (PEM) a rediss:// Redis is verified against: `{pem, file}`, `file` set when the
// PEM was read from HMAC_GUARD_REDIS_TLS_CA_FILE. The option when given (null: the built-in
// roots, even when that variable is set), else that file, read only when a Redis URL is in use.
// An unreadable file is a configuration error naming the variable and path, never the contents.
function redisTlsCaOf(options, url) {
  const ca = options.redisTlsCa
  if (ca !== undefined) {
    if (ca === null) return {}
    if (typeof ca === 'string' || Buffer.isBuffer(ca)) return { pem: ca }
    if (ArrayBuffer.isView(ca)) return { pem: Buffer.from(ca.buffer, ca.byteOffset, ca.byteLength) }
    throw new TypeError('redisTlsCa must be a Buffer, Uint8Array or string (PEM)')
  }
  const file = process.env[CA_FILE_ENV]
  if (!url || !file) return {}
  try {
    return { pem: fs.readFileSync(file), file }
  } catch (e) {
    const why = typeof e?.code === 'string' ? e.code : 'unreadable'
    const err = new HmacGuardError('ERR_INVALID_CONFIG', `${CA_FILE_ENV} names a file that cannot be read (${file}: ${why})`)
    Error.captureStackTrace(err, Guard)
    throw err
  }
}

/** A configured verifier. */
class Guard {
  constructor(options = {}) {
    const redisUrl = redisUrlOf(options)
    const ca = redisTlsCaOf(options, redisUrl)
    const opts = {
      scheme: options.scheme,
      keys: options.keys ? options.keys.map(normKey) : undefined,
      policy: normReplay(options.policy),
      replayStore: options.replayStore,
      redisUrl,
      redisPrefix: options.redisPrefix,
      redisTimeoutMs: options.redisTimeoutMs,
      redisFailOpen: options.redisFailOpen,
      redisTlsCa: ca.pem,
      now: options.now,
    }
    try {
      this[kNative] = call(() => new native.NativeGuard(opts))
    } catch (e) {
      // A CA from the environment: name the variable, not the option the addon knows it by.
      if (ca.file && e instanceof HmacGuardError && e.reason.includes('redisTlsCa')) {
        e.reason = e.reason.replaceAll('redisTlsCa', `the CA in ${CA_FILE_ENV} (${ca.file})`)
      }
      throw e
    }
    this[kNetworked] = this[kNative].store !== 'memory'
    this[kLane] = this[kNative].lane()
  }

  /** `memory` (this process only) or `redis` (shared by every process and host). */
  get store() {
    return this[kNative].store
  }

  /** Requests accepted without replay protection because Redis was unreachable (`redisFailOpen` only). */
  get failOpenUses() {
    return this[kNative].failOpenUses
  }

  get scheme() {
    return this[kNative].scheme
  }

  get bodyLimit() {
    return this[kNative].bodyLimit
  }

  /** Adds a key or replaces the key with the same id (rotation at runtime). */
  addKey(key) {
    const k = normKey(key)
    call(() => this[kNative].addKey(k))
  }

  /** Removes a key; returns whether it was there. */
  removeKey(id) {
    return call(() => this[kNative].removeKey(id))
  }

  /** The configured key ids. */
  keyIds() {
    return call(() => this[kNative].keyIds())
  }

  /** Streamed verifications begun and not yet finished or aborted (a leak check for adapters). */
  get inFlight() {
    return native.laneInFlight(this[kLane])
  }

  /** Testing aid: moves a guard built with `now` to another Unix time (seconds). */
  setNow(secs) {
    call(() => this[kNative].setNow(secs))
  }

  /** Checks everything that needs no body; returns a Verification to stream the body into. */
  begin(req) {
    const v = beginOwned(this, req)
    // Abandoned without finish()/abort(): its slot is freed when the object is collected.
    abandoned.register(v, { lane: v[kLane], handle: v[kHandle] }, v)
    v[kTracked] = true
    return v
  }

  /** Verifies a request whose body is in memory. Throws HmacGuardError. */
  verify(req) {
    const body = toBytes(req.body)
    const [parts, io, n] = packHead(req)
    let r
    try {
      r = native.laneVerify(this[kLane], parts, io, n, body)
    } catch (e) {
      throw rethrown(e, this.verify)
    }
    return makeVerified(r, io)
  }

  /** As verify(), on the libuv thread pool. Rejects with HmacGuardError. */
  async verifyAsync(req) {
    const body = toBytes(req.body)
    const [parts, lens, n] = packHead(req)
    const r = await call(() => this[kNative].verifyAsync(parts, lens.subarray(0, n), body))
    if (isErrorValue(r)) throw fromValue(r)
    return makeVerified(r)
  }

  /** What the server computes for a request, check by check. Never a secret or expected MAC. */
  explain(req) {
    const body = toBytes(req.body)
    const [parts, lens, n] = packHead(req)
    const ex = call(() => this[kNative].explain(parts, lens.subarray(0, n), body))
    if (ex.error) ex.error = fromValue(ex.error)
    Object.defineProperty(ex, 'toString', { enumerable: false, value: () => ex.text })
    return ex
  }

  [util.inspect.custom]() {
    return `Guard { scheme: '${this.scheme}', keys: [${this.keyIds().map((k) => `'${k}'`).join(', ')}] }`
  }
}

// Frees the slot of a Verification that was dropped unfinished (see Guard#begin).
const abandoned = new FinalizationRegistry(({ lane, handle }) => native.laneAbort(lane, handle))

/**
 * `guard.begin(req)` for callers that always finish or abort what they begin (the adapters: every
 * path through `streamBody` in lib/http.js ends in one of them), so no collection hook is needed.
 */
function beginOwned(guard, req) {
  const [parts, lens, n] = packHead(req)
  let handle
  try {
    handle = native.laneBegin(guard[kLane], parts, lens, n)
  } catch (e) {
    throw rethrown(e, guard.begin)
  }
  return new Verification(guard[kLane], handle, guard[kNetworked])
}

// Marks a verification finished and returns its handle, which the object then forgets: a slot
// reused later can never be reached through it. A tracked one no longer needs the collection hook.
function settle(v) {
  const handle = v[kHandle]
  v[kHandle] = -1
  v.finished = true
  if (v[kTracked]) {
    abandoned.unregister(v)
    v[kTracked] = false
  }
  return handle
}

/** A verification in progress. */
class Verification {
  constructor(lane, handle, networked = false) {
    this[kLane] = lane
    this[kHandle] = handle
    this[kNetworked] = networked
    this[kTracked] = false
    this.finished = false
  }

  /** Feeds a body chunk (Buffer/Uint8Array read in place; a string is UTF-8 encoded). */
  update(chunk) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk
    try {
      native.laneUpdate(this[kLane], this[kHandle], bytes)
    } catch (e) {
      throw translate(e)
    }
    return this
  }

  /** Finishes the body checks and claims the nonce; can be called once. */
  finish() {
    // Inside a head being packed (a header's toString calling back here), results get their own array.
    const io = packing ? new Uint32Array(64) : lensBuf
    // With a networked store the addon refuses (it would block) before spending the
    // verification, so it is not settled here and finishAsync() still works.
    const handle = this[kNetworked] ? this[kHandle] : settle(this)
    let r
    try {
      r = native.laneFinish(this[kLane], handle, io)
    } catch (e) {
      throw rethrown(e, this.finish)
    }
    return makeVerified(r, io)
  }

  /**
   * Finishes the body checks here and claims the nonce on the libuv pool, so the replay store's
   * round trip (Redis) never blocks the event loop. Can be called once. Rejects with HmacGuardError.
   */
  async finishAsync() {
    const handle = settle(this)
    const r = await call(() => native.laneFinishAsync(this[kLane], handle))
    if (isErrorValue(r)) throw fromValue(r)
    return makeVerified(r)
  }

  /** Abandons the verification; nothing is claimed. */
  abort() {
    native.laneAbort(this[kLane], settle(this))
  }

  get bytesSeen() {
    return native.laneBytesSeen(this[kLane], this[kHandle])
  }

  get keyId() {
    return native.laneKeyId(this[kLane], this[kHandle])
  }

  [util.inspect.custom]() {
    return `Verification { keyId: ${JSON.stringify(this.keyId)}, bytesSeen: ${this.bytesSeen}, finished: ${this.finished} }`
  }
}

function pairsToObject(flat) {
  const out = {}
  for (let i = 0; i < flat.length; i += 2) out[flat[i].toLowerCase()] = flat[i + 1]
  return out
}

/** Signs requests with one key, for clients and tests. */
class Signer {
  constructor(key) {
    const k = normKey(key)
    this[kNative] = call(() => new native.NativeSigner(k))
    this.scheme = key.scheme || 'rfc9421'
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
    const scheme = options.scheme || this.scheme
    const body = toBytes(req.body)
    const method = String(req.method || 'GET').toUpperCase()
    const url = String(req.url)
    if (scheme === 'simple') {
      const pq = /^https?:\/\//i.test(url) ? new URL(url).pathname + new URL(url).search : url
      const flat = call(() => this[kNative].signSimple(method, pq, body, { timestamp: options.timestamp, nonce: options.nonce }))
      return pairsToObject(flat)
    }
    if (scheme !== 'rfc9421') throw new HmacGuardError('ERR_INVALID_CONFIG', `unknown scheme ${scheme}`)
    const headers = flattenHeaders(req.headers)
    const opts = {
      label: options.label,
      components: options.components,
      created: options.created,
      expiresIn: options.expiresIn,
      nonce: options.nonce,
      tag: options.tag,
      includeAlg: options.includeAlg,
      digest: options.digest,
    }
    const flat = call(() => this[kNative].signRfc9421(method, url, schemeOf(req), headers, body, opts))
    return pairsToObject(flat)
  }

  [util.inspect.custom]() {
    return `Signer { keyId: '${this.keyId}', scheme: '${this.scheme}' }`
  }
}

/**
 * Finishes a verification the way its guard's store needs: in place for the in-memory store (a
 * Promise would only add latency), on the libuv pool for Redis. Returns a Verified or a Promise.
 */
function finishVerification(verification) {
  return verification[kNetworked] ? verification.finishAsync() : verification.finish()
}

module.exports = {
  Guard,
  ReplayTicket,
  finishVerification,
  Verified,
  Verification,
  beginOwned,
  Signer,
  HmacGuardError,
  errorCodes,
  flattenHeaders,
  toBytes,
  translate,
  packHead,
  native,
}

'use strict'

// `Guard` and `Verification`: the options go to the core exactly as given (it validates them and
// names the option in any error); requests go through the guard's lane (src/lane.rs); events go to
// the hook and the logger through lib/observe.js.

const util = require('node:util')
const { native, call, rethrown, translate, fromValue, isErrorValue, argError } = require('./errors.js')
const { packHead, resultIo, toBytes } = require('./head.js')
const { makeVerified } = require('./verified.js')
const { Events } = require('./observe.js')

const kNative = Symbol('hmac-guard.native')
// Set on guards (and their verifications) whose replay store is networked (Redis): the store step
// then only runs off the event loop (the core's async claim), and adapters finish with `finishAsync()`.
const kNetworked = Symbol('hmac-guard.networked')
// A guard's per-request native path (src/lane.rs), and a streamed verification's number in it.
const kLane = Symbol('hmac-guard.lane')
const kHandle = Symbol('hmac-guard.handle')
const kTracked = Symbol('hmac-guard.tracked')
const kEvents = Symbol('hmac-guard.events')

/** A configured verifier. */
class Guard {
  constructor(options) {
    const events = new Events()
    this[kNative] = call(() => new native.NativeGuard(options, events.dispatch))
    events.attach(options, this[kNative].loggerChoice)
    this[kEvents] = events
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

  /** The counters (per outcome, code and key id), the latency histogram and the replay store's health. */
  stats() {
    return JSON.parse(this[kNative].stats())
  }

  /** The metrics in the Prometheus text format; `labels` (e.g. `{guard: 'api'}`) are added to every sample. */
  metrics(labels) {
    return call(() => this[kNative].metrics(labels))
  }

  /** The metric families (`[{name, type, help, samples: [{name, labels, value}]}]`) for other collectors. */
  metricFamilies() {
    return JSON.parse(this[kNative].metricFamilies())
  }

  get scheme() {
    return this[kNative].scheme
  }

  get bodyLimit() {
    return this[kNative].bodyLimit
  }

  /** Whether adapters add the error's reason to their JSON error responses (`exposeReasons`; development only). */
  get exposeReasons() {
    return this[kNative].exposeReasons
  }

  /** The effective settings, defaults filled in, by canonical id (`policy.max_age_secs`). No secret, URL or CA. */
  get settings() {
    return JSON.parse(this[kNative].settings)
  }

  /** Adds a key or replaces the key with the same id (rotation at runtime). */
  addKey(key) {
    call(() => this[kNative].addKey(key))
  }

  /**
   * Replaces a webhook preset's secrets at once (rotation without a restart), validated by the
   * core as the `secrets` option is. Verifications in flight keep theirs.
   */
  /** The webhook preset this guard verifies; throws ERR_INVALID_CONFIG for a guard of signed requests. */
  webhookPreset() {
    return call(() => this[kNative].webhookPreset())
  }

  rotateSecrets(secrets) {
    call(() => this[kNative].rotateSecrets(secrets))
  }

  /** Removes a key; returns whether it was there. */
  removeKey(id) {
    if (typeof id !== 'string') throw argError('id', 'a string', this.removeKey)
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
    const body = toBytes(req?.body)
    const [parts, io, n] = packHead(req)
    let r
    try {
      r = native.laneVerify(this[kLane], parts, io, n, body)
    } catch (e) {
      throw rethrown(e, this.verify)
    }
    return makeVerified(r, io)
  }

  /**
   * As verify(), the store step off the event loop: with Redis the checks run here and the claim
   * is awaited from the core's own client; in memory the whole verification runs on the libuv
   * pool. Rejects with HmacGuardError.
   */
  async verifyAsync(req) {
    const body = toBytes(req?.body)
    const [parts, lens, n] = packHead(req)
    const r = await call(() => this[kNative].verifyAsync(parts, lens.subarray(0, n), body))
    if (isErrorValue(r)) throw fromValue(r)
    return makeVerified(r)
  }

  /** What the server computes for a request, check by check. Never a secret or expected MAC. */
  explain(req) {
    const body = toBytes(req?.body)
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
    const bytes = chunk instanceof Uint8Array ? chunk : (chunk != null && toBytes(chunk, 'chunk')) || badChunk(this.update)
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
    const io = resultIo()
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
   * Finishes the body checks here and claims the nonce off the event loop (Redis: awaited from the
   * core's own client, no libuv pool thread waits on it; in memory: on the libuv pool). Can be
   * called once. Rejects with HmacGuardError.
   */
  async finishAsync() {
    const handle = settle(this)
    const r = await call(() => native.laneFinishAsync(this[kLane], handle))
    if (isErrorValue(r)) throw fromValue(r)
    return makeVerified(r)
  }

  /**
   * Abandons the verification; nothing is claimed. With the HmacGuardError that made the caller
   * stop (a body it could not read: ERR_BAD_FRAMING), it is counted as that rejection.
   */
  abort(error) {
    const handle = settle(this)
    if (error != null && typeof error.code === 'string') native.laneAbort(this[kLane], handle, error.code, String(error.reason ?? error.message))
    else native.laneAbort(this[kLane], handle)
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

function badChunk(caller) {
  throw argError('chunk', 'a Buffer, Uint8Array, ArrayBuffer or string', caller)
}

/**
 * Finishes a verification the way its guard's store needs: in place for the in-memory store (a
 * Promise would only add latency), awaited off the event loop for Redis. Returns a Verified or a Promise.
 */
function finishVerification(verification) {
  return verification[kNetworked] ? verification.finishAsync() : verification.finish()
}

/** The native test clock (src/clock.rs), shown with its time. */
const ManualClock = native.ManualClock
ManualClock.prototype[util.inspect.custom] = function inspect() {
  return `ManualClock(${this.now()})`
}

/**
 * The `Accept-Signature` value the core asks a refusal with `code` to carry (RFC 9421 §5.1: a
 * 401 of the RFC 9421 scheme), or undefined; also undefined for a guard of another make.
 * `withBody`: the refused request announced a body.
 */
function acceptSignature(guard, code, withBody) {
  if (!(guard instanceof Guard) || typeof code !== 'string') return undefined
  return guard[kNative].acceptSignature(code, withBody === true) ?? undefined
}

/**
 * Counts and reports a refusal an adapter made itself (a body another middleware consumed), so
 * it shows in the stats and its reason in the logs; a guard of another make is left alone.
 */
function noteRefusal(guard, err) {
  if (guard instanceof Guard && err != null && typeof err.code === 'string') guard[kNative].refused(err.code, String(err.reason ?? err.message))
}

/**
 * How to answer a request `guard` refused with `err` (the core's `Guard::refusal`):
 * `{status, body, acceptSignature, close, retryAfter}`, or undefined for an error that is not
 * hmac-guard's (or a guard of another make). `announcedBody`: the request announced a body;
 * `bodyFullyRead`: all of it was read.
 */
function refusal(guard, err, announcedBody, bodyFullyRead) {
  if (!(guard instanceof Guard) || err == null || typeof err.code !== 'string') return undefined
  const reason = String(err.reason ?? err.message)
  return guard[kNative].refusal(err.code, reason, announcedBody === true, bodyFullyRead === true) ?? undefined
}

/** Every guard option and key field: `{id, name}`, canonical id and Node spelling. */
function configFields() {
  return native.configFields()
}

module.exports = { Guard, Verification, ManualClock, beginOwned, finishVerification, acceptSignature, noteRefusal, refusal, configFields }

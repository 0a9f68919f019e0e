'use strict'

// Errors: the core's ERR_* codes as HmacGuardError (status and generic message from the core's
// own table), and the TypeErrors of arguments of the wrong type (a wrong option *value* is the
// core's ERR_INVALID_CONFIG).

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

// Native errors carry `code` = ERR_* and `message` = the core's reason. Anything else (a TypeError
// thrown by the addon, an exception of a getter in the options) is passed through unchanged.
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

/** A TypeError for the argument `name`, which must be `expected`; thrown from `caller`'s caller. */
function argError(name, expected, caller) {
  const e = new TypeError(`${name} must be ${expected}`)
  if (caller) Error.captureStackTrace(e, caller)
  return e
}

const isObject = (x) => x !== null && typeof x === 'object'

module.exports = { HmacGuardError, errorCodes, translate, call, rethrown, fromValue, isErrorValue, argError, isObject, native }

'use strict'

// Node http plumbing shared by the Express, Koa and Feathers adapters: feed an IncomingMessage
// into a Verification chunk by chunk, stop reading the moment the core says no, parse the
// verified bytes. No verification decision is taken here.
//
// Request intake (every adapter): a body the server cannot read (bad chunk size, truncated chunk,
// the connection ending mid-body) is a 400 ERR_BAD_FRAMING answered like every other refusal;
// after any refusal with body bytes still unread the answer carries `Connection: close`, nothing
// more is read, and the connection is closed in stages so the client can read the answer.

const http = require('node:http')
const { pipeline } = require('node:stream')
const { Guard, HmacGuardError, translate, finishVerification, beginOwned, acceptSignature } = require('./core.js')
const native = require('../native.js')
const { createVerifyStream } = require('./verify-stream.js')

// On a socket: what a client error on it means to hmac-guard. An Intake while a body is being
// streamed into a verification (a framing error settles it with ERR_BAD_FRAMING); CLOSING once
// hmac-guard answered or is answering on it (later parse errors on the same bytes mean nothing).
const kIntake = Symbol('hmac-guard.intake')
const CLOSING = 1
// On a server: the clientError listener below is installed.
const kHooked = Symbol('hmac-guard.clientError')
// On a socket: it closes in stages (see closeAfter).
const kLinger = Symbol('hmac-guard.linger')

// How long a refused connection stays half-closed, not read, before it is closed for good.
const LINGER_MS = 1000
// How long a framing error may wait for the adapter's answer before the connection is closed.
const ANSWER_MS = 5000

/** ERR_BAD_FRAMING: the request body could not be read as the client framed it. */
function framingError(reason) {
  return new HmacGuardError('ERR_BAD_FRAMING', reason)
}

const goneMidBody = () => framingError('connection closed before the body ended')

/**
 * Node's parser reports a body it cannot read (bad chunk size, truncated chunk, EOF before the
 * declared length) as a `clientError` on the server; without a listener Node answers a bare 400
 * and drops the connection, before the adapter can say anything. This listener hands the error
 * to the request whose body hmac-guard is streaming on that connection, so the adapter answers
 * it (400 ERR_BAD_FRAMING, JSON like any refusal). Any other client error is handled as Node
 * does by default, unless the application has a clientError listener of its own.
 */
function onClientError(err, socket) {
  const intake = socket[kIntake]
  // Once the request is complete the error is in bytes after it (a next request): Node's way.
  if (intake instanceof Intake && !intake.req.complete) {
    socket[kIntake] = CLOSING
    intake.onFraming(framingError(err && err.code ? `${err.code}: ${err.reason || err.message}` : String(err)))
    if (!socket.writable || socket.destroyed) {
      socket.destroy()
      return
    }
    // The adapter answers (then closeAfter closes); should nothing answer, close anyway.
    const t = setTimeout(() => socket.destroy(), ANSWER_MS)
    t.unref()
    socket.once('close', () => clearTimeout(t))
    return
  }
  if (intake === CLOSING) {
    if (!socket.writable) socket.destroy()
    return
  }
  if (this.listenerCount('clientError') > 1) return // the application's own listener answers
  // Node's default (lib/_http_server.js socketOnError): a bare status, unless an answer started.
  const res = socket._httpMessage
  if (socket.writable && !(res && res.headersSent)) {
    const code = err && err.code
    const status = code === 'HPE_HEADER_OVERFLOW' ? 431 : code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW' ? 413 : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400
    socket.write(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\n\r\n`)
  }
  socket.destroy(err)
}

/**
 * While `req`'s body is streamed, routes the server's framing errors on its connection to
 * `onFraming(err)`. Returns the function that stops it.
 */
function watchFraming(req, onFraming) {
  const socket = req.socket
  if (!socket || req.httpVersionMajor > 1) return noop
  const server = socket.server
  if (server && typeof server.on === 'function' && !server[kHooked]) {
    server[kHooked] = true
    server.on('clientError', onClientError)
  }
  if (socket[kIntake] === CLOSING) return noop
  const intake = new Intake(req, onFraming)
  socket[kIntake] = intake
  return () => {
    if (socket[kIntake] === intake) socket[kIntake] = null
  }
}

class Intake {
  constructor(req, onFraming) {
    this.req = req
    this.onFraming = onFraming
  }
}

function noop() {}

/** Collects the head of a Node request for `guard.begin`. */
function headOf(req, opts, url) {
  let scheme
  if (opts.scheme) scheme = typeof opts.scheme === 'function' ? opts.scheme(req) : opts.scheme
  else if (typeof req.protocol === 'string') scheme = req.protocol // Express (honors `trust proxy`)
  else scheme = req.socket && req.socket.encrypted ? 'https' : 'http'
  return { method: req.method, url, scheme, headers: req.rawHeaders }
}

/**
 * `guard.begin(head)` for `streamBody`, which finishes or aborts on every path: a hmac-guard
 * Guard then skips the hook that reclaims verifications dropped unfinished.
 */
function beginStreamed(guard, head) {
  return guard instanceof Guard ? beginOwned(guard, head) : guard.begin(head)
}

/**
 * Streams `req` into `verification`, then calls `done(err, verified, raw)` once (`raw` is the body
 * as one Buffer when `buffer` is true). Calls back with an HmacGuardError as soon as a chunk is
 * refused (over the body limit, past Content-Length): then the request is no longer read.
 * A callback, not a Promise: no extra microtask and allocation on every request.
 */
function streamBody(req, verification, buffer, done) {
  if (req.destroyed || req.closed || req.errored) {
    // Gone before we got here (e.g. while an async middleware in front of this one waited):
    // no event will come, so settle now.
    verification.abort()
    done(goneMidBody())
    return
  }
  const chunks = buffer ? [] : null
  let size = 0
  let settled = false
  const cleanup = () => {
    settled = true
    unwatch()
    req.removeListener('data', onData)
    req.removeListener('end', onEnd)
    req.removeListener('error', onError)
    req.removeListener('close', onClose)
  }
  // `refusal`: a body the server could not read, answered 400 and counted as that rejection; else
  // (the client went away, a refused chunk already counted) the verification is just abandoned.
  const stop = (err, refusal = false) => {
    cleanup()
    verification.abort(refusal ? err : undefined)
    // Stop reading: nothing more is buffered or hashed. The adapter answers with
    // `Connection: close`, so the socket is closed once the answer is out.
    req.pause()
    done(err)
  }
  function onData(chunk) {
    if (settled) return
    try {
      verification.update(chunk)
    } catch (e) {
      stop(translate(e))
      return
    }
    if (chunks) {
      chunks.push(chunk)
      size += chunk.length
    }
  }
  function onEnd() {
    if (settled) return
    cleanup()
    let verified
    try {
      // A Promise with a networked store (Redis): its round trip is awaited off the event loop.
      verified = finishVerification(verification)
    } catch (e) {
      done(translate(e))
      return
    }
    const raw = chunks ? (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)) : undefined
    if (verified instanceof Promise) verified.then((v) => done(null, v, raw), (e) => done(translate(e)))
    else done(null, verified, raw)
  }
  function onError(e) {
    if (settled) return
    // The request stream failed (the connection was reset or aborted mid-body).
    stop(e instanceof HmacGuardError ? e : framingError(e && e.message))
  }
  function onClose() {
    if (settled) return
    // The client went away before the body ended (or before it was all delivered here).
    stop(goneMidBody())
  }
  function onFraming(err) {
    if (settled) return
    stop(err, true)
  }
  const unwatch = watchFraming(req, onFraming)
  req.on('data', onData)
  req.on('end', onEnd)
  req.on('error', onError)
  req.on('close', onClose)
  if (req.isPaused && req.isPaused()) req.resume()
}

/** `streamBody` as a Promise of `{ verified, raw }` (for async adapters). */
function streamInto(req, verification, { buffer = true } = {}) {
  return new Promise((resolve, reject) => {
    streamBody(req, verification, buffer, (err, verified, raw) => (err ? reject(err) : resolve({ verified, raw })))
  })
}

/**
 * Streams `req` through `verification` into `sink` (a Writable) without buffering. Resolves the
 * verified result once the body ended and the sink finished; on failure the request stops being
 * read and the sink is destroyed with the error.
 */
function streamToSink(req, verification, sink) {
  return new Promise((resolve, reject) => {
    if (req.destroyed || req.closed || req.errored) {
      verification.abort()
      reject(goneMidBody())
      return
    }
    const t = createVerifyStream(verification)
    let failed = false
    const fail = (e, refusal = false) => {
      unwatch()
      if (failed) return
      failed = true
      // A body the server could not read: counted as that rejection (see streamBody).
      if (refusal) verification.abort(e)
      req.unpipe(t)
      req.pause()
      // A framing error never reached the Transform: abandon the verification here.
      if (!t.destroyed) t.destroy(e)
      if (!sink.destroyed) sink.destroy(e)
      reject(translate(e))
    }
    const unwatch = watchFraming(req, (e) => fail(e, true))
    req.once('close', () => {
      if (!req.complete) fail(goneMidBody())
    })
    req.pipe(t)
    pipeline(t, sink, (err) => {
      unwatch()
      if (err) fail(err)
      else t.verified.then(resolve, fail)
    })
  })
}

/**
 * Parses verified bytes by Content-Type: JSON, urlencoded, text; anything else stays a Buffer.
 * Text is decoded by the declared charset (WHATWG encodings, as TextDecoder knows them; UTF-8
 * when none is declared); a charset nothing can decode leaves the body a Buffer for the handler.
 * `strict`: JSON must be an object or an array, as `express.json()` requires by default.
 */
function parseBody(raw, contentType, { strict = false } = {}) {
  if (!raw || raw.length === 0) return undefined
  const ct = String(contentType || '').toLowerCase()
  const type = ct.split(';', 1)[0].trim()
  const charset = (/charset\s*=\s*"?([^";\s]+)/.exec(ct) || [])[1] || 'utf-8'
  let decoder
  try {
    decoder = new TextDecoder(charset)
  } catch {
    return raw
  }
  const decode = () => decoder.decode(raw)
  if (type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'))) {
    let value
    try {
      value = JSON.parse(decode())
    } catch {
      throw parseError('request body is not valid JSON')
    }
    if (strict && (value === null || typeof value !== 'object')) throw parseError('request body is not a JSON object or array')
    return value
  }
  if (type === 'application/x-www-form-urlencoded') {
    const out = Object.create(null)
    for (const [k, v] of new URLSearchParams(decode())) {
      if (k in out) out[k] = Array.isArray(out[k]) ? [...out[k], v] : [out[k], v]
      else out[k] = v
    }
    return out
  }
  if (type.startsWith('text/')) return decode()
  return raw
}

function parseError(message) {
  const err = new SyntaxError(message)
  err.status = 400
  err.statusCode = 400
  err.expose = true
  err.code = 'ERR_BODY_PARSE'
  return err
}

/**
 * Answers a failure on a plain Node response: JSON `{error: {code, message}}` (plus `reason`
 * when `guard` has `exposeReasons`), with the `Accept-Signature` field `guard` (the Guard that
 * refused the request) asks for.
 */
function sendError(req, res, err, guard) {
  const status = err.status || err.statusCode || 500
  const code = typeof err.code === 'string' ? err.code : 'ERR_INTERNAL'
  const message = status < 500 || err instanceof HmacGuardError ? err.message : 'internal error'
  const body = JSON.stringify({ error: withReason({ code, message }, err, guard) })
  if (res.headersSent) {
    res.destroy()
    return
  }
  res.statusCode = status
  res.setHeader('Content-Type', 'application/json; charset=utf-8')
  res.setHeader('Content-Length', Buffer.byteLength(body))
  const accept = acceptSignatureFor(guard, req, err)
  if (accept !== undefined) res.setHeader('Accept-Signature', accept)
  if (bodyUnread(req)) closeAfter(req, res)
  res.end(body)
}

/**
 * The JSON `error` object `{code, message}`, with the core's `reason` added when `guard` was built
 * with `exposeReasons` (development only; a reason never holds a secret) and `err` is hmac-guard's.
 */
function withReason(error, err, guard) {
  if (guard && guard.exposeReasons === true && err instanceof HmacGuardError && typeof err.reason === 'string') {
    error.reason = err.reason
  }
  return error
}

/**
 * The `Accept-Signature` value for refusing `req` with `err`, as the core builds it for `guard`
 * (only 401s of the RFC 9421 scheme have one), or undefined.
 */
function acceptSignatureFor(guard, req, err) {
  return err && acceptSignature(guard, err.code, announcesBody(req))
}

/** Whether `req` announced a body: Transfer-Encoding, or a Content-Length other than 0. */
/** Whether `req` announces a body: the core decides (`intake::announces_body`). */
function announcesBody(req) {
  const h = req.headers
  return native.announcesBody(header(h['content-length']), header(h['transfer-encoding']))
}

const header = (v) => (v === undefined ? undefined : String(v))

/**
 * Whether body bytes of `req` may still be on the wire: a body is announced (Content-Length
 * other than 0, or Transfer-Encoding) and was not received to its end. (`req.complete` alone is
 * false for a request without a body too, until the parser's turn after the handler.)
 */
function bodyUnread(req) {
  return !req.complete && announcesBody(req)
}

/**
 * The body was not (fully) read: answer with `Connection: close`, read nothing more, and close
 * the connection once the answer is out. Closed in stages (RFC 9112 §9.6): Node would close a
 * `Connection: close` socket as soon as the answer is written, and with request bytes still
 * arriving that close is a reset, which can make the client fail its upload without ever
 * reading the answer. Instead: stop reading, send FIN after the answer, and close for good
 * after a short grace period (the client's further bytes wait in its own buffers).
 */
function closeAfter(req, res) {
  if (!res.headersSent) res.setHeader('Connection', 'close')
  const socket = req.socket
  if (!socket || socket[kLinger] || req.httpVersionMajor > 1) return
  socket[kLinger] = true
  socket[kIntake] = CLOSING
  // Node ends a `Connection: close` socket with destroySoon() once the answer is finished.
  socket.destroySoon = lingerThenClose
  res.once('finish', () => {
    if (socket.destroyed) return
    const t = setTimeout(() => socket.destroy(), LINGER_MS + 200)
    t.unref()
    socket.once('close', () => clearTimeout(t))
  })
}

function lingerThenClose() {
  if (this.destroyed) return
  // Take the socket off the HTTP parser's native read path (a 'data' listener does that) and
  // pause it: at most one read buffer more is taken from the kernel.
  this.on('data', noop)
  this.pause()
  if (this.writable) this.end()
  const t = setTimeout(() => this.destroy(), LINGER_MS)
  t.unref()
  this.once('close', () => clearTimeout(t))
}

module.exports = { headOf, beginStreamed, streamBody, streamInto, streamToSink, parseBody, sendError, withReason, acceptSignatureFor, closeAfter, bodyUnread, watchFraming }

'use strict'

// Node http plumbing shared by the Express, Koa and Feathers adapters: feed an IncomingMessage
// into a Verification chunk by chunk, stop reading the moment the core says no, parse the
// verified bytes. No verification decision is taken here.

const { Guard, HmacGuardError, translate, finishVerification, beginOwned } = require('./core.js')

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
    done(new HmacGuardError('ERR_BODY_LENGTH_MISMATCH', 'connection closed before the body ended'))
    return
  }
  const chunks = buffer ? [] : null
  let size = 0
  let settled = false
  const cleanup = () => {
    settled = true
    req.removeListener('data', onData)
    req.removeListener('end', onEnd)
    req.removeListener('error', onError)
    req.removeListener('close', onClose)
  }
  const stop = (err) => {
    cleanup()
    verification.abort()
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
      // A Promise with a networked store (Redis): its round trip runs on the libuv pool.
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
    stop(e)
  }
  function onClose() {
    if (settled) return
    // The client went away before the body ended (or before it was all delivered here).
    stop(new HmacGuardError('ERR_BODY_LENGTH_MISMATCH', 'connection closed before the body ended'))
  }
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
  const { createVerifyStream } = require('./stream.js')
  const { pipeline } = require('node:stream')
  return new Promise((resolve, reject) => {
    if (req.destroyed || req.closed || req.errored) {
      verification.abort()
      reject(new HmacGuardError('ERR_BODY_LENGTH_MISMATCH', 'connection closed before the body ended'))
      return
    }
    const t = createVerifyStream(verification)
    let failed = false
    const fail = (e) => {
      if (failed) return
      failed = true
      req.unpipe(t)
      req.pause()
      if (!sink.destroyed) sink.destroy(e)
      reject(translate(e))
    }
    req.once('close', () => {
      if (!req.complete) fail(new HmacGuardError('ERR_BODY_LENGTH_MISMATCH', 'connection closed before the body ended'))
    })
    req.pipe(t)
    pipeline(t, sink, (err) => {
      if (err) fail(err)
      else t.verified.then(resolve, fail)
    })
  })
}

/** Parses verified bytes by Content-Type: JSON, urlencoded, text; anything else stays a Buffer. */
function parseBody(raw, contentType) {
  if (!raw || raw.length === 0) return undefined
  const ct = String(contentType || '').toLowerCase()
  const type = ct.split(';', 1)[0].trim()
  const charset = (/charset\s*=\s*"?([^";\s]+)/.exec(ct) || [])[1]
  const decode = () => {
    const enc = charset ? charset.replace('-', '').replace('iso88591', 'latin1') : 'utf8'
    return raw.toString(Buffer.isEncoding(enc) ? enc : 'utf8')
  }
  if (type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'))) {
    try {
      return JSON.parse(decode())
    } catch {
      const err = new SyntaxError('request body is not valid JSON')
      err.status = 400
      err.statusCode = 400
      err.expose = true
      err.code = 'ERR_BODY_PARSE'
      throw err
    }
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

/** Answers a failure on a plain Node response: JSON `{error: {code, message}}`. */
function sendError(req, res, err) {
  const status = err.status || err.statusCode || 500
  const code = typeof err.code === 'string' ? err.code : 'ERR_INTERNAL'
  const message = status < 500 || err instanceof HmacGuardError ? err.message : 'internal error'
  const body = JSON.stringify({ error: { code, message } })
  if (res.headersSent) {
    res.destroy()
    return
  }
  res.statusCode = status
  res.setHeader('Content-Type', 'application/json; charset=utf-8')
  res.setHeader('Content-Length', Buffer.byteLength(body))
  if (!req.complete) closeAfter(req, res)
  res.end(body)
}

/**
 * The body was not (fully) read: close the connection once the answer is out, rather than
 * reading the rest of an unwanted body. A short grace period lets the client read the answer.
 */
function closeAfter(req, res) {
  if (!res.headersSent) res.setHeader('Connection', 'close')
  res.once('finish', () => {
    const socket = req.socket
    if (!socket || socket.destroyed) return
    const t = setTimeout(() => socket.destroy(), 1000)
    t.unref()
    socket.once('close', () => clearTimeout(t))
  })
}

module.exports = { headOf, beginStreamed, streamBody, streamInto, streamToSink, parseBody, sendError, closeAfter }

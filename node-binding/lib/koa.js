'use strict'

// Koa middleware. Mount it before any body parser on the protected routes.

const { translate, noteRefusal } = require('./core.js')
const { headOf, beginStreamed, streamInto, streamToSink, parseBody, withReason, acceptSignatureFor, closeAfter, bodyUnread } = require('./http.js')

/**
 * @param {import('./core.js').Guard} guard
 * @param {object} [options]
 *   onError: 'respond' (default: JSON {error: {code, message}} with the status) | 'throw'
 *   optional: let unsigned requests (ERR_MISSING_SIGNATURE) through without `ctx.state.hmac`
 *   parse: parse JSON/urlencoded/text into `ctx.request.body` (default true)
 *   scheme: 'http' | 'https' | (req) => string (default: ctx.protocol)
 *   mapError: (err) => err, applied before throwing (Feathers uses it)
 *   onVerified: (ctx, verified) => void (Feathers uses it)
 *   sink: (ctx) => Writable: stream the body into it instead of buffering (see expressMiddleware)
 */
function koaMiddleware(guard, options = {}) {
  if (!guard || typeof guard.begin !== 'function') throw new TypeError('koaMiddleware(guard, options): guard must be a Guard')
  const onError = options.onError || 'respond'
  const parse = options.parse !== false
  const optional = options.optional === true
  const mapError = options.mapError || ((e) => e)

  return async function hmacGuard(ctx, next) {
    const req = ctx.req
    const fail = (err) => {
      // Any refusal with body bytes unread (401, 400, 413, 503...): `Connection: close`, no more
      // reading, the connection closed once the answer is out.
      const unread = bodyUnread(req)
      if (unread) {
        closeAfter(req, ctx.res)
        ctx.set('Connection', 'close')
      }
      const accept = acceptSignatureFor(guard, req, err)
      if (accept !== undefined) ctx.set('Accept-Signature', accept)
      if (onError === 'throw') {
        const mapped = mapError(err)
        // Koa's own error answer drops the headers set so far and sets `err.headers`.
        const headers = { ...(unread && { Connection: 'close' }), ...(accept !== undefined && { 'Accept-Signature': accept }) }
        if (Object.keys(headers).length > 0 && mapped && typeof mapped === 'object') mapped.headers = { ...mapped.headers, ...headers }
        throw mapped
      }
      const status = err.status || 500
      ctx.status = status
      const code = typeof err.code === 'string' ? err.code : 'ERR_INTERNAL'
      ctx.body = { error: withReason({ code, message: status < 500 || err.code ? err.message : 'internal error' }, err, guard) }
    }
    if (req.readableEnded || ctx.request.body !== undefined) {
      const err = translate({
        code: 'ERR_INVALID_STATE',
        message: 'the request body was already consumed: mount the hmac-guard middleware before body parsers',
      })
      // Counted, and the reason (which names the fix) logged.
      noteRefusal(guard, err)
      return fail(err)
    }
    const scheme = options.scheme || (() => ctx.protocol)
    let verification
    try {
      const head = headOf(req, { scheme }, ctx.originalUrl || req.url)
      verification = options.sink ? guard.begin(head) : beginStreamed(guard, head)
    } catch (e) {
      const err = translate(e)
      if (optional && err.code === 'ERR_MISSING_SIGNATURE') return next()
      return fail(err)
    }
    if (options.sink) {
      let verified
      try {
        verified = await streamToSink(req, verification, options.sink(ctx))
      } catch (e) {
        return fail(translate(e))
      }
      ctx.state.hmac = verified
      req.hmac = verified
      if (options.onVerified) options.onVerified(ctx, verified)
      return next()
    }
    let verified
    let raw
    try {
      ;({ verified, raw } = await streamInto(req, verification, { buffer: true }))
    } catch (e) {
      return fail(translate(e))
    }
    let body
    try {
      body = parse ? parseBody(raw, req.headers['content-type'], { strict: options.strict === true }) : raw
    } catch (e) {
      return fail(e)
    }
    ctx.state.hmac = verified
    req.hmac = verified
    ctx.request.rawBody = raw || Buffer.alloc(0)
    ctx.request.body = body
    if (options.onVerified) options.onVerified(ctx, verified)
    return next()
  }
}

module.exports = { koaMiddleware }

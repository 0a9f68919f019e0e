'use strict'

// Express 5 / Express 4 middleware. Mount it before any body parser on the protected routes.

const { translate, noteRefusal } = require('./core.js')
const { headOf, beginStreamed, streamBody, streamToSink, parseBody, sendError, acceptSignatureFor, closeAfter, bodyUnread } = require('./http.js')

/**
 * @param {import('./core.js').Guard} guard
 * @param {object} [options]
 *   onError: 'respond' (default: JSON {error: {code, message}} with the status) | 'next' (next(err))
 *   optional: let unsigned requests (ERR_MISSING_SIGNATURE) through without `req.hmac`
 *   parse: parse JSON/urlencoded/text into `req.body` (default true)
 *   scheme: 'http' | 'https' | (req) => string (default: req.protocol)
 *   mapError: (err) => err, applied before next(err) (Feathers uses it)
 *   onVerified: (req, verified) => void, called before next() (Feathers uses it)
 *   sink: (req) => Writable: stream the body into this Writable (a temporary file...) instead of
 *     buffering it; `req.hmac` is set once the last byte is verified and the sink finished.
 *     Bytes reach the sink before the verdict: publish them only in the handler.
 */
function expressMiddleware(guard, options = {}) {
  if (!guard || typeof guard.begin !== 'function') throw new TypeError('expressMiddleware(guard, options): guard must be a Guard')
  const onError = options.onError || 'respond'
  const parse = options.parse !== false
  const optional = options.optional === true
  const mapError = options.mapError || ((e) => e)

  return function hmacGuard(req, res, next) {
    const fail = (err) => {
      // Any refusal with body bytes unread (401, 400, 413, 503...): `Connection: close`, no more
      // reading, the connection closed once the answer is out.
      if (bodyUnread(req)) closeAfter(req, res)
      if (onError !== 'next') {
        sendError(req, res, err, guard)
        return
      }
      // The error handler next(err) reaches answers on this response: the field is set here.
      const accept = acceptSignatureFor(guard, req, err)
      if (accept !== undefined && !res.headersSent) res.setHeader('Accept-Signature', accept)
      let mapped
      try {
        mapped = mapError(err)
      } catch (e) {
        // A throwing mapError must not escape from a stream event handler.
        sendError(req, res, translate(e), guard)
        return
      }
      next(mapped)
    }
    // A verified request: `req.hmac`, the onVerified hook (its errors are answered, never thrown
    // from a stream handler), then the route.
    const accept = (verified) => {
      req.hmac = verified
      if (options.onVerified) {
        try {
          options.onVerified(req, verified)
        } catch (e) {
          fail(e)
          return
        }
      }
      next()
    }
    if (req._body || req.readableEnded) {
      const err = translate({
        code: 'ERR_INVALID_STATE',
        message: 'the request body was already consumed: mount the hmac-guard middleware before body parsers',
      })
      // Counted, and the reason (which names the fix) logged.
      noteRefusal(guard, err)
      fail(err)
      return
    }
    let verification
    try {
      const head = headOf(req, options, req.originalUrl || req.url)
      verification = options.sink ? guard.begin(head) : beginStreamed(guard, head)
    } catch (e) {
      const err = translate(e)
      if (optional && err.code === 'ERR_MISSING_SIGNATURE') {
        next()
        return
      }
      fail(err)
      return
    }
    if (options.sink) {
      streamToSink(req, verification, options.sink(req)).then(
        (verified) => {
          req._body = true
          accept(verified)
        },
        (err) => fail(translate(err)),
      )
      return
    }
    streamBody(req, verification, true, (err, verified, raw) => {
      if (err) {
        fail(translate(err))
        return
      }
      let body
      try {
        body = parse ? parseBody(raw, req.headers['content-type'], { strict: options.strict === true }) : raw
      } catch (e) {
        fail(e)
        return
      }
      req.rawBody = raw || Buffer.alloc(0)
      req.body = body
      req._body = true // body-parser convention: later parsers skip this request
      accept(verified)
    })
  }
}

module.exports = { expressMiddleware }

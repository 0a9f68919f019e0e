'use strict'

// Webhook receivers: one middleware per route for Express and Koa (and Feathers, lib/feathers.js).
// The guard is built by the core from `{ ...options, scheme: preset }` (it validates every option,
// picks every default and knows the presets); the body streams into it under its byte cap; every
// refusal is answered as the core's `Guard::refusal` says (status, body, Retry-After, close). This
// module only moves bytes and settles the delivery's reservation with the handler's outcome:
// committed when the answer's status is 2xx, released on any other status, a thrown error or
// rejected promise (the framework answers 500), or a client gone before the answer finished.

const { Guard, translate, noteRefusal, refusal } = require('./core.js')
const { headOf, beginStreamed, streamBody, streamInto, closeAfter, bodyUnread, sendError } = require('./http.js')
const native = require('../native.js')

const CONTENT_TYPE = 'application/json; charset=utf-8'

/**
 * The guard of a receiver: the Guard given, or one the core builds for `preset` from `options`.
 */
function guardOf(preset, options, caller) {
  if (preset instanceof Guard) {
    if (options !== undefined) throw new TypeError(`${caller}(guard): options belong to the Guard`)
    preset.webhookPreset() // the core refuses a guard of signed requests (ERR_INVALID_CONFIG)
    return preset
  }
  if (typeof preset !== 'string') throw new TypeError(`${caller}(preset, options): preset must be a string or a Guard`)
  if (options != null && (typeof options !== 'object' || Array.isArray(options))) {
    throw new TypeError(`${caller}(preset, options): options must be an object`)
  }
  return new Guard({ ...options, scheme: preset })
}

const consumedError = () =>
  translate({
    code: 'ERR_INVALID_STATE',
    message: 'the request body was already consumed: mount the webhook receiver before body parsers (express.json() and the like)',
  })

/** Whether `req` announced a body (the core decides). */
function announcesBody(req) {
  const h = req.headers
  const str = (v) => (v === undefined ? undefined : String(v))
  return native.announcesBody(str(h['content-length']), str(h['transfer-encoding']))
}

/**
 * The answer to a refused delivery, from the core: `{status, body, headers}`; `close` also closes
 * the connection once the answer is out (body bytes left unread). An error that is not
 * hmac-guard's yields undefined.
 */
function answerOf(guard, req, err) {
  const r = refusal(guard, err, announcesBody(req), !bodyUnread(req))
  if (!r) return undefined
  const headers = { 'Content-Type': CONTENT_TYPE }
  if (r.acceptSignature != null) headers['Accept-Signature'] = r.acceptSignature
  if (r.retryAfter != null) headers['Retry-After'] = String(r.retryAfter)
  if (r.close) headers.Connection = 'close'
  return { status: r.status, body: r.body, headers, close: r.close }
}

/** What the handler gets: `req.webhook` / `ctx.state.webhook`. */
function deliveryOf(verified, raw) {
  const w = verified.webhook
  const rawBody = raw || Buffer.alloc(0)
  return Object.freeze({
    provider: w.provider,
    id: w.id,
    type: w.type,
    // The core read the body as JSON after its MAC matched; JS parses the same bytes.
    payload: w.json ? JSON.parse(rawBody.toString('utf8')) : null,
    rawBody,
    secretId: verified.keyId,
    dedupe: w.dedupe,
  })
}

function noop() {}

/** Drops a reservation the handler will never see (the delivery could not be handed over). */
function release(ticket, networked) {
  if (!ticket) return Promise.resolve()
  if (networked) return ticket.releaseAsync().catch(noop)
  try {
    ticket.release()
  } catch {}
  return Promise.resolve()
}

/**
 * Settles `ticket` with the answer: committed when a 2xx head is written (before the provider can
 * see it and stop retrying), released for any other status, or when the connection closes before
 * the head was written (client gone, the handler never answered). `networked` (Redis): on the
 * async paths, and an answer ended in one go (`res.end`, as `res.json()` and Koa do) waits for the
 * commit, so that the provider sees the 2xx only once a copy would be a duplicate.
 */
function settleWithAnswer(res, ticket, networked) {
  if (!ticket) return
  let settled = false
  const writeHead = res.writeHead
  const end = res.end
  const settle = (ok) => {
    if (settled) return Promise.resolve()
    settled = true
    res.writeHead = writeHead
    if (networked) return (ok ? ticket.commitAsync() : ticket.releaseAsync()).catch(noop)
    try {
      if (ok) ticket.commit()
      else ticket.release()
    } catch {
      // The store refused (it reports the failure itself); the answer stands.
    }
    return Promise.resolve()
  }
  // Which answers commit: the core's rule (2xx).
  const is2xx = (code) => native.webhookHandled(code)
  // Node's own implicit head (res.end(), res.write()) goes through writeHead too.
  res.writeHead = function hmacGuardWebhookHead(status, ...rest) {
    settle(is2xx(typeof status === 'number' ? status : res.statusCode))
    return writeHead.call(this, status, ...rest)
  }
  if (networked) {
    res.end = function hmacGuardWebhookEnd(...args) {
      res.end = end
      if (settled || res.headersSent) return end.apply(this, args)
      settle(is2xx(res.statusCode)).then(() => end.apply(this, args))
      return this
    }
  }
  res.once('close', () => settle(false))
}

/**
 * Express 5 / 4 webhook receiver: `app.post('/hooks/stripe', expressWebhook('stripe', { secrets:
 * [process.env.STRIPE_WEBHOOK_SECRET] }), handler)`. Mount it before any body parser. The handler
 * gets `req.webhook` = `{ provider, id, type, payload, rawBody, secretId, dedupe }` (and
 * `req.body` = the payload, `req.rawBody` = the bytes). A copy of a delivery already processed is
 * answered 200 without running the handler; a copy of one in flight 409 with Retry-After.
 * `preset`: a preset name, or a Guard built for one (then no options). `.guard` is the guard
 * (`rotateSecrets`, `stats`).
 */
function expressWebhook(preset, options) {
  const guard = guardOf(preset, options, 'expressWebhook')
  return Object.assign(makeExpress(guard, noop), { guard })
}

/** The Express receiver; `onVerified(req, delivery)` runs before the handler (Feathers). */
function makeExpress(guard, onVerified) {
  const networked = guard.store !== 'memory'
  return function hmacGuardWebhook(req, res, next) {
    const refuse = (err) => {
      const a = answerOf(guard, req, err)
      if (!a) {
        sendError(req, res, err, guard)
        return
      }
      if (res.headersSent) {
        res.destroy()
        return
      }
      if (a.close) closeAfter(req, res)
      res.writeHead(a.status, { ...a.headers, 'Content-Length': Buffer.byteLength(a.body) })
      res.end(a.body)
    }
    if (req._body || req.readableEnded) {
      const err = consumedError()
      noteRefusal(guard, err)
      refuse(err)
      return
    }
    let verification
    try {
      verification = beginStreamed(guard, headOf(req, {}, req.originalUrl || req.url))
    } catch (e) {
      refuse(translate(e))
      return
    }
    streamBody(req, verification, true, (err, verified, raw) => {
      if (err) {
        refuse(translate(err))
        return
      }
      const ticket = verified.replayTicket
      let delivery
      try {
        delivery = deliveryOf(verified, raw)
        onVerified(req, delivery)
      } catch (e) {
        release(ticket, networked)
        refuse(e)
        return
      }
      settleWithAnswer(res, ticket, networked)
      req.webhook = delivery
      req.rawBody = delivery.rawBody
      req.body = delivery.payload
      req._body = true // body-parser convention: later parsers skip this request
      next()
    })
  }
}

/**
 * Koa webhook receiver: `router.post('/hooks/stripe', koaWebhook('stripe', { secrets: [...] }),
 * handler)`. The handler gets `ctx.state.webhook` (as `req.webhook` for Express); otherwise as
 * `expressWebhook`.
 */
function koaWebhook(preset, options) {
  const guard = guardOf(preset, options, 'koaWebhook')
  return Object.assign(makeKoa(guard, noop), { guard })
}

/** The Koa receiver; `onVerified(ctx, delivery)` runs before the handler (Feathers). */
function makeKoa(guard, onVerified) {
  const networked = guard.store !== 'memory'
  return async function hmacGuardWebhook(ctx, next) {
    const req = ctx.req
    const refuse = (err) => {
      const a = answerOf(guard, req, err)
      if (!a) throw err
      if (a.close) closeAfter(req, ctx.res)
      ctx.status = a.status
      ctx.set(a.headers)
      ctx.body = a.body
      ctx.type = CONTENT_TYPE
    }
    if (req.readableEnded || ctx.request.body !== undefined) {
      const err = consumedError()
      noteRefusal(guard, err)
      return refuse(err)
    }
    let verification
    try {
      verification = beginStreamed(guard, headOf(req, { scheme: () => ctx.protocol }, ctx.originalUrl || req.url))
    } catch (e) {
      return refuse(translate(e))
    }
    let verified
    let raw
    try {
      ;({ verified, raw } = await streamInto(req, verification, { buffer: true }))
    } catch (e) {
      return refuse(translate(e))
    }
    const ticket = verified.replayTicket
    let delivery
    try {
      delivery = deliveryOf(verified, raw)
      onVerified(ctx, delivery)
    } catch (e) {
      await release(ticket, networked)
      throw e
    }
    settleWithAnswer(ctx.res, ticket, networked)
    ctx.state.webhook = delivery
    req.webhook = delivery
    ctx.request.rawBody = delivery.rawBody
    ctx.request.body = delivery.payload
    return next()
  }
}

module.exports = { expressWebhook, koaWebhook, makeExpress, makeKoa, guardOf }

'use strict'

// Feathers v5: transport middleware for @feathersjs/express and @feathersjs/koa, a
// `requireHmac()` hook, an authentication strategy that takes identity from the key's subject
// only, and a compare-and-set helper for signed version values (time-of-check/time-of-use).
// Needs @feathersjs/errors (and @feathersjs/authentication for the strategy).

const errors = require('@feathersjs/errors')
const { HmacGuardError } = require('./core.js')
const { expressMiddleware } = require('./express.js')
const { koaMiddleware } = require('./koa.js')
const { makeExpress, makeKoa, guardOf } = require('./webhook.js')

const BY_STATUS = {
  400: errors.BadRequest,
  401: errors.NotAuthenticated,
  500: errors.GeneralError,
  503: errors.Unavailable,
}

/** 413 is not among @feathersjs/errors' classes; this one formats like them. */
class PayloadTooLarge extends errors.FeathersError {
  constructor(message, data) {
    super(message, 'PayloadTooLarge', 413, 'payload-too-large', data)
  }
}

/** An HmacGuardError as the matching @feathersjs/errors error; `data.code` keeps the ERR_* code. */
function toFeathersError(err) {
  if (!(err instanceof HmacGuardError)) {
    if (err && err.code === 'ERR_BODY_PARSE') return new errors.BadRequest(err.message, { code: err.code })
    return err
  }
  const Cls = err.status === 413 ? PayloadTooLarge : BY_STATUS[err.status] || errors.GeneralError
  return new Cls(err.message, { code: err.code })
}

/**
 * Express transport middleware (@feathersjs/express). Mount with `app.use(...)` before
 * `express.json()`. Signed requests are verified (failures go to Feathers' error handler);
 * unsigned ones pass without `params.hmac`, for `requireHmac()` to decide per service.
 */
function hmacExpress(guard, options = {}) {
  return expressMiddleware(guard, {
    optional: true,
    ...options,
    onError: 'next',
    mapError: toFeathersError,
    onVerified(req, verified) {
      req.feathers = { ...req.feathers, hmac: verified, rawBody: req.rawBody }
    },
  })
}

/**
 * Koa transport middleware (@feathersjs/koa). Mount after `errorHandler()` and before
 * `bodyParser()`; wrap the body parser with `unlessVerified(bodyParser())` so it does not try
 * to read a body that was already verified and parsed.
 */
function hmacKoa(guard, options = {}) {
  return koaMiddleware(guard, {
    optional: true,
    ...options,
    onError: 'throw',
    mapError: toFeathersError,
    onVerified(ctx, verified) {
      ctx.feathers = { ...ctx.feathers, hmac: verified, rawBody: ctx.request.rawBody }
    },
  })
}

/** Runs a Koa middleware (a body parser) only for requests hmac-guard did not already read. */
function unlessVerified(middleware) {
  return (ctx, next) => (ctx.state && (ctx.state.hmac || ctx.state.webhook) ? next() : middleware(ctx, next))
}

/**
 * A webhook receiver for @feathersjs/express: `app.use('/hooks/stripe', webhookExpress('stripe',
 * { secrets: [...] }))` before `express.json()`, then a service on the same path whose `create`
 * gets the payload as `data` and the delivery as `params.webhook`. The delivery is committed when
 * the service answers 2xx and released when it fails; refusals (duplicates: 200, in flight: 409)
 * are answered as the core says, before Feathers sees the request. `.guard` is its Guard.
 */
function webhookExpress(preset, options) {
  const guard = guardOf(preset, options, 'webhookExpress')
  const receiver = makeExpress(guard, (req, delivery) => {
    req.feathers = { ...req.feathers, webhook: delivery, rawBody: delivery.rawBody }
  })
  return Object.assign(receiver, { guard })
}

/**
 * The same for @feathersjs/koa: mount it (for the webhook path) after `errorHandler()` and before
 * `unlessVerified(bodyParser())`; the service gets `params.webhook`.
 */
function webhookKoa(preset, options) {
  const guard = guardOf(preset, options, 'webhookKoa')
  const receiver = makeKoa(guard, (ctx, delivery) => {
    ctx.feathers = { ...ctx.feathers, webhook: delivery, rawBody: delivery.rawBody }
  })
  return Object.assign(receiver, { guard })
}

/**
 * A hook that rejects external calls without a verified signature (NotAuthenticated with
 * `data.code = 'ERR_MISSING_SIGNATURE'`). Internal calls (no `provider`) pass unless
 * `{ internal: true }`. `subjects`: optional list of key subjects allowed.
 */
function requireHmac(options = {}) {
  // Works as a regular before hook (context) and as an around hook (context, next).
  return async function requireHmacHook(context, next) {
    const params = context.params || {}
    if (params.provider || options.internal) {
      const hmac = params.hmac
      if (!hmac) throw new errors.NotAuthenticated('request is not signed', { code: 'ERR_MISSING_SIGNATURE' })
      if (options.subjects && !options.subjects.includes(hmac.subject)) throw new errors.Forbidden('key is not allowed here')
    }
    if (typeof next === 'function') await next()
    return context
  }
}

/**
 * Compare-and-set from a signed version value. The client covers a header (default
 * `x-expected-version`) in its signature; for `patch`/`update` this hook copies the *signed*
 * value into the adapter query (`{ [field]: signed }`) and sets `data[field] = signed + 1`, so
 * the adapter only writes the record if it still has the version the client saw. A stale
 * version answers 409 Conflict instead of the adapter's 404.
 */
function compareAndSet(options = {}) {
  const header = options.header || 'x-expected-version'
  const field = options.field || 'version'
  return async function compareAndSetHook(context, next) {
    if (context.method !== 'patch' && context.method !== 'update') {
      if (typeof next === 'function') await next()
      return context
    }
    const hmac = context.params.hmac
    const signed = hmac && hmac.component(header)
    if (signed === undefined) throw new errors.BadRequest(`the signature must cover ${header}`, { code: 'ERR_MISSING_COMPONENT' })
    const expected = Number(signed)
    if (!Number.isSafeInteger(expected)) throw new errors.BadRequest(`${header} must be an integer`)
    context.params = { ...context.params, query: { ...context.params.query, [field]: expected } }
    context.data = { ...context.data, [field]: expected + 1 }
    if (!next) return context
    try {
      await next()
    } catch (e) {
      if (e && e.code === 404 && context.id != null) throw new errors.Conflict(`${field} is no longer ${expected}`, { id: context.id })
      throw e
    }
    return context
  }
}

/**
 * @feathersjs/authentication strategy `hmac`: the entity comes from the verified key's subject,
 * never from anything the client sends (the authentication payload is ignored).
 * Configuration (`authentication.hmac`): `service`/`entity` (default: the top-level ones),
 * `subjectPrefix` (e.g. `user:`; the rest of the subject is the entity id).
 */
function createHmacStrategy() {
  const { AuthenticationBaseStrategy } = require('@feathersjs/authentication')
  return class HmacStrategy extends AuthenticationBaseStrategy {
    get settings() {
      const top = this.authentication.configuration
      return { service: top.service, entity: top.entity, ...(this.configuration || {}) }
    }

    async parse(req) {
      return req && req.hmac ? { strategy: this.name } : null
    }

    async authenticate(_authentication, params) {
      const hmac = params && params.hmac
      if (!hmac || !hmac.subject) throw new errors.NotAuthenticated('request is not signed by a key with a subject', { code: 'ERR_MISSING_SIGNATURE' })
      const { service, entity, subjectPrefix } = this.settings
      let id = hmac.subject
      if (subjectPrefix) {
        if (!id.startsWith(subjectPrefix)) throw new errors.NotAuthenticated('key subject does not name an entity')
        id = id.slice(subjectPrefix.length)
      }
      const result = { authentication: { strategy: this.name, keyId: hmac.keyId }, hmac }
      if (service && entity) {
        const entityService = this.app.service(service)
        try {
          result[entity] = await entityService.get(id, { provider: undefined })
        } catch (e) {
          throw new errors.NotAuthenticated('key subject does not name an entity', { code: 'ERR_UNKNOWN_KEY' })
        }
      }
      return result
    }
  }
}

let Strategy
module.exports = {
  hmacExpress,
  hmacKoa,
  unlessVerified,
  webhookExpress,
  webhookKoa,
  requireHmac,
  compareAndSet,
  toFeathersError,
  PayloadTooLarge,
  get HmacStrategy() {
    if (!Strategy) Strategy = createHmacStrategy()
    return Strategy
  },
}

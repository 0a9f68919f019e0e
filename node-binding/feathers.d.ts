// Type definitions for hmac-guard/feathers (Feathers v5 adapters).

import type { FeathersError } from '@feathersjs/errors'
import type { AuthenticationBaseStrategy, AuthenticationResult } from '@feathersjs/authentication'
import type { Params } from '@feathersjs/feathers'
import type { ExpressLikeMiddleware, Guard, Verified, AdapterOptions, WebhookEvent, WebhookPreset, WebhookOptions, ExpressWebhook, KoaWebhook } from './index'

/** `params.hmac` and `params.rawBody`, set by the transport middleware on verified requests. */
export interface HmacParams extends Params {
  hmac?: Verified
  rawBody?: Buffer
  /** Set by `webhookExpress` / `webhookKoa` on a verified delivery. */
  webhook?: WebhookEvent
}

/**
 * A webhook receiver for @feathersjs/express: `app.use('/hooks/stripe', webhookExpress('stripe', {
 * secrets: [...] }))` before `express.json()`; the service on that path gets `params.webhook` and the
 * payload as `data`. Committed when the service answers 2xx, released when it fails.
 */
export declare function webhookExpress(preset: WebhookPreset, options: WebhookOptions): ExpressWebhook
export declare function webhookExpress(guard: Guard): ExpressWebhook

/** The same for @feathersjs/koa: after `errorHandler()`, before `unlessVerified(bodyParser())`. */
export declare function webhookKoa(preset: WebhookPreset, options: WebhookOptions): KoaWebhook
export declare function webhookKoa(guard: Guard): KoaWebhook

/** @feathersjs/express transport middleware: mount before `express.json()`. */
export declare function hmacExpress(guard: Guard, options?: AdapterOptions): ExpressLikeMiddleware

/** @feathersjs/koa transport middleware: mount after `errorHandler()`, before `unlessVerified(bodyParser())`. */
export declare function hmacKoa(guard: Guard, options?: AdapterOptions): (ctx: any, next: () => Promise<any>) => Promise<any>

/** Runs a Koa middleware only for requests hmac-guard did not already read. */
export declare function unlessVerified<M extends (ctx: any, next: () => Promise<any>) => any>(middleware: M): (ctx: any, next: () => Promise<any>) => any

/** Rejects external calls without a verified signature (usable as a before or an around hook). */
export declare function requireHmac(options?: { internal?: boolean; subjects?: string[] }): (context: any, next?: () => Promise<void>) => Promise<any>

/** Compare-and-set from a signed version header (TOCTOU); register as an around hook on patch/update. */
export declare function compareAndSet(options?: { header?: string; field?: string }): (context: any, next?: () => Promise<void>) => Promise<any>

/** An HmacGuardError as the matching @feathersjs/errors error (`data.code` keeps the ERR_* code). */
export declare function toFeathersError(err: unknown): unknown

export declare class PayloadTooLarge extends FeathersError {
  constructor(message?: string, data?: unknown)
}

/** Authentication strategy `hmac`: the entity comes from the verified key's subject only. */
export declare class HmacStrategy extends AuthenticationBaseStrategy {
  parse(req: { hmac?: Verified }): Promise<{ strategy: string } | null>
  authenticate(authentication: unknown, params: HmacParams): Promise<AuthenticationResult>
}

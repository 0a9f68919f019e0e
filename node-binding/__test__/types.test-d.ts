// Type-level test: compiled with `tsc --noEmit` (not run). Exercises the public API as users write it.

import express from 'express'
import Koa from 'koa'
import { createWriteStream } from 'node:fs'
import http from 'node:http'
import {
  Guard,
  ManualClock,
  Signer,
  configFields,
  HmacGuardError,
  errorCodes,
  coreVersion,
  expressMiddleware,
  koaMiddleware,
  verifyUpload,
  createVerifyStream,
  signRequest,
  sendError,
  type Verified,
  type ErrorCode,
  type Explanation,
  type GuardSettings,
  type ConfigField,
  type HmacGuardEvent,
  type HmacRequest,
  type GuardStats,
  type MetricFamily,
  expressWebhook,
  koaWebhook,
  signWebhook,
  type WebhookEvent,
  type WebhookDelivery,
  type WebhookPreset,
} from '../index'
import { hmacExpress, hmacKoa, requireHmac, compareAndSet, HmacStrategy, unlessVerified, toFeathersError, webhookExpress, webhookKoa, type HmacParams } from '../feathers'
import { registerMetrics } from '../prometheus'
import { Registry, register } from 'prom-client'
import type { Request } from 'express'

const guard = new Guard({
  scheme: 'rfc9421',
  keys: [{ id: 'k1', secret: Buffer.alloc(32), subject: 'user:1', notAfter: new Date() }],
  policy: { maxAgeSecs: 300, bodyLimit: 1 << 20, requiredComponents: ['@method', '@path'], replay: 'consume' },
  replayStore: { capacity: 100_000, perKeyQuota: 1000 },
})
guard.addKey({ id: 'k2', secret: 'a string secret of at least 32 bytes!!', algorithm: 'hmac-sha512' })

// Every policy option, the profile, the test clock; the effective settings; the option table.
const clock = new ManualClock(1_700_000_000)
clock.set(1_700_000_100)
clock.advance(1.5)
const clockNow: number = clock.now()
const tuned = new Guard({
  profile: 'interop',
  clock,
  policy: {
    maxAgeSecs: 60,
    maxFutureSkewSecs: 5,
    requireNonce: false,
    requiredParams: ['created', 'keyid'],
    acceptedLabels: ['sig1'],
    requiredTag: 'app',
    maxHeaderLen: 4096,
    minNonceLen: 16,
    maxNonceLen: 64,
    maxComponents: 8,
    trustProxy: true,
  },
})
const settings: GuardSettings = tuned.settings
const maxAge: number = settings['policy.max_age_secs']
const trusted: boolean = settings['policy.trust_proxy']
const clockKind: 'manual' | 'system' = settings.clock
const fields: ConfigField[] = configFields()
const spelled: string | undefined = fields.find((f) => f.id === 'policy.trust_proxy')?.name
new Guard({ profile: 'strict', keys: [{ id: 'k', secret: new Uint8Array(32), notBefore: 0, notAfter: new Date() }] })
// @ts-expect-error the fixed clock is a ManualClock now (`now` and `setNow()` are gone)
new Guard({ now: 1_700_000_000 })
// @ts-expect-error `replay: 'reserve'` + `reserveHoldSecs`, not an object
new Guard({ policy: { replay: { mode: 'reserve', holdSecs: 30 } } })
// @ts-expect-error only the two profiles
new Guard({ profile: 'lenient' })
// @ts-expect-error setNow() is gone: move the ManualClock
guard.setNow(1)
void [clockNow, maxAge, trusted, clockKind, spelled]
const removed: boolean = guard.removeKey('k2')
const ids: string[] = guard.keyIds()

const v: Verified = guard.verify({ method: 'POST', url: '/x?y=1', headers: { host: 'h' }, body: Buffer.from('') })
const path: string | undefined = v.component('@path')
const subject: string | undefined = v.subject
v.replayTicket?.commit()
guard.verifyAsync({ method: 'GET', url: '/', headers: [['host', 'h']] }).then((x) => x.keyId)

const verification = guard.begin({ method: 'POST', url: '/', headers: ['host', 'h'] })
verification.update(new Uint8Array(4)).update(Buffer.alloc(1))
const done: Verified = verification.finish()
const n: number = verification.bytesSeen

const ex: Explanation = guard.explain({ method: 'GET', url: '/', headers: new Headers({ host: 'h' }) })
const base: string | undefined = ex.signatureBase

try {
  guard.verify({ method: 'GET', url: '/' })
} catch (e) {
  if (e instanceof HmacGuardError) {
    const code: ErrorCode = e.code
    const status: number = e.status
    const json: { code: ErrorCode; message: string } = e.toJSON()
  }
}
const table = errorCodes().map((c) => `${c.code} ${c.status} ${c.message}`)
const ver: string = coreVersion()

const signer = new Signer({ id: 'k1', secret: Buffer.alloc(32) })
const headers: Record<string, string> = signer.sign({ method: 'POST', url: 'https://api.example.com/x', body: '{}' }, { components: ['@method'], created: 1 })
const simple = new Signer({ id: 'k1', secret: Buffer.alloc(32), scheme: 'simple' }).sign({ method: 'GET', url: '/' }, { scheme: 'simple', timestamp: 1 })
const init = signRequest(signer, 'https://api.example.com/x', { method: 'POST', body: '{}' })
void fetch('https://api.example.com/x', { method: init.method, headers: init.headers, body: init.body })

// Express 5
const app = express()
app.post('/hook', expressMiddleware(guard), (req, res) => {
  const hmac: Verified | undefined = req.hmac
  const raw: Buffer | undefined = req.rawBody
  res.json({ key: req.hmac?.keyId, body: req.body })
})
app.post('/next', expressMiddleware(guard, { onError: 'next', optional: true, parse: false }), (_req, res) => res.end())
app.post('/upload', async (req, res) => {
  try {
    const r = await verifyUpload(guard, req, createWriteStream('/tmp/x'))
    res.json({ ok: r.keyId })
  } catch (e) {
    sendError(req, res, e as Error)
  }
})
const vs = createVerifyStream(guard.begin({ method: 'GET', url: '/' }))
vs.verified.then((x) => x.nonce)

// Koa
const k = new Koa()
k.use(koaMiddleware(guard, { onError: 'throw' }))
k.use(async (ctx) => {
  ctx.body = { subject: (ctx.state.hmac as Verified).subject }
})
http.createServer(k.callback())

// Feathers
const mw = hmacExpress(guard)
const km = hmacKoa(guard, { optional: true })
const hooks = [requireHmac(), compareAndSet({ header: 'x-expected-version' })]
const strategy = new HmacStrategy()
const wrapped = unlessVerified(async (_ctx: any, next: () => Promise<any>) => next())
toFeathersError(new HmacGuardError('ERR_REPLAY'))

export { removed, ids, path, subject, n, done, base, table, ver, headers, simple, mw, km, hooks, strategy, wrapped }

// The Redis replay store (issue 5): options, async finish, async ticket calls.
async function redisTypes(): Promise<void> {
  const shared = new Guard({
    keys: [{ id: 'k1', secret: Buffer.alloc(32) }],
    redisUrl: process.env.HMAC_GUARD_REDIS_URL ?? 'redis://127.0.0.1:6379/0',
    redisPrefix: 'my-app',
    redisTimeoutMs: 250,
    redisFailOpen: false,
    policy: { replay: 'reserve', reserveHoldSecs: 60 },
  })
  const inMemory = new Guard({ redisUrl: null })
  // TLS with a private CA: PEM as a Buffer, a Uint8Array or a string; null for the built-in roots.
  const privateCa = new Guard({ redisUrl: 'rediss://redis.internal:6380/0', redisTlsCa: Buffer.from('-----BEGIN CERTIFICATE-----') })
  const caString = new Guard({ redisUrl: 'rediss://redis.internal:6380/0', redisTlsCa: '-----BEGIN CERTIFICATE-----' })
  const caBytes = new Guard({ redisUrl: 'rediss://redis.internal:6380/0', redisTlsCa: new Uint8Array(0) })
  const publicRoots = new Guard({ redisUrl: 'rediss://redis.example.com:6380/0', redisTlsCa: null })
  // @ts-expect-error a path is not a PEM: read the file (or set HMAC_GUARD_REDIS_TLS_CA_FILE)
  new Guard({ redisUrl: 'rediss://redis.internal:6380/0', redisTlsCa: new URL('file:///ca.pem') })
  const kind: 'memory' | 'redis' = shared.store
  const uses: number = shared.failOpenUses
  const verification = shared.begin({ method: 'POST', url: '/hook', headers: { host: 'h' } })
  verification.update(Buffer.from('{}'))
  const done: Verified = await verification.finishAsync()
  if (done.replayTicket) {
    await done.replayTicket.commitAsync()
    await done.replayTicket.releaseAsync()
  }
  void kind
  void uses
  void inMemory
  void [privateCa, caString, caBytes, publicRoots]
}
void redisTypes

// Observability: the hook, loggers, stats and metrics.
const events: HmacGuardEvent[] = []
const observed = new Guard({
  onEvent: (e) => {
    events.push(e)
    const level: 'debug' | 'info' | 'warn' = e.level
    const code: ErrorCode | null = e.code
    void [level, code, e.keyId, e.durationMs, e.suppressed, e.message]
  },
  logger: console,
  reportAccepted: true,
  logRate: 5,
  logLevel: 'debug',
})
new Guard({ logger: false, onEvent: async () => {} })
new Guard({ logger: { info: (_m: string, _f: object) => {}, warn: () => {} } })
// @ts-expect-error `true` is not a logger: leave it out for console
new Guard({ logger: true })
// @ts-expect-error only the three levels
new Guard({ logLevel: 'error' })
const stats: GuardStats = observed.stats()
const replayState: 'ok' | 'failing' = stats.replayStore.state
const replays: number | undefined = stats.rejections.ERR_REPLAY
const perKey: number | undefined = stats.byKey.k1?.accepted
const text: string = observed.metrics({ guard: 'api' })
const families: MetricFamily[] = observed.metricFamilies()
const names: string[] = registerMetrics({ api: observed, hooks: guard }, { registry: new Registry() })
registerMetrics(observed, { registry: register })
observed.begin({ method: 'POST', url: '/', headers: { host: 'h' } }).abort(new HmacGuardError('ERR_BAD_FRAMING', 'bad chunk'))
void [replayState, replays, perKey, text, families, names]

// Routes behind the middleware: a named request type, no narrowing.
app.post('/typed', expressMiddleware(guard), (req, res) => {
  const { hmac, rawBody } = req as HmacRequest<Request>
  const who: string | undefined = hmac.subject
  res.json({ who, bytes: rawBody.length, signedPath: hmac.component('@path'), params: (req as HmacRequest<Request>).params })
})

// Webhooks: a receiver per route, the delivery on the request, the signer for tests, rotation.
const stripeHook = expressWebhook('stripe', { secrets: [process.env.STRIPE_WEBHOOK_SECRET ?? ''], toleranceSecs: 600, dedupeSecs: 86_400, policy: { bodyLimit: 1 << 16, reserveHoldSecs: 30 } })
app.post('/hooks/stripe', stripeHook, (req, res) => {
  const w: WebhookEvent | undefined = req.webhook
  const type: string | null | undefined = w?.type
  const raw: Buffer | undefined = w?.rawBody
  const dedupe: 'signed-id' | 'body-id' | 'signature' | undefined = w?.dedupe
  res.json({ type, bytes: raw?.length, dedupe, secretId: w?.secretId, payload: w?.payload })
})
stripeHook.guard.rotateSecrets(['whsec_next', 'whsec_current'])
const hookGuard = new Guard({ scheme: 'github', secrets: 'a-github-secret', redisUrl: 'redis://127.0.0.1:6379' })
app.post('/hooks/github', expressWebhook(hookGuard), (_req, res) => res.end())
new Koa().use(koaWebhook('slack', { secrets: ['x'.repeat(32)] }))
const presetName: WebhookPreset = 'standard-webhooks'
const signedHook: { headers: Record<string, string>; signed: Buffer } = signWebhook(presetName, { secret: 'whsec_abc', body: '{}', timestamp: 1, id: 'msg_1' })
signWebhook('svix', { secrets: ['whsec_a', 'whsec_b'], body: Buffer.from('{}') })
const delivered: WebhookDelivery | undefined = hookGuard.verify({ method: 'POST', url: '/', headers: signedHook.headers, body: '{}' }).webhook
const scheme: 'rfc9421' | 'simple' | WebhookPreset = hookGuard.scheme
webhookExpress('shopify', { secrets: ['y'.repeat(32)] })
webhookKoa('stripe', { secrets: ['whsec_' + 'z'.repeat(24)] })
const params: HmacParams = { webhook: undefined }
void [delivered, scheme, params]
// @ts-expect-error not a preset
expressWebhook('paypal', { secrets: ['x'] })
// @ts-expect-error the preset names the scheme
expressWebhook('stripe', { scheme: 'simple', secrets: ['x'] })
// @ts-expect-error a receiver built from a Guard takes no options
expressWebhook(hookGuard, { secrets: ['x'] })

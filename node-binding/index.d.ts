// Type definitions for hmac-guard (Node.js binding).

/// <reference types="node" />

import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Transform, Writable } from 'node:stream'

/** Bytes accepted wherever a body or secret is passed. Strings are UTF-8 encoded. */
export type BytesLike = Buffer | Uint8Array | ArrayBuffer | string

/**
 * Request headers in any common shape: Node's flat `rawHeaders`, an array of `[name, value]`
 * pairs, a plain object (`req.headers`), a fetch `Headers`, or a `Map`.
 */
export type HeadersLike =
  | ReadonlyArray<string>
  | ReadonlyArray<readonly [string, string]>
  | Record<string, string | ReadonlyArray<string> | number | undefined>
  | { forEach(cb: (value: string, name: string) => void): void; get(name: string): string | null }
  | ReadonlyMap<string, string | ReadonlyArray<string>>

/** The stable error codes (see `tests/error_codes.json`). */
export type ErrorCode =
  | 'ERR_MISSING_SIGNATURE'
  | 'ERR_MISSING_HEADER'
  | 'ERR_MALFORMED_SIGNATURE'
  | 'ERR_MALFORMED_HEADER'
  | 'ERR_HEADER_TOO_LARGE'
  | 'ERR_LABEL_NOT_ACCEPTED'
  | 'ERR_MISSING_PARAMETER'
  | 'ERR_INVALID_PARAMETER'
  | 'ERR_MISSING_COMPONENT'
  | 'ERR_COMPONENT_NOT_FOUND'
  | 'ERR_UNSUPPORTED_COMPONENT'
  | 'ERR_UNSUPPORTED_ALGORITHM'
  | 'ERR_UNKNOWN_KEY'
  | 'ERR_KEY_NOT_YET_VALID'
  | 'ERR_KEY_EXPIRED'
  | 'ERR_ALGORITHM_MISMATCH'
  | 'ERR_TIMESTAMP_EXPIRED'
  | 'ERR_TIMESTAMP_IN_FUTURE'
  | 'ERR_SIGNATURE_EXPIRED'
  | 'ERR_SIGNATURE_MISMATCH'
  | 'ERR_DIGEST_REQUIRED'
  | 'ERR_UNSUPPORTED_DIGEST'
  | 'ERR_DIGEST_MISMATCH'
  | 'ERR_BODY_TOO_LARGE'
  | 'ERR_BODY_LENGTH_MISMATCH'
  | 'ERR_BAD_FRAMING'
  | 'ERR_REPLAY'
  | 'ERR_DUPLICATE_DELIVERY'
  | 'ERR_DELIVERY_IN_PROGRESS'
  | 'ERR_REPLAY_STORE_FULL'
  | 'ERR_REPLAY_STORE_UNAVAILABLE'
  | 'ERR_INVALID_CONFIG'
  | 'ERR_INVALID_STATE'
  | 'ERR_INTERNAL'

/** One entry of the error table. */
export interface ErrorCodeInfo {
  code: ErrorCode
  /** HTTP status adapters answer with (400, 401, 413, 500, 503). */
  status: number
  /** Generic message, safe to send to clients. */
  message: string
}

/** Every failure of hmac-guard. */
export declare class HmacGuardError extends Error {
  constructor(code: ErrorCode, reason?: string)
  readonly name: 'HmacGuardError'
  /** Stable machine-readable code. */
  readonly code: ErrorCode
  /** HTTP status for this error. */
  readonly status: number
  /** Same as `status` (http-errors / Express convention). */
  readonly statusCode: number
  /** Whether `message` may be shown to clients (status < 500). */
  readonly expose: boolean
  /** Detailed internal reason for server logs. Never contains a secret or an expected MAC. */
  readonly reason: string
  /** `{ code, message }`: what adapters send to clients. */
  toJSON(): { code: ErrorCode; message: string }
}

/** Every error code with its status and generic message. */
export declare function errorCodes(): ErrorCodeInfo[]

/** The version of the Rust core the addon was built from. */
export declare function coreVersion(): string

/** One option of the configuration contract: its canonical id and its Node spelling. */
export interface ConfigField {
  /** Canonical id, the same in every package: `policy.max_age_secs`, `key.not_after`, `redis_url`. */
  id: string
  /** The Node spelling: a dotted path from the options object (`policy.maxAgeSecs`); a key's fields within the key (`notAfter`). */
  name: string
}

/** Every guard option and key field, from the core's own table (`config::FIELDS`). */
export declare function configFields(): ConfigField[]

/**
 * A clock that only moves when told to, for tests: `new Guard({ clock: new ManualClock(1700000000) })`.
 * The same class as Python's `ManualClock`.
 */
export declare class ManualClock {
  /** A clock standing at `now` (Unix seconds). */
  constructor(now: number)
  /** Sets the time (Unix seconds). */
  set(now: number): void
  /** Moves the clock by `secs` seconds (millisecond resolution; negative moves it back). */
  advance(secs: number): void
  /** The time in whole Unix seconds. */
  now(): number
}

export type Algorithm = 'hmac-sha256' | 'hmac-sha512'

/** A verification key. */
export interface KeyOptions {
  /** Key id as clients send it: printable ASCII (any sf-string; the simple scheme's header: no spaces, quotes or backslashes). */
  id: string
  /** At least 32 bytes. A string is taken as UTF-8. */
  secret: BytesLike
  /** Default `hmac-sha256`. */
  algorithm?: Algorithm
  /** The principal this key belongs to: after verification, the only source of identity. */
  subject?: string
  /** Not accepted before this time (Unix seconds or a Date). */
  notBefore?: number | Date
  /** Not accepted from this time on (Unix seconds or a Date). */
  notAfter?: number | Date
}

/**
 * Verification policy; every field is optional and defaults to the core's safe value. The core
 * validates every value and refuses unknown names (`ERR_INVALID_CONFIG` naming the option, with a
 * suggestion: `policy.bodyLimt` → `policy.bodyLimit`).
 */
export interface PolicyOptions {
  /** Oldest acceptable signature, seconds before now (default 300). */
  maxAgeSecs?: number
  /** Furthest acceptable timestamp after now, for clock skew (default 30). */
  maxFutureSkewSecs?: number
  /** Largest body accepted, in bytes (default 1 MiB). Declared and streamed. */
  bodyLimit?: number
  /** Whether a nonce is required (default true). */
  requireNonce?: boolean
  /** RFC 9421: components every signature must cover (default `@method @authority @path @query`, plus `content-digest` with a body). */
  requiredComponents?: string[]
  /** RFC 9421: parameters every signature must carry (default `created nonce keyid`). */
  requiredParams?: Array<'created' | 'expires' | 'nonce' | 'keyid' | 'alg' | 'tag'>
  /** RFC 9421: accepted labels (default: the first label of `Signature-Input`). */
  acceptedLabels?: string[]
  /** RFC 9421: the `tag` parameter must equal this. */
  requiredTag?: string
  /** `consume` (default): a nonce is claimed once. `reserve`: webhook deliveries, see ReplayTicket. */
  replay?: 'consume' | 'reserve'
  /** With `replay: 'reserve'` only: how long a reservation holds without a commit (1 to 86400, default 60). */
  reserveHoldSecs?: number
  /** Longest value of any header the scheme reads (256 to 1 MiB, default 8192). */
  maxHeaderLen?: number
  /** Shortest nonce accepted (1 to 1024, default 8; at most `maxNonceLen`). */
  minNonceLen?: number
  /** Longest nonce accepted (1 to 1024, default 128). */
  maxNonceLen?: number
  /** Most covered components in one signature (1 to 256, default 32). */
  maxComponents?: number
  /**
   * Take the request's scheme and host from the nearest proxy's `Forwarded` (`proto=`, `host=`),
   * else `X-Forwarded-Proto` / `X-Forwarded-Host` (the last element: one trusted hop). Default
   * false. Only behind a proxy you control that sets or overwrites these headers on every request:
   * otherwise a client chooses the scheme and host its signature is checked against.
   */
  trustProxy?: boolean
}

/** The in-process replay store. */
export interface ReplayStoreOptions {
  /** Most nonces held at once (default 1 000 000). When full of live nonces the guard fails closed with `ERR_REPLAY_STORE_FULL` (503). */
  capacity?: number
  /** Most nonces one key id may hold. */
  perKeyQuota?: number
}

/**
 * A guard's options, passed to the core as given: it validates every value, fills in defaults
 * (see `guard.settings`) and refuses unknown names. `null` is the same as leaving an option out.
 */
export interface GuardOptions {
  /**
   * `rfc9421` (RFC 9421 HTTP Message Signatures, default), `simple` (X-HMAC-* headers), or a
   * webhook provider's preset (then give `secrets`; `keys` and the signed-request policy options
   * are refused; see `expressWebhook`).
   */
  scheme?: 'rfc9421' | 'simple' | WebhookPreset
  /**
   * Webhook presets only: the endpoint's secrets exactly as the provider's dashboard shows them
   * (`whsec_…` for Standard Webhooks, Svix and Stripe), one string or a list of at most 8 (during
   * a rotation, each is tried; `Verified.keyId` names the match `secret-<index>`).
   */
  secrets?: string | string[]
  /** Webhook presets that sign a timestamp: the clock tolerance both ways, seconds (default 300). */
  toleranceSecs?: number
  /**
   * Webhook presets: how long a processed delivery is remembered, seconds (default: the
   * provider's retry horizon: 4 days Standard Webhooks/Svix/Stripe, 3 days GitHub, 1 h Slack,
   * 1 day Shopify). GitHub and Shopify sign no timestamp: a captured delivery older than this
   * verifies again.
   */
  dedupeSecs?: number
  /**
   * Webhook presets: the receiver's name in the replay store (1 to 128 visible ASCII). Deliveries
   * are deduplicated per receiver; by default the name is derived from `secrets`, so name it to
   * keep the deduplication across a change of secrets, or to tell apart two receivers with the
   * same secrets.
   */
  endpoint?: string
  /**
   * `strict` (default): a nonce is required and signatures must cover `@method @authority @path
   * @query`. `interop` (RFC 9421 only): the defaults of common third-party signers — no nonce
   * required and no required components. The trade-off: without a nonce there is **no replay
   * protection**; a captured request can be replayed until it ages out of `maxAgeSecs`. Explicit
   * policy options still override the profile.
   */
  profile?: 'strict' | 'interop'
  keys?: KeyOptions[]
  policy?: PolicyOptions
  /** Settings of the in-memory replay store (the default store; not with `redisUrl`). */
  replayStore?: ReplayStoreOptions
  /**
   * Replay protection shared by every process and host: `redis://[user:password@]host:port/db`.
   * One `SET NX PX` round trip per verification, sent by the core's own Redis client and awaited
   * (never on the event loop, no libuv pool thread waiting on it): use
   * `verifyAsync`/`finishAsync` (the adapters do); the sync `verify`/`finish` throw
   * `ERR_INVALID_STATE` with this store. Absent (or `null`): `process.env.HMAC_GUARD_REDIS_URL`,
   * read by the core; `''`: the in-memory store even when that variable is set.
   */
  redisUrl?: string | null
  /** Key prefix in Redis, to share one Redis between applications (default `hmac-guard`). */
  redisPrefix?: string
  /**
   * Timeout of one verification's Redis work, in milliseconds (default 250): a call that opens a
   * new connection keeps the connect and its command within this one budget.
   */
  redisTimeoutMs?: number
  /**
   * While Redis is unreachable: `false` (default) fails closed with `ERR_REPLAY_STORE_UNAVAILABLE`
   * (503); `true` accepts requests *without replay protection*, counted in `guard.failOpenUses`
   * and reported as `warn` events (logged within `logRate`).
   */
  redisFailOpen?: boolean
  /**
   * For a `rediss://` URL: the CA certificate(s) as PEM (a string is taken as UTF-8) to verify the
   * Redis server against *instead of* the built-in public roots: a private CA or a self-signed
   * Redis. Absent (or `null`): the PEM file named by `process.env.HMAC_GUARD_REDIS_TLS_CA_FILE`
   * when that is set (and a Redis URL is in use), else the built-in roots. Verification itself
   * cannot be turned off. `ERR_INVALID_CONFIG` when it holds no certificate, comes with a plain
   * `redis://` URL, or the file cannot be read.
   */
  redisTlsCa?: Buffer | Uint8Array | ArrayBuffer | string | null
  /** Testing only: a clock that moves when told to. Default: the system clock. */
  clock?: ManualClock
  /**
   * Development only: every adapter's JSON error adds the core's `reason` (`{error: {code,
   * message, reason}}`), which names the check that failed. It never holds a secret, but it helps
   * whoever probes the service. Default `false`.
   */
  exposeReasons?: boolean
  /**
   * Called with every event (see HmacGuardEvent): each rejection, each change of the replay
   * store's state, each fail-open use, and with `reportAccepted` each acceptance. It runs on the
   * event loop a moment after the verdict (the answer may be out already). A hook that throws or
   * rejects is reported once through the logger and otherwise ignored.
   */
  onEvent?: (event: HmacGuardEvent) => unknown
  /**
   * Where log lines go: `console` by default (`console[level](message)`); a pino logger (called
   * `logger[level](fields, message)`), or any logger with `info`/`warn`/`debug` methods such as
   * winston (called `logger[level](message, fields)`); `false` for none (a hook still gets every
   * event). `fields`: the event without `message`, `log` and `level`.
   */
  logger?: HmacGuardLogger | false
  /** Accepted requests are events too, at debug level (default `false`). */
  reportAccepted?: boolean
  /** Log lines per second per level, 1 to 100000 (default 10); the next line says how many were held back. */
  logRate?: number
  /** Events below this level are not logged (default `info`; unsigned requests are `debug`). A hook still gets them. */
  logLevel?: 'debug' | 'info' | 'warn'
}

/** A logger hmac-guard writes its lines to (console, pino, winston, …). */
export interface HmacGuardLogger {
  debug?(...args: any[]): unknown
  info(...args: any[]): unknown
  warn(...args: any[]): unknown
}

/**
 * One event, as `onEvent` receives it; the logger gets `message` at `level`, with the other
 * fields, when `log` is true. Never holds a secret or an expected MAC.
 */
export interface HmacGuardEvent {
  /** A verification's verdict, a change of the replay store's state, or a request accepted without replay protection. */
  type: 'verification' | 'store' | 'fail_open'
  /** Verifications: `accepted`, `rejected`, `aborted` (the client went away mid-body). The store: `failing`, `failing_open`, `ok`. */
  outcome: 'accepted' | 'rejected' | 'aborted' | 'failing' | 'failing_open' | 'ok'
  code: ErrorCode | null
  /** The HTTP status of a rejection. */
  status: number | null
  scheme: 'rfc9421' | 'simple' | null
  /** The key id of the ring the request named; `null` before one was found (unsigned, an id the guard does not have). */
  keyId: string | null
  /** Head to verdict, body and replay store included; for a store that answers again, how long it failed. */
  durationMs: number | null
  store: 'memory' | 'redis'
  /** Why (the core's reason; never a secret). */
  reason: string | null
  level: 'debug' | 'info' | 'warn'
  /** Whether the logger gets it: false below `logLevel` or past `logRate`. */
  log: boolean
  /** Lines of this level held back by `logRate` since the last one logged. */
  suppressed: number
  /** The log line. */
  message: string
}

/** `guard.stats()`: counters since the guard was built, and the replay store's health now. */
export interface GuardStats {
  scheme: 'rfc9421' | 'simple'
  store: 'memory' | 'redis'
  /** Keys in the key ring. */
  keys: number
  accepted: number
  rejected: number
  /** Verifications abandoned before the verdict (the client went away mid-body). */
  aborted: number
  /** Rejections per error code (codes never seen are left out). */
  rejections: Partial<Record<ErrorCode, number>>
  /** Verdicts per key id of the key ring (requests naming other ids count as ERR_UNKNOWN_KEY only). */
  byKey: Record<string, { accepted: number; rejected: number }>
  /** Head-to-verdict latency: cumulative counts per upper bound in seconds. */
  duration: { count: number; sumSeconds: number; buckets: Array<[le: number, count: number]> }
  replayStore: {
    state: 'ok' | 'failing'
    /** Unix milliseconds since which it has been failing; `null` while it answers. */
    failingSinceMs: number | null
    /** Store calls that got no answer. */
    failures: number
    /** Requests accepted without replay protection (`redisFailOpen`). */
    failOpenUses: number
    stateChanges: number
  }
}

/** One Prometheus sample: the full metric name (`…_bucket` for a histogram), labels, value. */
export interface MetricSample {
  name: string
  labels: Record<string, string>
  value: number
}

/** One Prometheus metric family, as the core defines it. */
export interface MetricFamily {
  name: string
  type: 'counter' | 'gauge' | 'histogram'
  help: string
  samples: MetricSample[]
}

/**
 * The effective settings of a guard, defaults filled in, by canonical id (see `configFields()`).
 * Nothing that could be a secret is listed (no key, URL, prefix, tag or CA).
 */
export interface GuardSettings {
  scheme: 'rfc9421' | 'simple'
  'policy.max_age_secs': number
  'policy.max_future_skew_secs': number
  'policy.body_limit': number
  'policy.require_nonce': boolean
  'policy.replay': 'consume' | 'reserve'
  /** `null` in `consume` mode. */
  'policy.reserve_hold_secs': number | null
  'policy.max_header_len': number
  'policy.min_nonce_len': number
  'policy.max_nonce_len': number
  'policy.max_components': number
  'policy.trust_proxy': boolean
  /** The URL scheme taken when the adapter cannot tell (`https`). */
  default_url_scheme: string
  /** RFC 9421 only. */
  'policy.required_components'?: string[]
  /** RFC 9421 only. */
  'policy.required_params'?: string[]
  /** RFC 9421 only: whether a tag is required (the tag itself is not shown). */
  'policy.required_tag'?: boolean
  store: 'memory' | 'redis'
  /** In-memory store only. */
  'replay_store.capacity'?: number
  /** In-memory store only. */
  'replay_store.per_key_quota'?: number | null
  /** Redis store only. */
  redis_timeout_ms?: number
  /** Redis store only. */
  redis_fail_open?: boolean
  /** How many keys the guard was built with. */
  keys: number
  clock: 'manual' | 'system'
  expose_reasons: boolean
}

/** A request as the verifier sees it. */
export interface RequestInit {
  method: string
  /** The request target as received: `/path?query` (origin form) or an absolute URL. */
  url: string
  /**
   * `http` or `https`: how the request reached the application (`@scheme`, `@target-uri`, the
   * default port of `@authority`). Absent: from an absolute `url`, Express's `req.protocol` or a
   * Node request's TLS socket; otherwise (or `''`) unknown, and the core takes `https` (or, with
   * `policy.trustProxy`, the proxy's forwarded scheme).
   */
  scheme?: string
  headers?: HeadersLike
}

export interface RequestWithBody extends RequestInit {
  body?: BytesLike | null
}

/** A covered component and the value that was signed. */
export interface CoveredComponent {
  /** Identifier as serialized in the signature: `"@method"`, `"content-type"`, … (simple scheme: `method`, `path`, …). */
  id: string
  value: string
}

/**
 * A two-phase replay reservation (`replay: 'reserve'`). With the Redis store use the async
 * methods: `commit`/`release` throw `ERR_INVALID_STATE` there rather than block the event loop.
 */
export declare class ReplayTicket {
  private constructor()
  /** The delivery was processed: keep the nonce for the rest of its window. */
  commit(): void
  /** The handler failed: drop the reservation so the provider's retry can pass. */
  release(): void
  /** As `commit`, off the event loop (Redis: the core's own async client, no libuv pool thread waits on it; in memory: the libuv pool); rejects with HmacGuardError. */
  commitAsync(): Promise<void>
  /** As `release`, off the event loop as `commitAsync`; rejects with HmacGuardError. */
  releaseAsync(): Promise<void>
}

/** A verified request: act only on these values. */
export interface Verified {
  scheme: 'rfc9421' | 'simple' | WebhookPreset
  /** RFC 9421 signature label. */
  label?: string
  keyId: string
  /** The key's subject: the only trustworthy identity. */
  subject?: string
  algorithm: Algorithm
  /** Signature creation time (Unix seconds). */
  created?: number
  /** Signature expiry (Unix seconds). */
  expires?: number
  /** The nonce that was claimed. */
  nonce?: string
  /** RFC 9421 `tag`. */
  tag?: string
  /** Covered components with their signed values, in signature order. */
  covered: CoveredComponent[]
  /** Body bytes verified. */
  bodyLength: number
  /** In `reserve` replay mode (always for webhook presets). */
  replayTicket?: ReplayTicket
  /** A webhook preset's delivery. */
  webhook?: WebhookDelivery
  /** The signed value of a component (`'@path'`, `'x-expected-version'`, or a serialized identifier). */
  component(id: string): string | undefined
}

export interface ExplainCheck {
  name: string
  outcome: 'passed' | 'failed' | 'skipped'
  code?: ErrorCode
  reason?: string
}

/** What the server computed for a request. Never contains a secret or the expected MAC. */
export interface Explanation {
  ok: boolean
  scheme: string
  label?: string
  keyId?: string
  covered: CoveredComponent[]
  /** The exact text the MAC runs over (no trailing newline). */
  signatureBase?: string
  checks: ExplainCheck[]
  error?: HmacGuardError
  /** A human-readable report. */
  text: string
  toString(): string
}

/** A verification in progress. */
export declare class Verification {
  private constructor()
  /** Feeds a body chunk. Buffers and Uint8Arrays are read in place, not copied. Throws HmacGuardError (e.g. `ERR_BODY_TOO_LARGE`). */
  update(chunk: Uint8Array | string): this
  /**
   * Finishes the body checks and claims the nonce. Can be called once. Throws `ERR_INVALID_STATE`
   * with the Redis store (it would block the event loop): use `finishAsync`.
   */
  finish(): Verified
  /**
   * Finishes the body checks, then claims the nonce off the event loop (Redis: awaited from the
   * core's own client, no libuv pool thread waits on it; in memory: on the libuv pool). Can be
   * called once. Rejects with HmacGuardError
   * (`ERR_REPLAY_STORE_UNAVAILABLE`, 503, when Redis cannot answer within its timeout).
   */
  finishAsync(): Promise<Verified>
  /**
   * Abandons the verification; nothing is claimed. With the error that made you stop (a body the
   * server could not read: `ERR_BAD_FRAMING`) it is counted and reported as that rejection;
   * without, as abandoned (`aborted`).
   */
  abort(error?: HmacGuardError): void
  readonly bytesSeen: number
  readonly keyId: string | null
  readonly finished: boolean
}

/** A configured verifier. Share one per application. */
export declare class Guard {
  /**
   * Builds a guard; the core checks the options as given and throws HmacGuardError
   * `ERR_INVALID_CONFIG` whose `reason` names the option in this spelling (`policy.maxAgeSecs`,
   * `keys[0].notAfter`), never its value.
   */
  constructor(options?: GuardOptions)
  readonly scheme: 'rfc9421' | 'simple' | WebhookPreset
  readonly bodyLimit: number
  /** The replay store: `memory` (this process only) or `redis` (shared). */
  readonly store: 'memory' | 'redis'
  /** Requests accepted without replay protection while Redis was unreachable (`redisFailOpen` only). */
  readonly failOpenUses: number
  /** The effective settings, defaults filled in (a fresh object each time). */
  readonly settings: GuardSettings
  /** Whether the adapters' JSON errors carry the core's `reason` (`exposeReasons`, development only). */
  readonly exposeReasons: boolean
  /** Counters per outcome, error code and key id, the latency histogram, the replay store's health (a fresh object each time). */
  stats(): GuardStats
  /**
   * The metrics in the Prometheus text format (version 0.0.4), every sample with `labels` added
   * (`{guard: 'api'}`). `ERR_INVALID_CONFIG` for a label name Prometheus refuses or one the
   * metrics use. For prom-client, see `hmac-guard/prometheus`.
   */
  metrics(labels?: Record<string, string>): string
  /** The metric families, for a collector of your own (OpenTelemetry, StatsD…). */
  metricFamilies(): MetricFamily[]
  /** Adds a key, or replaces the key with the same id, at runtime (checked as `keys` entries are; errors name `key.<field>`). */
  addKey(key: KeyOptions): void
  /**
   * Webhook presets: replaces every secret at once (rotation without a restart), checked as the
   * `secrets` option is (`ERR_INVALID_CONFIG` naming the position, never the value).
   */
  rotateSecrets(secrets: string | string[]): void
  /** The webhook preset this guard verifies; throws `ERR_INVALID_CONFIG` for a guard of signed requests. */
  webhookPreset(): WebhookPreset
  /** Removes a key; returns whether it was present. */
  removeKey(id: string): boolean
  /** The key ids, sorted. */
  keyIds(): string[]
  /** Streamed verifications begun and not yet finished or aborted (each holds a few hundred bytes). */
  readonly inFlight: number
  /** Runs every check that needs no body; throws HmacGuardError. */
  begin(req: RequestInit): Verification
  /**
   * Verifies a request whose body is in memory; throws HmacGuardError. Throws `ERR_INVALID_STATE`
   * with the Redis store (it would block the event loop): use `verifyAsync`.
   */
  verify(req: RequestWithBody): Verified
  /**
   * As `verify`, the store step off the event loop: with Redis the checks run here and the claim
   * is awaited from the core's own client; in memory the whole verification runs on the libuv
   * pool. Rejects with HmacGuardError.
   */
  verifyAsync(req: RequestWithBody): Promise<Verified>
  /** Explains how the server sees a request; with `body`, the body checks run too. Never claims a nonce. */
  explain(req: RequestWithBody): Explanation
}

export interface Rfc9421SignOptions {
  scheme?: 'rfc9421'
  /** Default `sig1`. */
  label?: string
  /** Default `@method @authority @path @query`, plus `content-digest` with a body. */
  components?: string[]
  /** Default: now. */
  created?: number
  /** Adds `expires = created + expiresIn`. */
  expiresIn?: number
  /** Default: 128 random bits. */
  nonce?: string
  tag?: string
  includeAlg?: boolean
  digest?: 'sha-256' | 'sha-512'
}

export interface SimpleSignOptions {
  scheme: 'simple'
  /** Default: now. */
  timestamp?: number
  /** Default: 128 random bits. */
  nonce?: string
}

export interface SignerOptions extends KeyOptions {
  /** Default scheme of `sign()`. */
  scheme?: 'rfc9421' | 'simple'
}

/** Signs requests with one key (clients and tests). */
export declare class Signer {
  /** The key is checked by the core as a guard's keys are (`ERR_INVALID_CONFIG` naming `key.secret`, …). */
  constructor(key: SignerOptions)
  readonly keyId: string
  readonly scheme: 'rfc9421' | 'simple'
  /**
   * The headers to add, lowercase names. RFC 9421 components read `req.headers` (e.g. `host`
   * for `@authority`) or the authority of an absolute `url`.
   */
  sign(req: RequestWithBody, options?: Rfc9421SignOptions | SimpleSignOptions): Record<string, string>
  /**
   * As `sign` (same arguments), also returning the signature base the headers sign (RFC 9421:
   * the lines ending in `"@signature-params"`; simple scheme: the canonical string). Compare it
   * byte for byte with `guard.explain(req).signatureBase` on the server to find a mismatch.
   */
  signWithBase(req: RequestWithBody, options?: Rfc9421SignOptions | SimpleSignOptions): { headers: Record<string, string>; base: string }
}

export interface SignedRequestInit {
  method: string
  headers: Record<string, string>
  /** The exact bytes that were signed: send these. */
  body: Buffer<ArrayBuffer> | undefined
  [key: string]: unknown
}

/** Signs a request for `fetch(url, init)`, `undici.request(url, init)` or `http.request(url, init)`. */
export declare function signRequest(
  signer: Signer,
  url: string | URL,
  init?: { method?: string; headers?: HeadersLike; body?: BytesLike | null; [key: string]: unknown },
  options?: Rfc9421SignOptions | SimpleSignOptions,
): SignedRequestInit

// ---------------------------------------------------------------- framework adapters

/** A minimal Express-compatible request (Express 4 and 5). */
export interface ExpressLikeRequest extends IncomingMessage {
  originalUrl?: string
  protocol?: string
  hmac?: Verified
  rawBody?: Buffer
  body?: any
}

/**
 * A request on a route behind `expressMiddleware` (without `optional`): `hmac` and `rawBody` are
 * always set there, so a handler needs no check. `R`: your framework's request type, e.g.
 * `const { hmac } = req as HmacRequest<Request>` with Express's `Request`.
 */
export type HmacRequest<R extends IncomingMessage = ExpressLikeRequest> = R & { hmac: Verified; rawBody: Buffer }

export type ExpressLikeMiddleware = (req: any, res: any, next: (err?: any) => void) => void

export interface AdapterOptions {
  /** Let unsigned requests (`ERR_MISSING_SIGNATURE`) through without `hmac`. */
  optional?: boolean
  /**
   * Parse JSON, urlencoded and text bodies (default true), decoded by their declared charset
   * (UTF-8 when none); other types, and charsets nothing decodes, stay a Buffer.
   */
  parse?: boolean
  /** JSON must be an object or an array, as `express.json()` requires (default false). */
  strict?: boolean
  /** `http`/`https`, or a function of the Node request (default: the framework's protocol). */
  scheme?: string | ((req: IncomingMessage) => string)
  /** Transform an error before it is passed on / thrown. */
  mapError?: (err: Error) => unknown
}

export interface ExpressOptions extends AdapterOptions {
  /**
   * Stream the body into this Writable instead of buffering it (large uploads): `req.hmac` is set
   * once the last byte is verified and the sink finished; `req.rawBody`/`req.body` stay unset.
   * Bytes reach the sink before the verdict: publish them only in the handler.
   */
  sink?: (req: ExpressLikeRequest) => Writable
  /** `respond` (default): JSON `{error: {code, message}}` with the status. `next`: `next(err)`. */
  onError?: 'respond' | 'next'
  onVerified?: (req: ExpressLikeRequest, verified: Verified) => void
}

export interface KoaOptions extends AdapterOptions {
  /** Stream the body into this Writable instead of buffering it (see ExpressOptions.sink). */
  sink?: (ctx: any) => Writable
  /** `respond` (default): JSON `{error: {code, message}}` with the status. `throw`: throw the HmacGuardError. */
  onError?: 'respond' | 'throw'
  onVerified?: (ctx: any, verified: Verified) => void
}

/**
 * Express 5 / 4 middleware: mount before body parsers. On success `req.hmac`, `req.rawBody`
 * and `req.body` (parsed) are set; later body parsers skip the request.
 */
export declare function expressMiddleware(guard: Guard, options?: ExpressOptions): ExpressLikeMiddleware

/** Koa middleware: on success `ctx.state.hmac`, `ctx.request.rawBody` and `ctx.request.body`. */
export declare function koaMiddleware(guard: Guard, options?: KoaOptions): (ctx: any, next: () => Promise<any>) => Promise<any>

/** A Transform that verifies the bytes passing through; `verified` settles after the last byte. */
export interface VerifyStream extends Transform {
  readonly verified: Promise<Verified>
}

/** Wraps a Verification (from `guard.begin`) in a pass-through Transform. */
export declare function createVerifyStream(verification: Verification): VerifyStream

/**
 * Pipes an upload through the verifier into `destination`; resolves with the verdict after the
 * last byte. The body limit is enforced chunk by chunk. Bytes written before a failure are
 * unverified: publish the destination only after this resolves.
 */
export declare function verifyUpload(
  guard: Guard,
  req: IncomingMessage,
  destination: Writable,
  options?: { scheme?: string | ((req: IncomingMessage) => string) },
): Promise<Verified>

/**
 * Answers an error as JSON `{error: {code, message}}` on a Node response. With `guard` (the
 * Guard that refused the request), a 401 of the RFC 9421 scheme also carries the
 * `Accept-Signature` field the core builds (RFC 9421 §5.1): what a signature must cover, and
 * with a guard built with `exposeReasons` the error object adds the core's `reason`.
 */
export declare function sendError(req: IncomingMessage, res: ServerResponse, err: Error, guard?: Guard): void

// ---------------------------------------------------------------- webhooks

/** The webhook providers the core knows. */
export type WebhookPreset = 'standard-webhooks' | 'svix' | 'stripe' | 'github' | 'slack' | 'shopify'

/** A verified webhook delivery as the core reports it (`Verified.webhook`). */
export interface WebhookDelivery {
  readonly provider: WebhookPreset
  /** The provider's delivery or event id (signed for Standard Webhooks, Svix, Stripe and Slack). */
  readonly id: string | null
  /** The event type (`payment_intent.succeeded`, `push`); GitHub's and Shopify's come from an unsigned header. */
  readonly type: string | null
  /** The body is a JSON document. */
  readonly json: boolean
  /** What the delivery is deduplicated under: the signed id, the id in the signed body, or the MAC. */
  readonly dedupe: 'signed-id' | 'body-id' | 'signature'
}

/** What a webhook handler gets: `req.webhook` (Express), `ctx.state.webhook` (Koa), `params.webhook` (Feathers). */
export interface WebhookEvent {
  readonly provider: WebhookPreset
  readonly id: string | null
  readonly type: string | null
  /** The parsed JSON body when the body is JSON, else null. */
  readonly payload: any
  /** The exact bytes that were verified. */
  readonly rawBody: Buffer
  /** The secret that matched: `secret-<index in secrets>`. */
  readonly secretId: string
  readonly dedupe: 'signed-id' | 'body-id' | 'signature'
}

/** A webhook receiver's guard options: everything but `scheme`, which the preset names. */
export type WebhookOptions = Omit<GuardOptions, 'scheme' | 'keys' | 'profile'>

/** A webhook receiver, with the guard it verifies with (`rotateSecrets`, `stats`). */
export type ExpressWebhook = ExpressLikeMiddleware & { readonly guard: Guard }
export type KoaWebhook = ((ctx: any, next: () => Promise<any>) => Promise<any>) & { readonly guard: Guard }

/**
 * Express 5 / 4 webhook receiver, mounted on the route before any body parser:
 * `app.post('/hooks/stripe', expressWebhook('stripe', { secrets: [process.env.STRIPE_WEBHOOK_SECRET!] }), handler)`.
 * The handler gets `req.webhook` (and `req.body` = the payload, `req.rawBody`); the delivery is
 * committed when it answers 2xx and released on any other status, an exception or a client gone.
 * A copy of a processed delivery is answered 200 without running the handler, a copy of one in
 * flight 409 with `Retry-After`. Every refusal's status and body come from the core.
 * `preset` may be a Guard built for a preset (then no options).
 */
export declare function expressWebhook(preset: WebhookPreset, options: WebhookOptions): ExpressWebhook
export declare function expressWebhook(guard: Guard): ExpressWebhook

/** Koa webhook receiver: as `expressWebhook`; the handler gets `ctx.state.webhook`. */
export declare function koaWebhook(preset: WebhookPreset, options: WebhookOptions): KoaWebhook
export declare function koaWebhook(guard: Guard): KoaWebhook

export interface SignWebhookOptions {
  /** One secret, as the provider's dashboard shows it. */
  secret?: string
  /** Several secrets: one signature each where the provider sends a list (Standard Webhooks, Stripe). */
  secrets?: string | string[]
  body?: BytesLike
  /** Unix seconds (default now), for presets that sign a timestamp. */
  timestamp?: number
  /** The Standard Webhooks / Svix delivery id (default a random `msg_…`). */
  id?: string
}

/** A provider's headers for a body (testing an endpoint), and the exact bytes the MAC covers. */
export declare function signWebhook(preset: WebhookPreset, options: SignWebhookOptions): { headers: Record<string, string>; signed: Buffer }

declare module 'node:http' {
  interface IncomingMessage {
    /** Set by hmac-guard's webhook receivers on a verified delivery. */
    webhook?: WebhookEvent
    /** Set by hmac-guard's adapters after a successful verification. */
    hmac?: Verified
    /** The verified body bytes, set by hmac-guard's Express adapter. */
    rawBody?: Buffer
  }
}

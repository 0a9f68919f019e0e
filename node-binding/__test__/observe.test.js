'use strict'

// Observability against a real Express server on 127.0.0.1: a scripted mix of requests (a framing
// error as raw bytes on a TCP socket, a body express.json() consumed first) -> guard.stats(), the
// hook's events and the logger's calls (levels, the rate limit, pino's and winston's calling
// conventions), none of them holding a secret or an expected MAC; a throwing hook changes nothing.

const test = require('node:test')
const assert = require('node:assert/strict')
const util = require('node:util')
const { Writable } = require('node:stream')
const express = require('express')
const Koa = require('koa')
const pino = require('pino')
const winston = require('winston')
const { expressMiddleware, koaMiddleware, newGuard, wrongSigner, unknownSigner, SECRET, OTHER_SECRET, listen, close, send, signed, until } = require('./helpers.js')
const { headOfSigned, rawExchange } = require('./raw.js')

/** A logger that records its calls: `[level, ...args]`. */
function recorder() {
  const calls = []
  const at = (level) => (...args) => calls.push([level, ...args])
  return { calls, logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } }
}

/** An Express app: `/echo` behind the guard, `/parsed` with express.json() mounted first (the mistake). */
async function server(guard) {
  const app = express()
  app.post('/echo', expressMiddleware(guard), (req, res) => res.json({ subject: req.hmac.subject }))
  app.post('/parsed', express.json(), expressMiddleware(guard), (_req, res) => res.json({}))
  app.get('/health', (_req, res) => res.send('ok'))
  const http = require('node:http').createServer(app)
  return { http, base: await listen(http) }
}

const now = () => Math.floor(Date.now() / 1000)
const codeOf = (r) => r.json?.error?.code

/** The secret and expected-MAC spellings that must never show. */
function forbidden(expectedMacs) {
  return [SECRET.toString('utf8'), SECRET.toString('hex'), SECRET.toString('base64'), OTHER_SECRET.toString('base64'), ...expectedMacs]
}

function assertClean(text, where, expectedMacs) {
  for (const f of forbidden(expectedMacs)) assert.ok(!text.includes(f), `${where} holds a secret or an expected MAC: ${text}`)
}

test('a scripted mix: stats, hook events and log lines add up, and hold no secret', { timeout: 60000 }, async (t) => {
  const events = []
  const { calls, logger } = recorder()
  const guard = newGuard({ onEvent: (e) => events.push(e), logger, logRate: 100, policy: { bodyLimit: 1024 } })
  const { http, base } = await server(guard)
  t.after(() => close(http))

  const valid = signed(base, { body: { n: 1 } })
  const created = now()
  const wrong = signed(base, { body: { n: 2 }, by: wrongSigner, sign: { created, nonce: 'nonce-wrong-secret' } })
  // What the guard computes for `wrong` (the right key over the same base): never shown.
  const expectedMac = /:(.+):/.exec(signed(base, { body: { n: 2 }, sign: { created, nonce: 'nonce-wrong-secret' } }).headers.signature)[1]
  const framed = signed(base, { body: { n: 9 } })
  const chunkedHead = headOfSigned(framed, { drop: ['content-length'], add: [['Transfer-Encoding', 'chunked']] })
  const script = [
    ['valid', () => send(base, valid), 200, null],
    ['tampered', () => send(base, { ...signed(base, { body: { n: 3 } }), body: Buffer.from('{"n":4}') }), 401, 'ERR_DIGEST_MISMATCH'],
    ['wrong secret', () => send(base, wrong), 401, 'ERR_SIGNATURE_MISMATCH'],
    ['unknown key', () => send(base, signed(base, { body: {}, by: unknownSigner })), 401, 'ERR_UNKNOWN_KEY'],
    ['replay', () => send(base, valid), 401, 'ERR_REPLAY'],
    ['expired', () => send(base, signed(base, { body: {}, sign: { created: now() - 1000 } })), 401, 'ERR_TIMESTAMP_EXPIRED'],
    ['too large', () => send(base, signed(base, { body: Buffer.alloc(2048, 'a'), headers: { 'content-type': 'text/plain' } })), 413, 'ERR_BODY_TOO_LARGE'],
    ['unsigned', () => send(base, { method: 'POST', path: '/echo', headers: { 'content-type': 'application/json' }, body: '{}' }), 401, 'ERR_MISSING_SIGNATURE'],
    ['consumed body', () => send(base, signed(base, { path: '/parsed', body: { n: 5 } })), 500, 'ERR_INVALID_STATE'],
    ['framing', () => rawExchange(base, [chunkedHead, Buffer.from('zz\r\n{"n": 9}\r\n0\r\n\r\n')]), 400, 'ERR_BAD_FRAMING'],
  ]
  for (const [name, run, status, code] of script) {
    const r = await run()
    assert.equal(r.status, status, `${name}: ${r.status} ${r.body}`)
    if (code) assert.equal(codeOf(r), code, name)
  }
  const rejected = script.filter(([, , , code]) => code)
  await until(() => events.length >= rejected.length, 'one event per rejection')

  // Stats: every verdict counted once, per code and per key of the ring.
  const stats = guard.stats()
  assert.equal(stats.accepted, 1)
  assert.equal(stats.rejected, rejected.length)
  assert.equal(stats.aborted, 0)
  assert.deepEqual(stats.rejections, Object.fromEntries(rejected.map(([, , , code]) => [code, 1])))
  // k1 named by: valid (accepted); tampered, wrong secret, replay, expired, too large, framing.
  // Every key of the ring is listed, k2 (never named) with zeros.
  assert.deepEqual(stats.byKey, { k1: { accepted: 1, rejected: 6 }, k2: { accepted: 0, rejected: 0 } })
  assert.equal(stats.duration.count, 1 + rejected.length)
  assert.deepEqual(stats.replayStore, { state: 'ok', failingSinceMs: null, failures: 0, failOpenUses: 0, stateChanges: 0, dataLosses: 0, lostAtMs: null })

  // The hook: one event per rejection, in order, with the fields an operator needs.
  assert.deepEqual(events.map((e) => e.code), rejected.map(([, , , code]) => code))
  for (const [e, [name, , status]] of events.map((e, i) => [e, rejected[i]])) {
    assert.equal(e.type, 'verification', name)
    assert.equal(e.outcome, 'rejected', name)
    assert.equal(e.status, status, name)
    assert.equal(e.store, 'memory', name)
    assert.equal(e.scheme, 'rfc9421', name)
    assert.equal(typeof e.reason, 'string', name)
    assert.equal(typeof e.durationMs, 'number', name)
    assert.equal(e.level, e.code === 'ERR_MISSING_SIGNATURE' ? 'debug' : status >= 500 ? 'warn' : 'info', name)
    assert.match(e.message, new RegExp(`^hmac-guard: rejected ${e.code} \\(${status}\\)`), name)
  }
  const byCode = Object.fromEntries(events.map((e) => [e.code, e]))
  assert.equal(byCode.ERR_UNKNOWN_KEY.keyId, null, 'an id the ring does not have is not echoed')
  assert.equal(byCode.ERR_REPLAY.keyId, 'k1')
  assert.equal(byCode.ERR_INVALID_STATE.keyId, null)
  assert.match(byCode.ERR_INVALID_STATE.reason, /mount the hmac-guard middleware before body parsers/)
  assert.equal(byCode.ERR_BAD_FRAMING.keyId, 'k1')

  // The logger: info lines for the 4xx, a warn line (naming the fix) for the consumed body, no
  // debug line (the unsigned request is below the default level); a console-like logger gets
  // (message, fields), fields being the event without `message`, `log` and `level` (the method).
  const levels = calls.map(([level]) => level)
  assert.deepEqual(levels.filter((l) => l === 'warn').length, 1)
  assert.equal(levels.filter((l) => l === 'info').length, rejected.length - 2)
  assert.ok(!levels.includes('debug'))
  const warn = calls.find(([level]) => level === 'warn')
  assert.match(warn[1], /^hmac-guard: rejected ERR_INVALID_STATE \(500\): the request body was already consumed: mount the hmac-guard middleware before body parsers/)
  assert.equal(warn[2].code, 'ERR_INVALID_STATE')
  assert.ok(!('message' in warn[2]) && !('log' in warn[2]) && !('level' in warn[2]), 'fields: the event but its line, log flag and level')
  for (const [, message, fields] of calls) assert.equal(message, byCode[fields.code].message)

  // No secret and no expected MAC anywhere an operator looks.
  const macs = [expectedMac]
  for (const e of events) assertClean(JSON.stringify(e), `the ${e.code} event`, macs)
  for (const c of calls) assertClean(util.inspect(c, { depth: 5 }), `the log call ${c[1]}`, macs)
  assertClean(JSON.stringify(guard.stats()), 'stats()', macs)
  assertClean(guard.metrics(), 'metrics()', macs)
  assertClean(util.inspect(guard, { showHidden: true, depth: 5 }), 'inspect(guard)', macs)
})

test('the rate limit: past logRate a burst is counted, not logged; the next line says how many', { timeout: 30000 }, async (t) => {
  const events = []
  const { calls, logger } = recorder()
  const guard = newGuard({ onEvent: (e) => events.push(e), logger, logRate: 3 })
  const { http, base } = await server(guard)
  t.after(() => close(http))
  for (let i = 0; i < 8; i++) assert.equal((await send(base, signed(base, { body: {}, by: unknownSigner }))).status, 401)
  await until(() => events.length === 8, 'eight events')
  assert.equal(calls.length, 3, 'exactly logRate lines')
  assert.deepEqual(events.map((e) => e.log), [true, true, true, false, false, false, false, false], 'the hook gets every event')
  // The gate's window is one second of real time.
  await new Promise((r) => setTimeout(r, 1100))
  await send(base, signed(base, { body: {}, by: unknownSigner }))
  await until(() => calls.length === 4, 'the line after the window')
  const [level, message, fields] = calls[3]
  assert.equal(level, 'info')
  assert.equal(fields.suppressed, 5)
  assert.match(message, /\[5 similar lines suppressed\]$/)
})

test('log levels: logLevel debug logs unsigned requests; logger false logs nothing, the hook still gets events', async () => {
  const unsigned = { method: 'POST', url: '/echo', headers: { host: 'h' }, body: '{}' }
  const debug = recorder()
  const verbose = newGuard({ logger: debug.logger, logLevel: 'debug', reportAccepted: true })
  assert.throws(() => verbose.verify(unsigned))
  const ok = signed('http://h', { body: {} })
  verbose.verify({ method: ok.method, url: ok.path, headers: ok.headers, body: ok.body })
  await until(() => debug.calls.length === 2, 'two debug lines')
  assert.deepEqual(debug.calls.map(([l]) => l), ['debug', 'debug'])
  assert.match(debug.calls[0][1], /rejected ERR_MISSING_SIGNATURE/)
  assert.match(debug.calls[1][1], /^hmac-guard: accepted, key "k1" in [\d.]+ ms$/)

  const events = []
  const silent = newGuard({ logger: false, onEvent: (e) => events.push(e) })
  const warnOnly = recorder()
  const quiet = newGuard({ logger: warnOnly.logger, logLevel: 'warn' })
  const stranger = signed('http://h', { body: {}, by: unknownSigner })
  for (const g of [silent, quiet]) assert.throws(() => g.verify({ method: 'POST', url: stranger.path, headers: stranger.headers, body: stranger.body }), { code: 'ERR_UNKNOWN_KEY' })
  await until(() => events.length === 1, 'the hook event')
  assert.equal(events[0].log, true, 'logged as far as the core is concerned')
  await new Promise((r) => setTimeout(r, 50))
  assert.equal(warnOnly.calls.length, 0, 'an info line is below logLevel warn')
})

test('pino gets (fields, message), winston (message, meta): real loggers, JSON lines', async () => {
  const lines = []
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(chunk.toString())
      cb()
    },
  })
  const p = pino({ level: 'debug' }, sink)
  const w = winston.createLogger({ level: 'debug', format: winston.format.json(), transports: [new winston.transports.Stream({ stream: sink })] })
  for (const logger of [p, w]) {
    const g = newGuard({ logger })
    const r = signed('http://h', { body: {}, by: unknownSigner })
    assert.throws(() => g.verify({ method: r.method, url: r.path, headers: r.headers, body: r.body }))
  }
  await until(() => lines.length === 2, 'a line from each logger')
  const parsed = lines.map((l) => JSON.parse(l))
  const fromPino = parsed.find((l) => 'msg' in l)
  const fromWinston = parsed.find((l) => 'message' in l)
  assert.equal(fromPino.level, 30, 'pino info')
  assert.match(fromPino.msg, /^hmac-guard: rejected ERR_UNKNOWN_KEY \(401\)/)
  assert.equal(fromPino.code, 'ERR_UNKNOWN_KEY')
  assert.equal(fromPino.status, 401)
  assert.equal(fromWinston.level, 'info')
  assert.match(fromWinston.message, /^hmac-guard: rejected ERR_UNKNOWN_KEY \(401\)/)
  assert.equal(fromWinston.code, 'ERR_UNKNOWN_KEY')
  for (const l of lines) assertClean(l, 'a log line', [])
})

test('a hook that throws (or rejects) breaks nothing and is reported once', { timeout: 30000 }, async (t) => {
  const { calls, logger } = recorder()
  let thrown = 0
  const guard = newGuard({
    logger,
    onEvent: (e) => {
      thrown++
      if (e.code === 'ERR_REPLAY') return Promise.reject(new Error('async hook failed'))
      throw new Error('hook failed')
    },
  })
  const { http, base } = await server(guard)
  t.after(() => close(http))
  for (let i = 0; i < 3; i++) assert.equal((await send(base, signed(base, { body: {}, by: unknownSigner }))).status, 401)
  const ok = signed(base, { body: { fine: true } })
  assert.equal((await send(base, ok)).status, 200)
  assert.equal((await send(base, ok)).status, 401)
  await until(() => thrown === 4, 'the hook ran for every rejection')
  await until(() => calls.length === 5, 'four info lines and one warn')
  const warns = calls.filter(([level]) => level === 'warn')
  assert.equal(warns.length, 1)
  assert.match(warns[0][1], /^hmac-guard: the onEvent hook threw \(Error: hook failed\)/)
  assert.equal((await send(base, { path: '/health' })).status, 200, 'the server still answers')
})

test('Koa: a body read before the middleware is counted and its warn line names the fix', { timeout: 30000 }, async (t) => {
  const { calls, logger } = recorder()
  const guard = newGuard({ logger })
  const app = new Koa()
  // The mistake: something reads the body before hmac-guard.
  app.use(async (ctx, next) => {
    ctx.request.body = await new Promise((resolve) => {
      const chunks = []
      ctx.req.on('data', (c) => chunks.push(c)).on('end', () => resolve(Buffer.concat(chunks).toString()))
    })
    await next()
  })
  app.use(koaMiddleware(guard))
  app.use((ctx) => {
    ctx.body = {}
  })
  const server = require('node:http').createServer(app.callback())
  const base = await listen(server)
  t.after(() => close(server))
  const r = await send(base, signed(base, { body: { n: 1 } }))
  assert.equal(r.status, 500)
  assert.equal(codeOf(r), 'ERR_INVALID_STATE')
  await until(() => calls.length === 1, 'the warn line')
  assert.equal(calls[0][0], 'warn')
  assert.match(calls[0][1], /mount the hmac-guard middleware before body parsers/)
  assert.deepEqual(guard.stats().rejections, { ERR_INVALID_STATE: 1 })
})

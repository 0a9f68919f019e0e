'use strict'

// The README quick starts run as pasted. Each ```js block is found by its first line, written to
// a temp dir where `require('hmac-guard')` resolves to this package (node_modules/hmac-guard is a
// symlink to it; express/koa/feathers come from NODE_PATH), started as its own `node` process on
// a free port on 127.0.0.1 (the README's port substituted) with the secret in the environment
// variable the snippet reads, and called with real signed requests — and with the README's
// client.js, run as its own process too.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const net = require('node:net')
const crypto = require('node:crypto')
const { spawn, spawnSync, execFile } = require('node:child_process')
const { Signer, signRequest, signWebhook, send } = require('./helpers.js')

const PKG = path.resolve(__dirname, '..')
const README = path.join(PKG, 'README.md')
const ROOT_README = path.join(PKG, '..', 'README.md')

// First lines of the README's blocks. Quick starts are run; reference blocks are API listings
// (not programs). A new ```js block must be added to one of the two lists.
const EXPRESS = '// server.js'
const CLIENT = '// client.js'
const KOA = "const Koa = require('koa')"
const FEATHERS = "const { feathers } = require('@feathersjs/feathers')"
const CAS_CLIENT = "signRequest(signer, 'http://127.0.0.1:3030/documents/1'"
const ROOT_EXPRESS = "const express = require('express')"
const WEBHOOKS = '// webhooks.js'
const REFERENCE = ["const { Guard, Signer, HmacGuardError } = require('hmac-guard')", 'const guard = new Guard({ keys, redisUrl:', "const client = require('prom-client')"]

function blocks(file) {
  return [...fs.readFileSync(file, 'utf8').matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1])
}

function block(file, marker) {
  const found = blocks(file).filter((code) => code.startsWith(marker))
  assert.equal(found.length, 1, `one block of ${path.basename(file)} starting with ${JSON.stringify(marker)}`)
  return found[0]
}

/** The README's port (in `listen(N` and `:N/` URLs) replaced by `port`; it must occur. */
function onPort(code, readmePort, port) {
  const out = code.replaceAll(`listen(${readmePort}`, `listen(${port}`).replaceAll(`127.0.0.1:${readmePort}`, `127.0.0.1:${port}`)
  assert.notEqual(out, code, `the block uses port ${readmePort}`)
  assert.ok(!new RegExp(`\\b${readmePort}\\b`).test(out), `every use of port ${readmePort} was replaced`)
  return out
}

/**
 * The secret the server block uses: a fresh random one in the environment variable it reads
 * (`process.env.X`; `env` is then `{ X: secret }`), or else the literal secret written in it.
 */
function secretOf(code) {
  const env = /secret: process\.env\.([A-Z0-9_]+)/.exec(code)
  if (env) {
    const secret = crypto.randomBytes(32).toString('hex')
    return { secret, env: { [env[1]]: secret } }
  }
  const literal = /secret: '([^']+)'/.exec(code)
  assert.ok(literal, 'the block has a secret')
  return { secret: literal[1], env: {} }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

/** A temp dir with node_modules/hmac-guard -> this package; removed after the test. */
function workspace(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hmac-guard-node-readme-'))
  fs.mkdirSync(path.join(dir, 'node_modules'))
  fs.symlinkSync(PKG, path.join(dir, 'node_modules', 'hmac-guard'), 'dir')
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** A clean environment: no HMAC_GUARD_REDIS_URL or other settings leak in from the caller. */
function childEnv(extra) {
  return { PATH: process.env.PATH, NODE_PATH: path.join(PKG, 'node_modules'), ...extra }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/**
 * Writes `code` to dir/file, runs `node file` there and waits until `ready(base)` holds. The
 * process is killed after the test, whatever happened.
 */
async function serve(t, dir, file, code, { port, env, ready }) {
  fs.writeFileSync(path.join(dir, file), code)
  const child = spawn(process.execPath, [file], { cwd: dir, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (c) => (output += c))
  child.stderr.on('data', (c) => (output += c))
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
  })
  const base = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 30000
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) assert.fail(`${file} exited (${child.exitCode ?? child.signalCode}):\n${output}`)
    if (Date.now() > deadline) assert.fail(`${file} did not become ready on ${base}:\n${output}`)
    if (await ready(base)) break
    await sleep(50)
  }
  return { base }
}

/** Any HTTP answer means the server listens. */
const answers = (readyPath) => async (base) => !(await send(base, { method: 'GET', path: readyPath })).error

/** Runs the README's client.js (its own process, port substituted); resolves {code, stdout, stderr}. */
function runClient(dir, port, env) {
  const code = onPort(block(README, CLIENT), 3000, port)
  fs.writeFileSync(path.join(dir, 'client.js'), code)
  return new Promise((resolve) => {
    execFile(process.execPath, ['client.js'], { cwd: dir, env: childEnv(env), timeout: 30000 }, (err, stdout, stderr) =>
      resolve({ code: err ? err.code ?? err.signal : 0, stdout, stderr }),
    )
  })
}

/** Sends a signRequest() init with http.request (no keep-alive). */
function call(url, init) {
  const u = new URL(url)
  return send(u.origin, { method: init.method || 'GET', path: u.pathname + u.search, headers: init.headers || {}, body: init.body })
}

function expectError(r, status, code) {
  assert.ok(!r.error, `connection failed: ${r.error}`)
  assert.equal(r.status, status, r.body)
  if (code != null) assert.equal(r.json?.error?.code ?? r.json?.data?.code, code, r.body)
}

/**
 * The four checks on one endpoint: signed -> 2xx with `expected`; the same request again ->
 * 401 ERR_REPLAY; a tampered body -> 401 ERR_DIGEST_MISMATCH; unsigned -> 401 `unsignedCode`.
 */
async function signedChecks(t, signer, url, init, expected, { unsignedCode = 'ERR_MISSING_SIGNATURE' } = {}) {
  await t.test('signed -> 2xx with the verified identity and body; the same request again -> ERR_REPLAY', async () => {
    const signedInit = signRequest(signer, url, init)
    const r = await call(url, signedInit)
    assert.ok(r.status >= 200 && r.status < 300, `${r.status} ${r.body}`)
    assert.deepEqual(r.json, expected)
    expectError(await call(url, signedInit), 401, 'ERR_REPLAY')
  })
  if (init.body !== undefined) {
    await t.test('a tampered body -> 401', async () => {
      const signedInit = signRequest(signer, url, init)
      const tampered = { ...signedInit, body: Buffer.from(String(init.body).replace(/\d/, (d) => String((+d + 1) % 10))) }
      assert.notDeepEqual(tampered.body, signedInit.body)
      expectError(await call(url, tampered), 401, 'ERR_DIGEST_MISMATCH')
    })
  }
  await t.test('unsigned -> 401', async () => {
    expectError(await call(url, init), 401, unsignedCode)
  })
}

const ORDER = { sku: 'B-7', qty: 3 }
const orderInit = () => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ORDER) })

test('README: the TypeScript block compiles under tsc --strict (no narrowing of req.hmac)', { timeout: 90000 }, (t) => {
  const found = [...fs.readFileSync(README, 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1])
  assert.equal(found.length, 1, 'one ```ts block')
  const dir = workspace(t)
  const modules = path.join(PKG, 'node_modules')
  fs.writeFileSync(path.join(dir, 'app.ts'), found[0])
  const compilerOptions = {
    strict: true,
    noEmit: true,
    target: 'ES2022',
    module: 'commonjs',
    moduleResolution: 'node',
    esModuleInterop: true,
    skipLibCheck: false,
    types: ['node'],
    typeRoots: [path.join(modules, '@types')],
    baseUrl: '.',
    // express and its types from this package's devDependencies; hmac-guard through dir/node_modules.
    paths: { express: [path.join(modules, '@types', 'express')], '*': [path.join(modules, '*'), path.join(modules, '@types', '*')] },
  }
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['app.ts'] }))
  const r = spawnSync(process.execPath, [path.join(modules, 'typescript', 'bin', 'tsc'), '-p', dir], { encoding: 'utf8' })
  assert.equal(r.status, 0, r.stdout + r.stderr)
})

test('every ```js block of the README is a quick start run here or an API listing', () => {
  const known = [EXPRESS, CLIENT, KOA, FEATHERS, CAS_CLIENT, WEBHOOKS, ...REFERENCE]
  for (const code of blocks(README)) {
    assert.ok(known.some((m) => code.startsWith(m)), `README block not covered by readme.test.js:\n${code}`)
  }
})

test('README: Express quick start with its client.js', { timeout: 90000 }, async (t) => {
  const dir = workspace(t)
  const code = block(README, EXPRESS)
  const s = secretOf(code)
  assert.deepEqual(Object.keys(s.env), ['HMAC_SECRET'])
  const port = await freePort()
  const server = await serve(t, dir, 'server.js', onPort(code, 3000, port), { port, env: s.env, ready: answers('/ready') })

  await t.test('client.js as pasted (same HMAC_SECRET) gets 200 and the verified values', async () => {
    const out = await runClient(dir, port, s.env)
    assert.equal(out.code, 0, out.stderr)
    assert.match(out.stdout, /^200 /)
    assert.match(out.stdout, /by: 'user:42'/)
    assert.match(out.stdout, /order: \{ sku: 'A-1', qty: 2 \}/)
    assert.match(out.stdout, /signedPath: '\/orders'/)
  })
  await t.test('client.js with another HMAC_SECRET gets 401', async () => {
    const out = await runClient(dir, port, { HMAC_SECRET: crypto.randomBytes(32).toString('hex') })
    assert.equal(out.code, 0, out.stderr)
    assert.match(out.stdout, /^401 .*ERR_SIGNATURE_MISMATCH/s)
  })
  const signer = new Signer({ id: 'client-1', secret: s.secret })
  await signedChecks(t, signer, `${server.base}/orders`, orderInit(), { by: 'user:42', order: ORDER, signedPath: '/orders' })
})

test('README: Koa quick start, called by the README client.js', { timeout: 90000 }, async (t) => {
  const dir = workspace(t)
  const code = block(README, KOA)
  const s = secretOf(code)
  const port = await freePort()
  const server = await serve(t, dir, 'server.js', onPort(code, 3000, port), { port, env: s.env, ready: answers('/ready') })

  await t.test('client.js as pasted (its default secret) gets 200 and the verified values', async () => {
    const out = await runClient(dir, port, s.env)
    assert.equal(out.code, 0, out.stderr)
    assert.match(out.stdout, /^200 /)
    assert.match(out.stdout, /by: 'user:42'/)
    assert.match(out.stdout, /order: \{ sku: 'A-1', qty: 2 \}/)
  })
  const signer = new Signer({ id: 'client-1', secret: s.secret })
  const init = orderInit()
  await signedChecks(t, signer, `${server.base}/orders`, init, { by: 'user:42', order: ORDER, raw: Buffer.byteLength(init.body) })
})

/** The Feathers checks: /me (authentication strategy) and the compare-and-set block on /documents. */
async function feathersChecks(t, server, secret) {
  const signer = new Signer({ id: 'client-1', secret })
  // Identity from the key's subject (user:1 -> users.get(1)). Unsigned, authenticate('hmac')
  // answers a plain NotAuthenticated (no ERR_* code); requireHmac() on /documents names it below.
  await signedChecks(t, signer, `${server.base}/me`, { method: 'GET' }, { name: 'alice', id: 1 }, { unsignedCode: null })
  await t.test('the users service is internal only: not reachable over REST, signed or not', async () => {
    const url = `${server.base}/users/1`
    for (const init of [{ method: 'GET' }, signRequest(signer, url, { method: 'GET' })]) {
      const r = await call(url, init)
      assert.ok(r.status === 404 || r.status === 405, `GET /users/1 answered ${r.status}`)
    }
  })

  // The README's client-side compare-and-set fragment, evaluated with the package's signRequest.
  const port = new URL(server.base).port
  const fragment = onPort(block(README, CAS_CLIENT), 3030, port)
  const casInit = () => new Function('signRequest', 'signer', `return ${fragment}`)(signRequest, signer)
  const url = `${server.base}/documents/1`
  await t.test('the compare-and-set block: signed version 1 -> written as version 2', async () => {
    const init = casInit()
    const r = await call(url, init)
    assert.equal(r.status, 200, r.body)
    assert.deepEqual(r.json, { id: 1, text: 'v1', version: 2 })
    expectError(await call(url, init), 401, 'ERR_REPLAY')
  })
  await t.test('the compare-and-set block: tampered body, stale version, unsigned', async () => {
    const init = casInit()
    expectError(await call(url, { ...init, body: Buffer.from(JSON.stringify({ text: 'evil' })) }), 401, 'ERR_DIGEST_MISMATCH')
    expectError(await call(url, init), 409) // signed with version 1; the document is at 2 now
    expectError(await call(url, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{"text":"x"}' }), 401, 'ERR_MISSING_SIGNATURE')
  })
}

/**
 * Feathers seeds its services after listen(): ready once documents/1 (created after users/1)
 * answers a signed GET. `users` is internal only, so it cannot be asked directly.
 */
const seeded = (secret) => async (base) => {
  const init = signRequest(new Signer({ id: 'client-1', secret }), `${base}/documents/1`, { method: 'GET' })
  return (await call(`${base}/documents/1`, init)).status === 200
}

test('README: Feathers quick start over @feathersjs/express', { timeout: 90000 }, async (t) => {
  const dir = workspace(t)
  const code = block(README, FEATHERS)
  const s = secretOf(code)
  const port = await freePort()
  const server = await serve(t, dir, 'app.js', onPort(code, 3030, port), { port, env: s.env, ready: seeded(s.secret) })
  await feathersChecks(t, server, s.secret)
})

test('README: Feathers quick start switched to @feathersjs/koa as the README describes', { timeout: 90000 }, async (t) => {
  // "Over @feathersjs/koa: app.use(errorHandler()), app.use(hmacKoa(guard)),
  // app.use(unlessVerified(bodyParser())), app.configure(rest())" applied to the Express block.
  const dir = workspace(t)
  const code = block(README, FEATHERS)
  const swaps = [
    ["const express = require('@feathersjs/express')", "const { koa, rest, bodyParser, errorHandler } = require('@feathersjs/koa')"],
    ["const { hmacExpress, requireHmac,", 'const { hmacKoa, unlessVerified, requireHmac,'],
    ['const app = express.default(feathers())', 'const app = koa(feathers())\napp.use(errorHandler())'],
    ['app.use(hmacExpress(guard))', 'app.use(hmacKoa(guard))'],
    ['app.use(express.json())', 'app.use(unlessVerified(bodyParser()))'],
    ['app.configure(express.rest())', 'app.configure(rest())'],
    ['app.use(express.errorHandler({ logger: false }))', ''],
  ]
  let koaCode = code
  for (const [from, to] of swaps) {
    assert.ok(koaCode.includes(from), `the Feathers block contains ${from}`)
    koaCode = koaCode.replace(from, to)
  }
  const s = secretOf(koaCode)
  const port = await freePort()
  const server = await serve(t, dir, 'app.js', onPort(koaCode, 3030, port), { port, env: s.env, ready: seeded(s.secret) })
  await feathersChecks(t, server, s.secret)
})

/** The short Express snippet the root README used to show (not a copy of a package README block). */
async function rootExpressChecks(t, code) {
  const dir = workspace(t)
  const s = secretOf(code)
  assert.deepEqual(Object.keys(s.env), ['HMAC_SECRET'])
  const port = await freePort()
  const server = await serve(t, dir, 'server.js', onPort(code, 3000, port), { port, env: s.env, ready: answers('/ready') })
  await t.test('the node-binding README client.js gets 200', async () => {
    const out = await runClient(dir, port, s.env)
    assert.equal(out.code, 0, out.stderr)
    assert.match(out.stdout, /^200 \{ by: 'user:42', order: \{ sku: 'A-1', qty: 2 \} \}/)
  })
  const signer = new Signer({ id: 'client-1', secret: s.secret })
  await signedChecks(t, signer, `${server.base}/orders`, orderInit(), { by: 'user:42', order: ORDER })
}

test('root README: each ```js block is a verbatim copy of a block run above, or is run here', { timeout: 90000 }, async (t) => {
  const ours = new Set(blocks(README))
  const root = blocks(ROOT_README)
  assert.ok(root.length > 0, 'the root README shows Node code')
  for (const code of root) {
    const first = code.split('\n', 1)[0]
    if (ours.has(code)) continue // run by the tests above
    if (code.startsWith(ROOT_EXPRESS)) {
      await t.test(`differs from node-binding/README.md, run: ${first}`, (t) => rootExpressChecks(t, code))
      continue
    }
    assert.fail(`root README block is neither a copy of a node-binding/README.md block nor run by readme.test.js:\n${code}`)
  }
})

test('README: the Express webhook quick start receives Stripe deliveries', { timeout: 90000 }, async (t) => {
  const dir = workspace(t)
  const code = block(README, WEBHOOKS)
  assert.match(code, /secrets: \[process\.env\.STRIPE_WEBHOOK_SECRET\]/)
  const secret = `whsec_${crypto.randomBytes(24).toString('hex')}`
  const port = await freePort()
  const server = await serve(t, dir, 'webhooks.js', onPort(code, 3000, port), { port, env: { STRIPE_WEBHOOK_SECRET: secret }, ready: answers('/ready') })
  const url = `${server.base}/hooks/stripe`
  const body = JSON.stringify({ id: `evt_${crypto.randomBytes(6).toString('hex')}`, object: 'event', type: 'payment_intent.succeeded' })
  const s = signWebhook('stripe', { secret, body })
  const init = { method: 'POST', headers: { 'content-type': 'application/json', ...s.headers }, body }
  await t.test('a signed delivery -> 200 from the handler', async () => {
    const r = await call(url, init)
    assert.equal(r.status, 200, r.body)
    assert.deepEqual(r.json, { received: JSON.parse(body).id })
  })
  await t.test('the same delivery again -> 200 duplicate, the handler not run', async () => {
    const r = await call(url, init)
    assert.equal(r.status, 200, r.body)
    assert.equal(r.json.error.code, 'ERR_DUPLICATE_DELIVERY')
  })
  await t.test('a tampered body -> 401; unsigned -> 401', async () => {
    expectError(await call(url, { ...init, body: body.replace('succeeded', 'failed') }), 401, 'ERR_SIGNATURE_MISMATCH')
    expectError(await call(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body }), 401, 'ERR_MISSING_SIGNATURE')
  })
  await t.test('another secret -> 401', async () => {
    const other = signWebhook('stripe', { secret: `whsec_${crypto.randomBytes(24).toString('hex')}`, body })
    expectError(await call(url, { ...init, headers: { 'content-type': 'application/json', ...other.headers } }), 401, 'ERR_SIGNATURE_MISMATCH')
  })
})

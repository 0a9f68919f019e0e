'use strict'

// The `hmac-guard` bin (bin/hmac-guard.js → native runCli): `sign --curl` output run with the real
// curl binary against a real Express 5 server on 127.0.0.1 protected by the package's middleware
// with the same key; raw requests piped into `verify`; help, exit codes, and secrets.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const http = require('node:http')
const { execFile, spawnSync } = require('node:child_process')
const { promisify } = require('node:util')
const express = require('express')
const { Guard, expressMiddleware, listen, close } = require('./helpers.js')

const BIN = path.join(__dirname, '..', 'bin', 'hmac-guard.js')
const SECRET = 'node-cli-test-secret-0123456789abcdef'
const ENV = { ...process.env, HMAC_GUARD_SECRET: SECRET }

/** Runs the bin; resolves {code, stdout, stderr}. */
function cli(args, { input, env = ENV } = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { input: input ?? '', env, encoding: 'utf8', timeout: 30000 })
  if (r.error) throw r.error
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** The real curl binary: its absence fails the suite (it is what users paste the output into). */
function curlPath() {
  const r = spawnSync('sh', ['-c', 'command -v curl'], { encoding: 'utf8' })
  assert.equal(r.status, 0, 'curl is required for the CLI tests (install it: apt-get install -y curl)')
  return r.stdout.trim()
}

/**
 * Runs a `sign --curl` command line with sh (asynchronously: the server shares this event loop),
 * with the status appended; resolves {status, body, json}.
 */
async function runCurl(command) {
  const line = `${command.trimEnd()} --max-time 20 --write-out '\\n%{http_code}'`
  const { stdout: out } = await promisify(execFile)('sh', ['-c', line], { encoding: 'utf8', timeout: 30000 })
  const cut = out.lastIndexOf('\n')
  const body = out.slice(0, cut)
  let json
  try {
    json = JSON.parse(body)
  } catch {}
  return { status: Number(out.slice(cut + 1)), body, json }
}

/** A raw HTTP/1.1 request from `sign` header lines. */
function rawRequest(method, target, host, body, signLines, extra = []) {
  const lines = [`${method} ${target} HTTP/1.1`, `Host: ${host}`, ...extra, `Content-Length: ${Buffer.byteLength(body)}`]
  lines.push(...signLines.trimEnd().split('\n'))
  return `${lines.join('\r\n')}\r\n\r\n${body}`
}

test('hmac-guard CLI', async (t) => {
  assert.ok(curlPath().length > 0)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hmac-guard-cli-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const bodyFile = path.join(dir, 'order.json')
  const body = '{"amount": 10, "item": "tea"}'
  fs.writeFileSync(bodyFile, body)

  // One Express 5 app, the package's middleware, the same key as the CLI: RFC 9421 and simple.
  const keys = [{ id: 'cli-key', secret: SECRET, subject: 'user:cli' }]
  const app = express()
  const echo = (req, res) => res.json({ subject: req.hmac.subject, keyId: req.hmac.keyId, body: req.body })
  app.post('/orders', expressMiddleware(new Guard({ keys })), echo)
  app.post('/simple/orders', expressMiddleware(new Guard({ keys, scheme: 'simple' })), echo)
  const server = http.createServer(app)
  const base = await listen(server)
  t.after(() => close(server))
  const host = new URL(base).host

  const sign = (extra, url = `${base}/orders?id=7`) =>
    cli(['sign', '--key-id', 'cli-key', '--body-file', bodyFile, ...extra, url])

  await t.test('sign --curl, run with curl: accepted (200), replay refused', async () => {
    const components = '@method @authority @path @query content-digest content-type'
    const s = sign(['-H', 'Content-Type: application/json', '--components', components, '--curl'])
    assert.equal(s.code, 0, s.stderr)
    assert.equal(s.stderr, '')
    assert.match(s.stdout, /^curl /)
    assert.ok(s.stdout.includes(`--data-binary '@${bodyFile}'`) || s.stdout.includes(`--data-binary @${bodyFile}`), s.stdout)
    assert.ok(!s.stdout.includes(SECRET))
    const first = await runCurl(s.stdout)
    assert.equal(first.status, 200, first.body)
    assert.deepEqual(first.json, { subject: 'user:cli', keyId: 'cli-key', body: { amount: 10, item: 'tea' } })
    const again = await runCurl(s.stdout)
    assert.equal(again.status, 401, again.body)
    assert.equal(again.json.error.code, 'ERR_REPLAY')
  })

  await t.test('the simple scheme through curl', async () => {
    const s = sign(['--scheme', 'simple', '--curl'], `${base}/simple/orders`)
    assert.equal(s.code, 0, s.stderr)
    assert.match(s.stdout, /--header 'X-HMAC-Signature: [0-9a-f]{64}'/)
    const r = await runCurl(s.stdout)
    assert.equal(r.status, 200, r.body)
    assert.equal(r.json.subject, 'user:cli')
  })

  await t.test('a tampered body is refused with its code (401)', async () => {
    const s = sign(['--curl'])
    assert.equal(s.code, 0, s.stderr)
    const tamperedFile = path.join(dir, 'tampered.json')
    fs.writeFileSync(tamperedFile, body.replace('10', '99'))
    const tampered = s.stdout.split(bodyFile).join(tamperedFile)
    assert.notEqual(tampered, s.stdout)
    const r = await runCurl(tampered)
    assert.equal(r.status, 401, r.body)
    assert.equal(r.json.error.code, 'ERR_DIGEST_MISMATCH')
    // The untampered command still goes through: the failed attempt did not burn its nonce.
    assert.equal((await runCurl(s.stdout)).status, 200)
  })

  await t.test('sign --curl with the wrong secret: 401 ERR_SIGNATURE_MISMATCH', async () => {
    const s = cli(['sign', '--key-id', 'cli-key', '--body-file', bodyFile, '--curl', `${base}/orders`], {
      env: { ...ENV, HMAC_GUARD_SECRET: 'a-different-secret-0123456789abcdef' },
    })
    assert.equal(s.code, 0, s.stderr)
    const r = await runCurl(s.stdout)
    assert.equal(r.status, 401)
    assert.equal(r.json.error.code, 'ERR_SIGNATURE_MISMATCH')
  })

  await t.test('a raw request piped into verify: exit 0, tampered exit 1', () => {
    const s = sign(['--created', '1700000000'])
    assert.equal(s.code, 0, s.stderr)
    const req = rawRequest('POST', '/orders?id=7', host, body, s.stdout)
    const ok = cli(['verify', '--key-id', 'cli-key', '--subject', 'user:cli', '--at', '1700000010'], { input: req })
    assert.equal(ok.code, 0, ok.stdout + ok.stderr)
    assert.match(ok.stdout, /^verdict: ok\n/)
    assert.match(ok.stdout, /\nkey id: cli-key\n/)
    assert.match(ok.stdout, /\nsubject: user:cli\n/)
    assert.match(ok.stdout, /\ncreated: 1700000000 \(10 s before now\)\n/)
    const bad = cli(['verify', '--key-id', 'cli-key', '--at', '1700000010', '-'], { input: req.replace('"tea"', '"rum"') })
    assert.equal(bad.code, 1)
    assert.match(bad.stdout, /^verdict: rejected ERR_DIGEST_MISMATCH \(401\)\n/)
    const old = cli(['verify', '--key-id', 'cli-key', '--at', '1700000400'], { input: req })
    assert.equal(old.code, 1)
    assert.match(old.stdout, /^verdict: rejected ERR_TIMESTAMP_EXPIRED \(401\)\n/)
    // From a file, and explained without any secret.
    const file = path.join(dir, 'request.http')
    fs.writeFileSync(file, req)
    assert.equal(cli(['verify', '--key-id', 'cli-key', '--at', '1700000010', file]).code, 0)
    // Without a key the MAC is never checked: exit 3 ("incomplete"), never 0.
    const ex = cli(['explain', '--at', '1700000010', file], { env: { PATH: process.env.PATH } })
    assert.equal(ex.code, 3, ex.stderr)
    assert.ok(ex.stdout.includes('\n"@path": /orders\n"@query": ?id=7\n'), ex.stdout)
    assert.match(ex.stdout, /\nverdict: incomplete /)
    const malformed = cli(['verify', '--key-id', 'cli-key'], { input: 'not an http request\r\n\r\n' })
    assert.equal(malformed.code, 2)
    assert.equal(malformed.stdout, '')
    assert.match(malformed.stderr, /^hmac-guard: error: stdin: malformed request head/)
  })

  await t.test('--help for the tool and each command: exit 0', () => {
    for (const [args, first] of [
      [['--help'], 'hmac-guard: sign, verify and explain'],
      [['sign', '--help'], 'hmac-guard sign:'],
      [['verify', '--help'], 'hmac-guard verify:'],
      [['explain', '-h'], 'hmac-guard explain:'],
    ]) {
      const r = cli(args)
      assert.equal(r.code, 0, args.join(' '))
      assert.ok(r.stdout.startsWith(first), r.stdout)
    }
    assert.equal(cli([]).code, 2)
  })

  await t.test('secrets: never from argv, never printed; a missing one is exit 2', async () => {
    const refused = cli(['sign', '--key-id', 'cli-key', `--secret=${SECRET}`, `${base}/x`])
    assert.equal(refused.code, 2)
    assert.match(refused.stderr, /refusing --secret: a secret on the command line is visible/)
    assert.ok(!refused.stderr.includes(SECRET) && refused.stdout === '')
    const env = { ...ENV }
    delete env.HMAC_GUARD_SECRET
    const missing = cli(['sign', '--key-id', 'cli-key', `${base}/x`], { env })
    assert.equal(missing.code, 2)
    assert.match(missing.stderr, /no secret: the environment variable HMAC_GUARD_SECRET is not set/)
    const secretFile = path.join(dir, 'secret')
    fs.writeFileSync(secretFile, `${SECRET}\n`)
    const fromFile = cli(['sign', '--key-id', 'cli-key', '--secret-file', secretFile, '--curl', '--body-file', bodyFile, `${base}/orders`], { env })
    assert.equal(fromFile.code, 0, fromFile.stderr)
    assert.equal((await runCurl(fromFile.stdout)).status, 200)
    for (const r of [refused, missing, fromFile, cli(['explain', '--key-id', 'cli-key'], { input: 'GET / HTTP/1.1\r\n\r\n' })]) {
      assert.ok(!`${r.stdout}${r.stderr}`.includes(SECRET.slice(0, 12)))
    }
  })
})

// An exception from the addon (a stale or broken build) must be exit 2 ("usage or input error")
// with a one-line message, never exit 1 ("rejected") with a stack trace.
test('an exception in the bin is exit 2, not 1', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hmac-guard-cli-throw-'))
  try {
    const preload = path.join(dir, 'throwing-native.js')
    fs.writeFileSync(
      preload,
      `const Module = require('node:module')
const load = Module._load
Module._load = function (request, parent) {
  const loaded = load.apply(this, arguments)
  if (request === '../native.js' && parent && /hmac-guard\\.js$/.test(parent.filename)) {
    return { ...loaded, runCli() { throw new TypeError('detail that must not be printed') } }
  }
  return loaded
}
`,
    )
    const r = spawnSync(process.execPath, ['-r', preload, BIN, '--version'], { env: ENV, encoding: 'utf8', timeout: 30000 })
    assert.equal(r.status, 2, r.stderr)
    assert.equal(r.stdout, '')
    assert.match(r.stderr, /^hmac-guard: error: [^\n]*\n$/)
    assert.ok(!r.stderr.includes('detail that must not be printed') && !r.stderr.includes('    at '), r.stderr)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

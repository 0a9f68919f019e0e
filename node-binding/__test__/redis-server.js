'use strict'

// A real redis-server for the tests: 127.0.0.1 only, a free port, no persistence, a private
// directory; started and stopped by the test that owns it (by its pid, never by name). A missing
// binary is an error, not a skip: `make test` installs redis-server.

const fs = require('node:fs')
const net = require('node:net')
const os = require('node:os')
const path = require('node:path')
const { spawn } = require('node:child_process')

function findBinary(name) {
  for (const dir of String(process.env.PATH || '').split(path.delimiter)) {
    if (!dir) continue
    const p = path.join(dir, name)
    try {
      fs.accessSync(p, fs.constants.X_OK)
      return p
    } catch {}
  }
  return null
}

/** A free TCP port on 127.0.0.1 (the kernel's pick). */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

// Parses one RESP reply from `buf` at `i`: [value, next index] or null when incomplete.
function parse(buf, i) {
  const eol = buf.indexOf('\r\n', i)
  if (eol < 0) return null
  const kind = String.fromCharCode(buf[i])
  const line = buf.toString('utf8', i + 1, eol)
  const next = eol + 2
  if (kind === '+') return [line, next]
  if (kind === '-') return [new Error(line), next]
  if (kind === ':') return [Number(line), next]
  if (kind === '$') {
    const n = Number(line)
    if (n < 0) return [null, next]
    if (buf.length < next + n + 2) return null
    return [buf.toString('utf8', next, next + n), next + n + 2]
  }
  if (kind === '*') {
    const n = Number(line)
    if (n < 0) return [null, next]
    const out = []
    let j = next
    for (let k = 0; k < n; k++) {
      const r = parse(buf, j)
      if (!r) return null
      out.push(r[0])
      j = r[1]
    }
    return [out, j]
  }
  throw new Error(`unexpected RESP reply ${JSON.stringify(line)}`)
}

/** Sends one command on a fresh connection (bounded by `timeoutMs`); resolves its reply. */
function command(port, args, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1')
    let buf = Buffer.alloc(0)
    const done = (err, v) => {
      s.destroy()
      if (err) reject(err)
      else resolve(v)
    }
    s.setTimeout(timeoutMs, () => done(new Error(`redis ${args[0]} timed out`)))
    s.on('error', (e) => done(e))
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d])
      const r = parse(buf, 0)
      if (!r) return
      if (r[0] instanceof Error) done(r[0])
      else done(null, r[0])
    })
    const parts = args.map(String)
    s.write(`*${parts.length}\r\n` + parts.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join(''))
  })
}

class RedisServer {
  constructor() {
    this.binary = findBinary('redis-server')
    if (!this.binary) throw new Error('redis-server is required for the Redis tests (make test installs it with apt-get)')
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hmac-guard-node-redis-'))
    this.port = 0
    this.proc = null
    this.log = ''
  }

  get url() {
    return `redis://127.0.0.1:${this.port}/0`
  }

  /** Starts the server (on the same port as before when restarted); resolves once it answers PING. */
  async start() {
    if (!this.port) this.port = await freePort()
    const argv = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir]
    const proc = spawn(this.binary, argv, { stdio: ['ignore', 'pipe', 'pipe'] })
    this.proc = proc
    // Never outlive the test process, even when it dies mid-test.
    const kill = () => proc.kill('SIGKILL')
    process.once('exit', kill)
    proc.once('exit', () => process.removeListener('exit', kill))
    const keep = (d) => {
      this.log = (this.log + d).slice(-4000)
    }
    proc.stdout.on('data', keep)
    proc.stderr.on('data', keep)
    const deadline = Date.now() + 15000
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`redis-server exited (${proc.exitCode}):\n${this.log}`)
      try {
        if ((await command(this.port, ['PING'], 1000)) === 'PONG') return this
      } catch {}
      if (Date.now() > deadline) throw new Error(`redis-server did not start:\n${this.log}`)
      await sleep(50)
    }
  }

  /** Stops the server (SIGTERM, then SIGKILL after 5 s); resolves once it has exited. */
  async stop() {
    const proc = this.proc
    this.proc = null
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return
    const exited = new Promise((r) => proc.once('exit', r))
    proc.kill('SIGTERM')
    const t = setTimeout(() => proc.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(t)
  }

  /** Stops the server and removes its directory. */
  async dispose() {
    await this.stop()
    fs.rmSync(this.dir, { recursive: true, force: true })
  }

  command(...args) {
    return command(this.port, args)
  }

  /** `INFO commandstats` as {name: calls}. */
  async commandCalls() {
    const info = await this.command('INFO', 'commandstats')
    const out = {}
    for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out[m[1]] = Number(m[2])
    return out
  }
}

/** Runs `fn(url)` against a fresh redis-server, stopped afterwards whatever happens. */
async function withRedis(fn) {
  const redis = new RedisServer()
  try {
    await redis.start()
    return await fn(redis.url, redis)
  } finally {
    await redis.dispose()
  }
}

module.exports = { RedisServer, withRedis, freePort, command, sleep }

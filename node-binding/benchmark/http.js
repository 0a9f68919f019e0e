'use strict'

// End to end on 127.0.0.1: one Express 5 app shape, three ways to guard its POST route —
//   noauth       express.json(), no check
//   handwritten  express.json({verify}) keeping the raw body + an idiomatic hand-written check
//                (createHmac + timingSafeEqual + a Map of nonces, the simple scheme's string)
//   hmac         expressMiddleware (simple scheme)
// — 1 KiB signed JSON bodies, every route sent the same signed bytes by a loader process over
// keep-alive connections.
//
// Each (round, route) runs in a fresh server process, warmed up before it is measured: a route
// that leaves garbage or a grown heap behind (the hand-written Map of nonces) cannot bill the next
// route's round for its collections. Rounds alternate the route order. When `taskset` exists and
// there are 2+ CPUs, the server is pinned to CPU 0 and the loader to CPU 1, so the two do not
// trade places mid-round. Reported: requests/s and the server's CPU time per request (user +
// system, from the server process itself), medians over the rounds.
//
// Usage: node benchmark/http.js [--rounds 6] [--secs 3] [--warm 1] [--conns 32]
//        HG_BENCH_ONLY=noauth,hmac limits the routes.

const http = require('node:http')
const os = require('node:os')
const { fork, execFileSync } = require('node:child_process')
const { Guard, Signer, expressMiddleware } = require('..')
const { handWritten } = require('./handwritten.js')

const args = process.argv.slice(2)
const opt = (name, d) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? Number(args[i + 1]) : d
}
const SECRET = Buffer.alloc(32, 0x42)
const ROUTES = ['noauth', 'handwritten', 'hmac']

// Child: fires requests for `secs` seconds over `conns` keep-alive connections per message.
function runLoader() {
  process.on('message', ({ port, secs, conns, body }) => {
    // Every signed request is used once (its nonce is consumed): sign them before the clock.
    const signer = new Signer({ id: 'k1', secret: SECRET, scheme: 'simple' })
    const buf = Buffer.from(body, 'base64')
    const base = { host: `127.0.0.1:${port}`, 'content-type': 'application/json', 'content-length': String(buf.length) }
    // Pre-serialized requests on raw sockets: the loader must stay cheaper than the server.
    const wire = Array.from({ length: Math.ceil(15000 * secs) }, () => {
      const headers = { ...base, ...signer.sign({ method: 'POST', url: '/r', headers: base, body: buf }) }
      let head = 'POST /r HTTP/1.1\r\n'
      for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`
      return Buffer.concat([Buffer.from(`${head}\r\n`), buf])
    })
    const net = require('node:net')
    let done = 0
    let errors = 0
    let next = 0
    let stop = false
    const conn = () =>
      new Promise((resolve) => {
        const sock = net.connect(port, '127.0.0.1')
        let pending = Buffer.alloc(0)
        const send = () => {
          if (stop || next >= wire.length) {
            sock.end()
            resolve()
            return
          }
          sock.write(wire[next++])
        }
        sock.on('connect', send)
        sock.on('data', (d) => {
          pending = pending.length ? Buffer.concat([pending, d]) : d
          for (;;) {
            const he = pending.indexOf('\r\n\r\n')
            if (he < 0) return
            const head = pending.subarray(0, he).toString('latin1')
            const m = /content-length: *(\d+)/i.exec(head)
            const total = he + 4 + (m ? Number(m[1]) : 0)
            if (pending.length < total) return
            if (head.startsWith('HTTP/1.1 200')) done++
            else errors++
            pending = pending.subarray(total)
            send()
          }
        })
        sock.on('error', () => {
          errors++
          resolve()
        })
        sock.on('close', resolve)
      })
    const started = process.hrtime.bigint()
    setTimeout(() => {
      stop = true
    }, secs * 1000)
    Promise.all(Array.from({ length: conns }, conn)).then(() => {
      const elapsed = Number(process.hrtime.bigint() - started) / 1e9
      process.send({ rps: done / elapsed, done, errors, ranOut: next >= wire.length })
    })
  })
}

// The hand-written check as people write it (benchmark/handwritten.js), after express.json()
// kept the raw body; it answers 401 like the middleware would.
function handWrittenMiddleware() {
  const verify = handWritten('k1', SECRET)
  return (req, res, next) => {
    try {
      verify({ method: req.method, url: req.originalUrl, headers: req.headers, body: req.rawBody })
    } catch {
      res.status(401).json({ error: 'unauthorized' })
      return
    }
    next()
  }
}

// Child: one app with one guarded route at /r. Reports its port, then its CPU time per window.
function runServer(route) {
  const express = require('express')
  const app = express()
  const handler = (req, res) => res.json({ ok: true, n: req.body.items.length })
  if (route === 'noauth') app.post('/r', express.json(), handler)
  else if (route === 'handwritten') app.post('/r', express.json({ verify: (req, _res, buf) => (req.rawBody = buf) }), handWrittenMiddleware(), handler)
  else if (route === 'hmac') app.post('/r', expressMiddleware(new Guard({ scheme: 'simple', keys: [{ id: 'k1', secret: SECRET, subject: 'user:1' }] })), handler)
  else throw new Error(`unknown route ${route}`)
  const server = http.createServer(app)
  server.keepAliveTimeout = 60000
  let cpu
  process.on('message', (m) => {
    if (m === 'start') cpu = process.cpuUsage()
    else if (m === 'stop') {
      const used = process.cpuUsage(cpu)
      process.send({ cpuUs: used.user + used.system })
    } else if (m === 'exit') server.close(() => process.exit(0))
  })
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }))
}

function pin(pid, cpu) {
  try {
    execFileSync('taskset', ['-a', '-cp', String(cpu), String(pid)], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

const once = (child) => new Promise((resolve) => child.once('message', resolve))

async function main() {
  const rounds = opt('rounds', 6)
  const secs = opt('secs', 3)
  const warm = opt('warm', 1)
  const conns = opt('conns', 32)
  const only = process.env.HG_BENCH_ONLY ? process.env.HG_BENCH_ONLY.split(',') : ROUTES
  for (const r of only) if (!ROUTES.includes(r)) throw new Error(`unknown route ${r} (routes: ${ROUTES.join(', ')})`)
  const json = JSON.stringify({ items: Array.from({ length: 40 }, (_, i) => ({ id: i, name: `item-${i}` })) })
  const body = Buffer.from(json.slice(0, 1024).replace(/,?[^,]*$/, '') + ']}')
  JSON.parse(body) // still valid JSON after the cut
  const loader = fork(__filename, ['loader'])
  const pinned = os.cpus().length >= 2 && pin(loader.pid, 1)
  const load = (port, s) => {
    const out = once(loader)
    loader.send({ port, secs: s, conns, body: body.toString('base64') })
    return out
  }
  const results = Object.fromEntries(only.map((k) => [k, { rps: [], cpu: [] }]))
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 ? [...only].reverse() : only
    for (const route of order) {
      const server = fork(__filename, ['server', route])
      if (pinned) pin(server.pid, 0)
      const { port } = await once(server)
      if (warm > 0) await load(port, warm)
      server.send('start')
      const out = await load(port, secs)
      const cpuDone = once(server)
      server.send('stop')
      const { cpuUs } = await cpuDone
      server.send('exit')
      await new Promise((resolve) => server.once('exit', resolve))
      if (out.errors) console.error(`${route}: ${out.errors} non-200 answers`)
      if (out.ranOut) console.error(`${route}: the loader ran out of signed requests; raise its pool`)
      results[route].rps.push(out.rps)
      results[route].cpu.push(cpuUs / out.done)
    }
  }
  loader.kill()
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  console.log(
    `node ${process.version}, ${conns} connections, ${secs} s (+${warm} s warm-up) x ${rounds} alternating rounds, fresh server per round, ` +
      `${pinned ? 'server on CPU 0 / loader on CPU 1' : 'not pinned'}, body ${body.length} B, load ${os.loadavg()[0].toFixed(1)}`,
  )
  // Ratios are taken round by round (each route against the no-auth run of the same round,
  // minutes apart at most), then the median: the machine's speed drifts more between rounds
  // than between neighbours.
  const labels = { noauth: 'no auth:     ', handwritten: 'hand-written:', hmac: 'hmac-guard:  ' }
  const base = results.noauth
  for (const name of only) {
    const { rps, cpu } = results[name]
    let vs = ''
    if (base && name !== 'noauth') {
      const ratio = median(rps.map((x, i) => x / base.rps[i]))
      const extra = median(cpu.map((x, i) => x - base.cpu[i]))
      const spread = rps.map((x, i) => x / base.rps[i])
      vs = `   ratio ${ratio.toFixed(3)} (rounds ${Math.min(...spread).toFixed(2)}–${Math.max(...spread).toFixed(2)}), +${extra.toFixed(1)} µs CPU/req`
    }
    console.log(`  Express 5, ${labels[name]} ${median(rps).toFixed(0).padStart(6)} req/s, server CPU ${median(cpu).toFixed(1)} µs/req${vs}`)
  }
}

if (process.argv[2] === 'loader') runLoader()
else if (process.argv[2] === 'server') runServer(process.argv[3])
else
  main().catch((e) => {
    console.error(e)
    process.exit(1)
  })

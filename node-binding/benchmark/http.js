'use strict'

// End to end on 127.0.0.1: one Express 5 app shape, three ways to guard its POST route —
//   noauth       express.json(), no check
//   handwritten  express.json({verify}) keeping the raw body + an idiomatic hand-written check
//                (createHmac + timingSafeEqual + a Map of nonces, the simple scheme's string)
//   hmac         expressMiddleware (simple scheme)
//   noauth2      noauth again (default in --paired mode): the A/A check, the harness's noise floor
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
// --paired: instead of whole rounds, each guarded server runs beside a no-auth twin (both warmed,
// both on CPU 0) and the loader switches between them every `--slice` seconds (0.25), only one
// loaded at a time. This VM's speed drifts 0.6–1.5x between neighbouring rounds of seconds; two
// servers measured in interleaved quarter-seconds see the same drift.
//
// Usage: node benchmark/http.js [--rounds 6] [--secs 3] [--warm 1] [--conns 32] [--paired [--slice 0.25]]
//        HG_BENCH_ONLY=noauth,hmac limits the routes.

const http = require('node:http')
const net = require('node:net')
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
const ROUTES = ['noauth', 'handwritten', 'hmac', 'noauth2']

// Child: the loader. Fires requests over `conns` keep-alive connections to each of `ports` for
// `secs` seconds per port, then reports per port. With one port, or without `slice`, all ports
// are loaded at once; with `slice` (seconds) the ports take turns, one slice each: then only one
// server works at any moment, and all of them see the same minutes of the machine.
function runLoader() {
  process.on('message', ({ ports, secs, slice, conns, body }) => {
    // Every signed request is used once per server (its nonce is consumed there): sign them
    // before the clock. Servers have their own replay stores, so each walks the same list.
    const signer = new Signer({ id: 'k1', secret: SECRET, scheme: 'simple' })
    const buf = Buffer.from(body, 'base64')
    // Pre-serialized requests on raw sockets: the loader must stay cheaper than the server.
    const wire = Array.from({ length: Math.ceil(15000 * secs) }, () => {
      const base = { host: '127.0.0.1', 'content-type': 'application/json', 'content-length': String(buf.length) }
      const headers = { ...base, ...signer.sign({ method: 'POST', url: '/r', headers: base, body: buf }) }
      let head = 'POST /r HTTP/1.1\r\n'
      for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`
      return Buffer.concat([Buffer.from(`${head}\r\n`), buf])
    })
    const pools = ports.map((port) => new Pool(port, conns, wire))
    const now = () => Number(process.hrtime.bigint()) / 1e9
    const report = () => {
      for (const p of pools) p.close()
      process.send(pools.map((p) => ({ rps: p.done / p.active, done: p.done, errors: p.errors, ranOut: p.next >= wire.length })))
    }
    if (!slice || pools.length === 1) {
      const started = now()
      let left = pools.length
      for (const p of pools) {
        p.run(started + secs, () => {
          p.active = now() - started
          if (--left === 0) report()
        })
      }
      return
    }
    let turn = 0
    const nextSlice = () => {
      if (pools.every((p) => p.active >= secs)) return report()
      const p = pools[turn++ % pools.length]
      const started = now()
      p.run(started + slice, () => {
        p.active += now() - started
        nextSlice()
      })
    }
    nextSlice()
  })
}

// Keep-alive connections to one server, each with one request in flight at a time.
class Pool {
  constructor(port, conns, wire) {
    Object.assign(this, { port, conns, wire, socks: [], done: 0, errors: 0, next: 0, active: 0 })
  }

  // Sends requests until `until` (seconds, hrtime), then calls `idle` once every answer is in.
  run(until, idle) {
    let busy = this.conns
    const settle = () => {
      if (--busy === 0) idle()
    }
    const fire = (c) => {
      if (Number(process.hrtime.bigint()) / 1e9 >= until || this.next >= this.wire.length || c.sock.destroyed) return settle()
      c.answered = fire
      c.sock.write(this.wire[this.next++])
    }
    while (this.socks.length < this.conns) this.socks.push(this.connect())
    for (const c of this.socks) {
      if (c.connected) fire(c)
      else c.onConnect = () => fire(c)
    }
  }

  connect() {
    const c = { sock: net.connect(this.port, '127.0.0.1'), pending: Buffer.alloc(0), connected: false, answered: null }
    c.sock.on('connect', () => {
      c.connected = true
      if (c.onConnect) c.onConnect()
    })
    c.sock.on('data', (d) => {
      c.pending = c.pending.length ? Buffer.concat([c.pending, d]) : d
      for (;;) {
        const he = c.pending.indexOf('\r\n\r\n')
        if (he < 0) return
        const head = c.pending.subarray(0, he).toString('latin1')
        const m = /content-length: *(\d+)/i.exec(head)
        const total = he + 4 + (m ? Number(m[1]) : 0)
        if (c.pending.length < total) return
        if (head.startsWith('HTTP/1.1 200')) this.done++
        else this.errors++
        c.pending = c.pending.subarray(total)
        const answered = c.answered
        c.answered = null
        if (answered) answered(c)
      }
    })
    c.sock.on('error', () => {
      this.errors++
      if (!c.connected && c.onConnect) return c.onConnect()
      const answered = c.answered
      c.answered = null
      if (answered) answered(c)
    })
    return c
  }

  close() {
    for (const c of this.socks) c.sock.end()
  }
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
  if (route === 'noauth' || route === 'noauth2') app.post('/r', express.json(), handler)
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

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const range = (xs) => `${Math.min(...xs).toFixed(3)}–${Math.max(...xs).toFixed(3)}`

// Starts one server per route (all pinned to CPU 0 when pinning works), warms them up, loads them
// for `secs` each (taking turns when `slice` is set), and returns each one's requests/s and CPU
// time per request.
async function measure(routes, loader, pinned, { secs, warm, conns, body, slice }) {
  const servers = routes.map((route) => fork(__filename, ['server', route]))
  if (pinned) for (const s of servers) pin(s.pid, 0)
  const ports = (await Promise.all(servers.map(once))).map((m) => m.port)
  const load = (s) => {
    const out = once(loader)
    loader.send({ ports, secs: s, slice, conns, body: body.toString('base64') })
    return out
  }
  if (warm > 0) await load(warm)
  for (const s of servers) s.send('start')
  const outs = await load(secs)
  const cpus = servers.map(once)
  for (const s of servers) s.send('stop')
  const used = await Promise.all(cpus)
  for (const s of servers) s.send('exit')
  await Promise.all(servers.map((s) => new Promise((resolve) => s.once('exit', resolve))))
  return routes.map((route, i) => {
    const out = outs[i]
    if (out.errors) console.error(`${route}: ${out.errors} non-200 answers`)
    if (out.ranOut) console.error(`${route}: the loader ran out of signed requests; raise its pool`)
    return { rps: out.rps, cpu: used[i].cpuUs / out.done }
  })
}

// One round's result for a route next to the no-auth server it is compared with.
function compared(into, route, noauth) {
  into.rps.push(route.rps)
  into.cpu.push(route.cpu)
  into.vs.push(route.rps / noauth.rps)
  into.cpuVs.push(noauth.cpu / route.cpu)
  into.extra.push(route.cpu - noauth.cpu)
}

async function main() {
  const rounds = opt('rounds', 6)
  const secs = opt('secs', 3)
  const warm = opt('warm', 1)
  const paired = args.includes('--paired')
  const conns = opt('conns', 32)
  const slice = paired ? opt('slice', 0.25) : undefined
  // noauth2 is a second no-auth server: its ratio to noauth is the harness's own noise floor.
  const only = process.env.HG_BENCH_ONLY ? process.env.HG_BENCH_ONLY.split(',') : paired ? ROUTES : ROUTES.slice(0, 3)
  for (const r of only) if (!ROUTES.includes(r)) throw new Error(`unknown route ${r} (routes: ${ROUTES.join(', ')})`)
  if (paired && !only.includes('noauth')) throw new Error('--paired compares each route with noauth: keep noauth in HG_BENCH_ONLY')
  const json = JSON.stringify({ items: Array.from({ length: 40 }, (_, i) => ({ id: i, name: `item-${i}` })) })
  const body = Buffer.from(json.slice(0, 1024).replace(/,?[^,]*$/, '') + ']}')
  JSON.parse(body) // still valid JSON after the cut
  const loader = fork(__filename, ['loader'])
  const pinned = os.cpus().length >= 2 && pin(loader.pid, 1)
  const cfg = { secs, warm, conns, body, slice }
  const results = Object.fromEntries(only.map((k) => [k, { rps: [], cpu: [], vs: [], cpuVs: [], extra: [] }]))
  for (let r = 0; r < rounds; r++) {
    if (paired) {
      // The guarded server and a no-auth twin live side by side on the same CPU and take turns
      // every `slice` seconds, so a change in the machine's speed hits both alike.
      for (const route of only.filter((x) => x !== 'noauth')) {
        const pair = r % 2 ? ['noauth', route] : [route, 'noauth']
        const [a, b] = await measure(pair, loader, pinned, cfg)
        const [base, guarded] = pair[0] === 'noauth' ? [a, b] : [b, a]
        results.noauth.rps.push(base.rps)
        results.noauth.cpu.push(base.cpu)
        compared(results[route], guarded, base)
      }
    } else {
      const order = r % 2 ? [...only].reverse() : only
      const round = {}
      for (const route of order) [round[route]] = await measure([route], loader, pinned, cfg)
      for (const route of only) {
        if (round.noauth && route !== 'noauth') compared(results[route], round[route], round.noauth)
        else {
          results[route].rps.push(round[route].rps)
          results[route].cpu.push(round[route].cpu)
        }
      }
    }
  }
  loader.kill()
  console.log(
    `node ${process.version}, ${paired ? `paired (each guarded server beside a no-auth twin, turns of ${slice} s), ` : ''}` +
      `${conns} connections, ${secs} s (+${warm} s warm-up) x ${rounds} ` +
      `${paired ? 'rounds' : 'alternating rounds'}, fresh servers per round, ` +
      `${pinned ? 'servers on CPU 0 / loader on CPU 1' : 'not pinned'}, body ${body.length} B, load ${os.loadavg()[0].toFixed(1)}`,
  )
  // Ratios are taken round by round (each route against the no-auth run of the same round, or
  // its twin), then the median. "CPU ratio" = no-auth CPU per request / this route's: the
  // throughput ratio of a server whose CPU is the bottleneck, without the loader's noise.
  const labels = { noauth: 'no auth:     ', handwritten: 'hand-written:', hmac: 'hmac-guard:  ', noauth2: 'no auth, A/A:' }
  for (const name of only) {
    const { rps, cpu, vs, cpuVs, extra } = results[name]
    let line = `  Express 5, ${labels[name]} ${median(rps).toFixed(0).padStart(6)} req/s, server CPU ${median(cpu).toFixed(1)} µs/req`
    if (vs.length) {
      line += `   req/s ratio ${median(vs).toFixed(3)} (rounds ${range(vs)}), CPU ratio ${median(cpuVs).toFixed(3)} (rounds ${range(cpuVs)}), +${median(extra).toFixed(1)} µs CPU/req`
    }
    console.log(line)
  }
}

if (process.argv[2] === 'loader') runLoader()
else if (process.argv[2] === 'server') runServer(process.argv[3])
else
  main().catch((e) => {
    console.error(e)
    process.exit(1)
  })

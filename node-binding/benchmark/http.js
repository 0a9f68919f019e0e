'use strict'

// End to end on 127.0.0.1: the same Express 5 app with three routes — no auth (express.json()),
// an idiomatic hand-written check (express.json({verify}) + createHmac + timingSafeEqual + a Map
// of nonces, the simple scheme's canonical string) and expressMiddleware (simple scheme) — 1 KiB
// signed JSON bodies, alternating rounds. The loader runs in a child process with keep-alive
// connections and sends every route the same signed bytes.
// Usage: node benchmark/http.js [--rounds 6] [--secs 3] [--conns 32]

const http = require('node:http')
const { fork } = require('node:child_process')
const express = require('express')
const { Guard, Signer, expressMiddleware } = require('..')
const { handWritten } = require('./handwritten.js')

const args = process.argv.slice(2)
const opt = (name, d) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? Number(args[i + 1]) : d
}
const SECRET = Buffer.alloc(32, 0x42)

if (process.argv[2] === 'loader') {
  // Child: fire requests for `secs` seconds over `conns` keep-alive connections.
  process.on('message', ({ port, path, secs, conns, body }) => {
    // Every signed request is used once (its nonce is consumed): sign them here, before the clock.
    const signer = new Signer({ id: 'k1', secret: SECRET, scheme: 'simple' })
    const buf = Buffer.from(body, 'base64')
    const base = { host: `127.0.0.1:${port}`, 'content-type': 'application/json', 'content-length': String(buf.length) }
    // Both routes get the same bytes: signed requests, each used once. The no-auth route ignores
    // the signature headers; the loader then does identical work in both rounds, which matters
    // when it shares the machine's two cores with the server.
    const requests = Array.from({ length: 30000 * secs }, () => ({
      headers: { ...base, ...signer.sign({ method: 'POST', url: path, headers: base, body: buf }) },
      body: buf,
    }))
    // Raw keep-alive sockets with pre-serialized requests: the loader must stay cheaper than
    // the server, or it measures itself.
    const wire = requests.map((r) => {
      let head = `POST ${path} HTTP/1.1\r\n`
      for (const [k, v] of Object.entries(r.headers)) head += `${k}: ${v}\r\n`
      return Buffer.concat([Buffer.from(`${head}\r\n`), r.body])
    })
    const net = require('node:net')
    let done = 0
    let errors = 0
    let next = 0
    let stop = false
    const conn = () =>
      new Promise((resolve) => {
        const sock = net.connect(port, '127.0.0.1')
        let buf = Buffer.alloc(0)
        const send = () => {
          if (stop) {
            sock.end()
            resolve()
            return
          }
          sock.write(wire[next++ % wire.length])
        }
        sock.on('connect', send)
        sock.on('data', (d) => {
          buf = buf.length ? Buffer.concat([buf, d]) : d
          for (;;) {
            const he = buf.indexOf('\r\n\r\n')
            if (he < 0) return
            const head = buf.subarray(0, he).toString('latin1')
            const m = /content-length: *(\d+)/i.exec(head)
            const total = he + 4 + (m ? Number(m[1]) : 0)
            if (buf.length < total) return
            if (head.startsWith('HTTP/1.1 200')) done++
            else errors++
            buf = buf.subarray(total)
            send()
          }
        })
        sock.on('error', () => {
          errors++
          resolve()
        })
        sock.on('close', resolve)
      })
    setTimeout(() => {
      stop = true
    }, secs * 1000)
    Promise.all(Array.from({ length: conns }, conn)).then(() => {
      process.send({ rps: done / secs, errors })
    })
  })
  return
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

async function main() {
  const rounds = opt('rounds', 6)
  const secs = opt('secs', 3)
  const conns = opt('conns', 32)
  const guard = new Guard({ scheme: 'simple', keys: [{ id: 'k1', secret: SECRET, subject: 'user:1' }] })
  const app = express()
  const handler = (req, res) => res.json({ ok: true, n: req.body.items.length })
  app.post('/noauth', express.json(), handler)
  app.post('/handwritten', express.json({ verify: (req, res, buf) => { req.rawBody = buf } }), handWrittenMiddleware(), handler)
  app.post('/hmac', expressMiddleware(guard), handler)
  const server = http.createServer(app)
  server.keepAliveTimeout = 60000
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const port = server.address().port
  const body = Buffer.from(JSON.stringify({ items: Array.from({ length: 40 }, (_, i) => ({ id: i, name: `item-${i}` })) }).slice(0, 1024).replace(/,?[^,]*$/, '') + ']}')
  const padded = Buffer.from(JSON.parse(body) && body)
  const loader = fork(__filename, ['loader'])
  // Server CPU per answered request (user + system, this process only: the loader is a child).
  const run = (path) =>
    new Promise((resolve) => {
      const cpu = process.cpuUsage()
      loader.once('message', (out) => {
        const used = process.cpuUsage(cpu)
        resolve({ ...out, cpuUs: (used.user + used.system) / (out.rps * secs) })
      })
      loader.send({ port, path, secs, conns, body: padded.toString('base64') })
    })
  const only = process.env.HG_BENCH_ONLY ? process.env.HG_BENCH_ONLY.split(',') : ['noauth', 'handwritten', 'hmac']
  const results = Object.fromEntries(only.map((k) => [k, []]))
  const cpu = Object.fromEntries(only.map((k) => [k, []]))
  for (let r = 0; r < rounds + 1; r++) {
    const order = Object.keys(results)
    if (r % 2) order.reverse()
    for (const name of order) {
      const out = await run(`/${name}`)
      if (out.errors) console.error(`${name}: ${out.errors} non-200 answers`)
      if (r > 0) {
        results[name].push(out.rps)
        cpu[name].push(out.cpuUs)
      }
    }
  }
  loader.kill()
  server.close()
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  console.log(`node ${process.version}, ${conns} connections, ${secs} s x ${rounds} alternating rounds, body ${padded.length} B, load ${require('node:os').loadavg()[0].toFixed(1)}`)
  const labels = { noauth: 'no auth:     ', handwritten: 'hand-written:', hmac: 'hmac-guard:  ' }
  const base = results.noauth ? median(results.noauth) : undefined
  for (const name of only) {
    const rps = median(results[name])
    const ratio = base && name !== 'noauth' ? `   ratio ${(rps / base).toFixed(3)}` : ''
    console.log(`  Express 5, ${labels[name]} ${rps.toFixed(0).padStart(6)} req/s, server CPU ${median(cpu[name]).toFixed(1)} µs/req${ratio}`)
  }
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})

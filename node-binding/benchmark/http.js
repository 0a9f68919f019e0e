'use strict'

// End to end on 127.0.0.1: the same Express 5 app, a route with no auth (express.json()) and a
// route behind expressMiddleware, 1 KiB signed JSON bodies, alternating rounds. The loader runs
// in a child process with keep-alive connections.
// Usage: node benchmark/http.js [--rounds 6] [--secs 3] [--conns 32]

const http = require('node:http')
const { fork } = require('node:child_process')
const express = require('express')
const { Guard, Signer, expressMiddleware } = require('..')

const args = process.argv.slice(2)
const opt = (name, d) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? Number(args[i + 1]) : d
}
const SECRET = Buffer.alloc(32, 0x42)

if (process.argv[2] === 'loader') {
  // Child: fire requests for `secs` seconds over `conns` keep-alive connections.
  process.on('message', ({ port, path, secs, conns, body, signed }) => {
    // Every signed request is used once (its nonce is consumed): sign them here, before the clock.
    const signer = new Signer({ id: 'k1', secret: SECRET })
    const buf = Buffer.from(body, 'base64')
    const base = { host: `127.0.0.1:${port}`, 'content-type': 'application/json', 'content-length': String(buf.length) }
    const requests = Array.from({ length: signed ? 30000 * secs : 1 }, () => ({
      headers: signed ? { ...base, ...signer.sign({ method: 'POST', url: path, headers: base, body: buf }) } : base,
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

async function main() {
  const rounds = opt('rounds', 6)
  const secs = opt('secs', 3)
  const conns = opt('conns', 32)
  const guard = new Guard({ keys: [{ id: 'k1', secret: SECRET, subject: 'user:1' }] })
  const app = express()
  const handler = (req, res) => res.json({ ok: true, n: req.body.items.length })
  app.post('/noauth', express.json(), handler)
  app.post('/hmac', expressMiddleware(guard), handler)
  const server = http.createServer(app)
  server.keepAliveTimeout = 60000
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const port = server.address().port
  const body = Buffer.from(JSON.stringify({ items: Array.from({ length: 40 }, (_, i) => ({ id: i, name: `item-${i}` })) }).slice(0, 1024).replace(/,?[^,]*$/, '') + ']}')
  const padded = Buffer.from(JSON.parse(body) && body)
  const loader = fork(__filename, ['loader'])
  const run = (path, signed) =>
    new Promise((resolve) => {
      loader.once('message', resolve)
      loader.send({ port, path, secs, conns, body: padded.toString('base64'), signed })
    })
  const results = { noauth: [], hmac: [] }
  for (let r = 0; r < rounds + 1; r++) {
    const order = r % 2 ? ['hmac', 'noauth'] : ['noauth', 'hmac']
    for (const name of order) {
      const out = await run(`/${name}`, name === 'hmac')
      if (out.errors) console.error(`${name}: ${out.errors} non-200 answers`)
      if (r > 0) results[name].push(out.rps)
    }
  }
  loader.kill()
  server.close()
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  const a = median(results.noauth)
  const b = median(results.hmac)
  console.log(`node ${process.version}, ${conns} connections, ${secs} s x ${rounds} alternating rounds, body ${padded.length} B, load ${require('node:os').loadavg()[0].toFixed(1)}`)
  console.log(`  Express 5, no auth:          ${a.toFixed(0)} req/s`)
  console.log(`  Express 5, hmac-guard:       ${b.toFixed(0)} req/s`)
  console.log(`  ratio:                       ${(b / a).toFixed(3)}`)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})

'use strict'

// Raw HTTP/1.1 over a TCP socket, for the request-intake tests: bytes no HTTP client would send
// (broken chunking, Transfer-Encoding with Content-Length), half-closes, and a flood of body bytes
// after the server has answered. Every function here is bounded in time and settles once.

const net = require('node:net')

/** The request head as bytes: `lines` are "Name: value" strings (or [name, value] pairs). */
function rawHead(method, path, headers) {
  const lines = [`${method} ${path} HTTP/1.1`]
  for (const h of headers) lines.push(Array.isArray(h) ? `${h[0]}: ${h[1]}` : h)
  return Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1')
}

/** A signed request (helpers.signed) as a raw head, minus the given headers (lowercase names). */
function headOfSigned(s, { drop = [], add = [] } = {}) {
  const pairs = Object.entries(s.headers).filter(([n]) => !drop.includes(n.toLowerCase()))
  return rawHead(s.method, s.path, [...pairs, ...add])
}

/** One chunk of a chunked body. */
function chunk(bytes) {
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes)
  return Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from('\r\n')])
}

/**
 * Parses the first response in `data`: {status, headers (lowercase names), body, json}, or null
 * while it is incomplete (a body without Content-Length ends when the connection does).
 */
function parseResponse(data, ended) {
  const end = data.indexOf('\r\n\r\n')
  if (end < 0) return null
  const lines = data.subarray(0, end).toString('latin1').split('\r\n')
  const status = Number(lines[0].split(' ')[1])
  const headers = {}
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':')
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim()
  }
  let body = data.subarray(end + 4)
  if (headers['content-length'] !== undefined) {
    const n = Number(headers['content-length'])
    if (body.length < n) return ended ? { status, headers, body: body.toString(), json: undefined, truncated: true } : null
    body = body.subarray(0, n)
  } else if (headers['transfer-encoding'] === 'chunked') {
    const out = []
    let at = 0
    for (;;) {
      const nl = body.indexOf('\r\n', at)
      if (nl < 0) return ended ? { status, headers, body: Buffer.concat(out).toString(), truncated: true } : null
      const size = parseInt(body.subarray(at, nl).toString(), 16)
      if (size === 0) break
      if (body.length < nl + 2 + size + 2) return ended ? { status, headers, body: Buffer.concat(out).toString(), truncated: true } : null
      out.push(body.subarray(nl + 2, nl + 2 + size))
      at = nl + 2 + size + 2
    }
    body = Buffer.concat(out)
  } else if (!ended && status !== 204 && status !== 304) {
    return null
  }
  const text = body.toString('utf8')
  let json
  try {
    json = JSON.parse(text)
  } catch {}
  return { status, headers, body: text, json }
}

/**
 * Connects to `base`, writes `pieces` in order, then `end: 'half'` (FIN, keep reading),
 * `'destroy'` (close the connection at once: nothing comes back) or `'none'`, and reads the
 * first response. Resolves {status, headers, body, json, closed} ({status: 0} when nothing
 * parseable came back); `closed` tells whether the server closed the connection within `waitCloseMs`
 * after answering.
 */
function rawExchange(base, pieces, { end = 'none', timeoutMs = 10000, waitCloseMs = 3000 } = {}) {
  const u = new URL(base)
  return new Promise((resolve) => {
    const socket = net.connect({ host: u.hostname, port: Number(u.port) })
    let data = Buffer.alloc(0)
    let settled = false
    let response = null
    let closeTimer
    const finish = (closed) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      clearTimeout(closeTimer)
      socket.destroy()
      const r = response || parseResponse(data, true) || { status: 0, headers: {}, body: data.toString('latin1') }
      resolve({ ...r, closed })
    }
    const timer = setTimeout(() => finish(false), timeoutMs)
    socket.on('error', () => finish(true))
    socket.on('close', () => finish(true))
    socket.on('end', () => finish(true))
    socket.on('data', (d) => {
      data = Buffer.concat([data, d])
      if (!response) {
        response = parseResponse(data, false)
        if (response) closeTimer = setTimeout(() => finish(false), waitCloseMs)
      }
    })
    socket.on('connect', () => {
      for (const p of pieces) socket.write(p)
      if (end === 'half') socket.end()
      else if (end === 'destroy') socket.end(() => setTimeout(() => finish(true), 20))
    })
  })
}

/**
 * Sends `head`, then body bytes in `piece`-sized writes (one in flight at a time) up to `total`
 * (each write one chunk of a chunked body when `chunked`),
 * reading the answer meanwhile, and keeps writing after it arrived: how much more the server
 * lets in is the point. Stops when the socket errors or closes, after `total` bytes, or after
 * `timeoutMs`. Resolves {status, headers, json, body, written (body bytes the kernel took),
 * closed (the connection was reset or closed), fin (the server sent FIN), answeredAt (body bytes
 * written when the answer came)}.
 */
function flood(base, head, { total = 50 * 1024 * 1024, piece = 64 * 1024, chunked = false, timeoutMs = 20000 } = {}) {
  const u = new URL(base)
  const buf = chunked ? chunk(Buffer.alloc(piece, 0x78)) : Buffer.alloc(piece, 0x78)
  return new Promise((resolve) => {
    // Half-open allowed: a server that sends FIN but keeps reading must still be caught reading.
    const socket = net.connect({ host: u.hostname, port: Number(u.port), allowHalfOpen: true })
    let data = Buffer.alloc(0)
    let written = 0
    let fin = false
    let response = null
    let answeredAt
    let settled = false
    const finish = (closed) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      const r = response || parseResponse(data, true) || { status: 0, headers: {}, body: data.toString('latin1') }
      resolve({ ...r, written, closed, fin, answeredAt })
    }
    const timer = setTimeout(() => finish(false), timeoutMs)
    socket.on('error', () => finish(true))
    socket.on('end', () => {
      fin = true
    })
    socket.on('close', () => finish(true))
    socket.on('data', (d) => {
      data = Buffer.concat([data, d])
      if (!response) {
        response = parseResponse(data, false)
        if (response) answeredAt = written
      }
    })
    const pump = () => {
      if (settled || socket.destroyed) return
      if (written >= total) {
        // Everything went through: the server read the whole body.
        setTimeout(() => finish(false), 200)
        return
      }
      socket.write(buf, (err) => {
        if (err) return finish(true)
        written += buf.length
        setImmediate(pump)
      })
    }
    socket.on('connect', () => socket.write(head, (err) => (err ? finish(true) : pump())))
  })
}

module.exports = { rawHead, headOfSigned, chunk, parseResponse, rawExchange, flood }

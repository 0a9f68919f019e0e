'use strict'

// The idiomatic hand-written verifier the benchmarks compare against: node:crypto `createHmac` +
// `timingSafeEqual` + a `Map` nonce cache with a sweep, over the simple scheme's canonical string
//   HG1\n<METHOD>\n<path?query>\n<timestamp>\n<nonce>\n<key id>\n<hex sha-256 of body>
// `handWritten(keyId, secret)` returns `verify({ method, url, headers, body })`, which throws on
// any failure and returns `{ keyId, nonce }`.

const crypto = require('node:crypto')

function handWritten(keyIdWanted, secret) {
  const nonces = new Map()
  let lastSweep = 0
  return function verify(req) {
    const h = req.headers
    const keyId = h['x-hmac-key-id']
    const ts = h['x-hmac-timestamp']
    const nonce = h['x-hmac-nonce']
    const digest = h['x-hmac-content-sha256']
    const sig = h['x-hmac-signature']
    if (!keyId || !ts || !nonce || !digest || !sig) throw new Error('missing')
    if (keyId !== keyIdWanted) throw new Error('unknown key')
    const now = Math.floor(Date.now() / 1000)
    const t = Number(ts)
    if (!(now - t <= 300 && t - now <= 30)) throw new Error('window')
    const canonical = `HG1\n${req.method}\n${req.url}\n${ts}\n${nonce}\n${keyId}\n${digest}`
    const mac = crypto.createHmac('sha256', secret).update(canonical).digest()
    const given = Buffer.from(sig, 'hex')
    if (given.length !== mac.length || !crypto.timingSafeEqual(given, mac)) throw new Error('mismatch')
    const body = crypto.createHash('sha256').update(req.body || Buffer.alloc(0)).digest()
    if (!crypto.timingSafeEqual(body, Buffer.from(digest, 'hex'))) throw new Error('digest')
    const k = `${keyId}:${nonce}`
    if (nonces.has(k)) throw new Error('replay')
    nonces.set(k, t + 331)
    if (now !== lastSweep) {
      lastSweep = now
      for (const [n, exp] of nonces) {
        if (exp > now) break
        nonces.delete(n)
      }
    }
    return { keyId, nonce }
  }
}

module.exports = { handWritten }

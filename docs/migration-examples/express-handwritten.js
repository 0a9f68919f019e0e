'use strict'
// BEFORE: a typical hand-written Express verifier with its client. Do not copy it:
// docs/migration.md lists its bugs (the numbers in the comments). express-transition.js reuses
// legacyBodyParser and legacyVerify as the "old check" during a transition.

const crypto = require('node:crypto')
const express = require('express')

const SECRET = process.env.LEGACY_HMAC_SECRET
const seen = new Set()

const legacyBodyParser = express.json({ limit: '10mb', verify: (req, res, buf) => { req.rawBody = buf } }) // (1)

function legacyVerify(req, res, next) {
  const ts = req.get('x-timestamp')
  const nonce = req.get('x-nonce')
  const sig = req.get('x-signature') || ''
  if (Math.abs(Date.now() - Number(ts)) > 5 * 60 * 1000) return res.status(401).json({ error: 'expired' }) // (2)
  if (seen.has(nonce)) return res.status(401).json({ error: 'replay' }) // (3)
  seen.add(nonce)
  setTimeout(() => seen.delete(nonce), 5 * 60 * 1000) // (4)
  const expected = crypto.createHmac('sha256', SECRET)
    .update(`${ts}.${nonce}.${req.rawBody}`) // (5)
    .digest('hex')
  if (sig !== expected) { // (6)
    console.warn('bad signature', { sig, expected }) // (7)
    return res.status(401).json({ error: 'bad signature' })
  }
  req.user = req.get('x-user-id') // (8)
  next()
}

const app = express()
app.use(legacyBodyParser)
app.post('/api/orders', legacyVerify, (req, res) => res.json({ by: req.user, order: req.body }))

// The matching hand-written client.
function legacyHeaders(secret, body, userId) {
  const ts = String(Date.now())
  const nonce = crypto.randomUUID()
  const sig = crypto.createHmac('sha256', secret).update(`${ts}.${nonce}.${body}`).digest('hex')
  return { 'content-type': 'application/json', 'x-timestamp': ts, 'x-nonce': nonce, 'x-signature': sig, 'x-user-id': userId }
}

module.exports = { app, legacyBodyParser, legacyVerify, legacyHeaders }

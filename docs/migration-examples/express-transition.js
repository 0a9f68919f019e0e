'use strict'
// DURING THE TRANSITION: hmac-guard for clients that sign with it, the old check for the others
// until a deadline (docs/migration.md, "Rolling out"). check-node.js exercises it.

const express = require('express')
const { Guard, expressMiddleware } = require('hmac-guard')
const { legacyBodyParser, legacyVerify } = require('./express-handwritten.js')

const guard = new Guard({
  scheme: 'simple',
  keys: [{ id: 'client-1', secret: process.env.HMAC_SECRET, subject: 'user:42' }],
})
const app = express()

const LEGACY_UNTIL = Date.parse('2027-06-30T00:00:00Z') // the deadline you announced

app.use('/api', expressMiddleware(guard, { optional: true })) // signed for hmac-guard: verified or refused
app.use('/api', legacyBodyParser) // the old express.json({ verify }); skips requests the guard read
app.use('/api', (req, res, next) => {
  if (req.hmac) return next() // verified by hmac-guard: the old check never runs
  if (Date.now() >= LEGACY_UNTIL) {
    return res.status(401).json({ error: { code: 'ERR_MISSING_SIGNATURE', message: 'request is not signed' } })
  }
  console.warn('legacy signature from', req.ip) // who still has to migrate
  legacyVerify(req, res, next) // unchanged and mandatory for these requests
})

app.post('/api/orders', (req, res) => {
  res.json({ by: req.hmac ? req.hmac.subject : req.user, order: req.body })
})

module.exports = { app, guard }

'use strict'
// AFTER: the same endpoint protected by hmac-guard (docs/migration.md, "Express: the server").
// check-node.js requires this file with HMAC_SECRET set and listens on a free port.

const express = require('express')
const { Guard, expressMiddleware } = require('hmac-guard')

const guard = new Guard({
  scheme: 'simple', // the HG1 headers; leave it out for RFC 9421 (see "Which scheme")
  keys: [{ id: 'client-1', secret: process.env.HMAC_SECRET, subject: 'user:42' }],
})

const app = express()
app.use('/api', expressMiddleware(guard)) // before express.json(): it reads, caps and verifies the body
app.use(express.json()) // for the other routes; skips requests the guard has already read

app.post('/api/orders', (req, res) => {
  res.json({ by: req.hmac.subject, order: req.body })
})
app.post('/echo', (req, res) => res.json({ parsed: req.body })) // unprotected, parsed by express.json()

module.exports = { app, guard }

'use strict'

// hmac-guard for Node.js: HMAC request verification (RFC 9421 HTTP Message Signatures and a
// simple header scheme) in one audited Rust core; this package is plumbing around it.

const core = require('./lib/core.js')
const { expressMiddleware } = require('./lib/express.js')
const { koaMiddleware } = require('./lib/koa.js')
const { createVerifyStream, verifyUpload } = require('./lib/stream.js')
const { signRequest } = require('./lib/client.js')
const { sendError } = require('./lib/http.js')

module.exports = {
  Guard: core.Guard,
  ManualClock: core.ManualClock,
  Verification: core.Verification,
  ReplayTicket: core.ReplayTicket,
  Signer: core.Signer,
  HmacGuardError: core.HmacGuardError,
  errorCodes: core.errorCodes,
  configFields: core.configFields,
  expressMiddleware,
  koaMiddleware,
  createVerifyStream,
  verifyUpload,
  signRequest,
  sendError,
  coreVersion: core.native.coreVersion,
}

'use strict'

// hmac-guard for Node.js: HMAC request verification (RFC 9421 HTTP Message Signatures and a
// simple header scheme) in one audited Rust core; this package is plumbing around it.
//
// Every export is a plain identifier in the object literal below, so that Node's CommonJS export
// detection (cjs-module-lexer) sees all of them and `import { Signer } from 'hmac-guard'` works:
// a `name: obj.prop` entry or a getter would end the detection there. `scripts/check-dist.sh`
// and `__test__/esm.test.mjs` compare the named ESM exports with require()'s keys.

const {
  Guard,
  ManualClock,
  Verification,
  ReplayTicket,
  Signer,
  HmacGuardError,
  errorCodes,
  configFields,
  native,
} = require('./lib/core.js')
const { expressMiddleware } = require('./lib/express.js')
const { koaMiddleware } = require('./lib/koa.js')
const { createVerifyStream, verifyUpload } = require('./lib/stream.js')
const { signRequest, signWebhook } = require('./lib/client.js')
const { expressWebhook, koaWebhook } = require('./lib/webhook.js')
const { sendError } = require('./lib/http.js')

const coreVersion = native.coreVersion

module.exports = {
  Guard,
  ManualClock,
  Verification,
  ReplayTicket,
  Signer,
  HmacGuardError,
  errorCodes,
  configFields,
  expressMiddleware,
  koaMiddleware,
  expressWebhook,
  koaWebhook,
  createVerifyStream,
  verifyUpload,
  signRequest,
  signWebhook,
  sendError,
  coreVersion,
}

'use strict'

// The JS face of the native addon, gathered for the adapters (lib/express.js, koa.js, http.js, …)
// and index.js. One job per module: errors.js (HmacGuardError, argument TypeErrors), head.js
// (request packing), verified.js (result unpacking, ReplayTicket), guard.js (Guard,
// Verification, ManualClock), client.js (Signer, signRequest). Every check runs in the Rust core;
// nothing here decides whether a request or an option is valid.

const errors = require('./errors.js')
const head = require('./head.js')
const verified = require('./verified.js')
const guard = require('./guard.js')
const client = require('./client.js')

module.exports = {
  Guard: guard.Guard,
  Verification: guard.Verification,
  ManualClock: guard.ManualClock,
  configFields: guard.configFields,
  beginOwned: guard.beginOwned,
  finishVerification: guard.finishVerification,
  acceptSignature: guard.acceptSignature,
  noteRefusal: guard.noteRefusal,
  refusal: guard.refusal,
  ReplayTicket: verified.ReplayTicket,
  Verified: verified.Verified,
  Signer: client.Signer,
  HmacGuardError: errors.HmacGuardError,
  errorCodes: errors.errorCodes,
  translate: errors.translate,
  flattenHeaders: head.flattenHeaders,
  packHead: head.packHead,
  toBytes: head.toBytes,
  native: errors.native,
}

'use strict'

// The verifying Transform, on its own so that lib/http.js (the adapters' sink mode) and
// lib/stream.js (verifyUpload, which takes its request head from lib/http.js) can both use it
// without requiring each other.

const { Transform } = require('node:stream')
const { translate, finishVerification } = require('./core.js')

/**
 * A Transform that passes bytes through while verifying them. `verification` comes from
 * `guard.begin(...)`. `stream.verified` resolves with the result after the last byte (or
 * rejects with the HmacGuardError that stopped the stream).
 */
function createVerifyStream(verification) {
  let settle
  const verified = new Promise((resolve, reject) => {
    settle = { resolve, reject }
  })
  verified.catch(() => {})
  const t = new Transform({
    transform(chunk, _enc, cb) {
      try {
        verification.update(chunk)
      } catch (e) {
        const err = translate(e)
        settle.reject(err)
        cb(err)
        return
      }
      cb(null, chunk)
    },
    flush(cb) {
      const failed = (e) => {
        const err = translate(e)
        settle.reject(err)
        cb(err)
      }
      let verified
      try {
        // A Promise with a networked store (Redis): its round trip is awaited off the event loop.
        verified = finishVerification(verification)
      } catch (e) {
        failed(e)
        return
      }
      if (verified instanceof Promise) {
        verified.then((v) => {
          settle.resolve(v)
          cb()
        }, failed)
      } else {
        settle.resolve(verified)
        cb()
      }
    },
  })
  t.once('error', (e) => {
    verification.abort()
    settle.reject(translate(e))
  })
  t.verified = verified
  return t
}

module.exports = { createVerifyStream }

'use strict'

// Streaming uploads: pipe a request body through the verifier into any Writable (a file, a
// storage client) and learn the verdict at the end, with the body limit enforced chunk by chunk.

const { Transform, promises: streamPromises } = require('node:stream')
const { translate, finishVerification } = require('./core.js')
const { headOf } = require('./http.js')

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
        // A Promise with a networked store (Redis): its round trip runs on the libuv pool.
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

/**
 * Verifies an incoming upload while writing it to `destination`. Resolves with the verified
 * result once the body ended and the destination finished; rejects with an HmacGuardError as
 * soon as a check fails (header problems before one byte is written; over the limit mid-way).
 * Bytes written before a failure are unverified: write to a temporary place and only publish
 * it after this resolves. The request is not destroyed on failure, so an error can still be
 * answered (with `Connection: close`).
 */
async function verifyUpload(guard, req, destination, options = {}) {
  const verification = guard.begin(headOf(req, options, req.originalUrl || req.url))
  const t = createVerifyStream(verification)
  const onError = () => {
    req.unpipe(t)
    req.pause()
  }
  t.once('error', onError)
  req.pipe(t)
  try {
    await streamPromises.pipeline(t, destination)
  } catch (e) {
    onError()
    throw translate(e)
  }
  return t.verified
}

module.exports = { createVerifyStream, verifyUpload }

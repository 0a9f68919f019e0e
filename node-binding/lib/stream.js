'use strict'

// Streaming uploads: pipe a request body through the verifier into any Writable (a file, a
// storage client) and learn the verdict at the end, with the body limit enforced chunk by chunk.

const { promises: streamPromises } = require('node:stream')
const { translate } = require('./core.js')
const { headOf, watchFraming } = require('./http.js')
const { createVerifyStream } = require('./verify-stream.js')

/**
 * Verifies an incoming upload while writing it to `destination`. Resolves with the verified
 * result once the body ended and the destination finished; rejects with an HmacGuardError as
 * soon as a check fails (header problems before one byte is written; over the limit mid-way).
 * Bytes written before a failure are unverified: write to a temporary place and only publish
 * it after this resolves. The request is not destroyed on failure, so an error can still be
 * answered (with `Connection: close`, e.g. by `sendError`). A body the server cannot read (bad
 * chunking, the connection ending mid-body) rejects with ERR_BAD_FRAMING.
 */
async function verifyUpload(guard, req, destination, options = {}) {
  const verification = guard.begin(headOf(req, options, req.originalUrl || req.url))
  const t = createVerifyStream(verification)
  const onError = () => {
    req.unpipe(t)
    req.pause()
  }
  t.once('error', onError)
  // A body the server could not read: counted as that rejection, then the stream stopped.
  const unwatch = watchFraming(req, (err) => {
    verification.abort(err)
    t.destroy(err)
  })
  req.pipe(t)
  try {
    await streamPromises.pipeline(t, destination)
  } catch (e) {
    onError()
    throw translate(e)
  } finally {
    unwatch()
  }
  return t.verified
}

module.exports = { createVerifyStream, verifyUpload }

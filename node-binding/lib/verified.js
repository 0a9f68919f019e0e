'use strict'

// A verification's result as JS sees it: `Verified`, read back from the addon's packed form
// (src/verified.rs `pack_into`) or from a full object, and the `ReplayTicket` of reserve mode.

const util = require('node:util')
const { call, fromValue } = require('./errors.js')

const kNative = Symbol('hmac-guard.native')

// A packed result: the field texts back to back in one string, the field count in io[0] and
// each field's length in io[1..] (ABSENT: the field is missing).
const ABSENT = 0xffffffff
let at = 0

function piece(s, len) {
  if (len === ABSENT) return undefined
  const out = s.slice(at, at + len)
  at += len
  return out
}

const num = (x) => (x === undefined ? undefined : Number(x))

/** A verified request. Act only on these values. */
class Verified {
  constructor(f) {
    this.scheme = f[0]
    this.label = f[1]
    this.keyId = f[2]
    this.subject = f[3]
    this.algorithm = f[4]
    this.created = num(f[5])
    this.expires = num(f[6])
    this.nonce = f[7]
    this.tag = f[8]
    this.bodyLength = Number(f[9])
    this.covered = []
    this.replayTicket = undefined
    this.webhook = undefined
  }

  /** The signed value of a covered component: `@path`, `content-type`, or a serialized identifier. */
  component(id) {
    const q = `"${id}"`
    for (const c of this.covered) if (c.id === id || c.id === q) return c.value
    return undefined
  }
}

// Scheme, label, key id, subject, algorithm, created, expires, nonce, tag, body length, then the
// id and value of each covered component. Read right after the call, before any other JS runs.
function unpackVerified(s, io) {
  at = 0
  const n = io[0]
  const f = [piece(s, io[1]), piece(s, io[2]), piece(s, io[3]), piece(s, io[4]), piece(s, io[5])]
  f.push(piece(s, io[6]), piece(s, io[7]), piece(s, io[8]), piece(s, io[9]), piece(s, io[10]))
  const v = new Verified(f)
  const covered = v.covered
  for (let k = 11; k < n; k += 2) {
    const id = piece(s, io[k])
    covered.push({ id, value: piece(s, io[k + 1]) })
  }
  return v
}

/** A Verified from what the addon returned: a packed string (lengths in `io`) or a full object. */
function makeVerified(r, io) {
  if (typeof r === 'string') return unpackVerified(r, io)
  // Reserve mode, and the async paths: a full object (with the replay ticket).
  const v = new Verified([r.scheme, r.label, r.keyId, r.subject, r.algorithm, r.created, r.expires, r.nonce, r.tag, r.bodyLength])
  v.covered = r.covered
  v.replayTicket = r.replayTicket ? new ReplayTicket(r.replayTicket) : undefined
  // A webhook preset's delivery: {provider, id, type, json, dedupe}.
  const w = r.webhook
  if (w) v.webhook = Object.freeze({ provider: w.provider, id: w.id ?? null, type: w.type ?? null, json: w.json, dedupe: w.dedupe })
  return v
}

/**
 * A two-phase replay reservation (`replay: 'reserve'`). With the Redis store, use the async
 * methods: the sync ones would block the event loop and throw ERR_INVALID_STATE.
 */
class ReplayTicket {
  constructor(handle) {
    this[kNative] = handle
  }

  /** The delivery was processed: keep the nonce for the rest of its window. */
  commit() {
    call(() => this[kNative].commit())
  }

  /** The handler failed: drop the reservation so a retry can pass. */
  release() {
    call(() => this[kNative].release())
  }

  /** As commit(), off the event loop (Redis: the core's own async client; in memory: the libuv pool). Rejects with HmacGuardError. */
  async commitAsync() {
    const e = await this[kNative].commitAsync()
    if (e) throw fromValue(e)
  }

  /** As release(), off the event loop, as commitAsync(). Rejects with HmacGuardError. */
  async releaseAsync() {
    const e = await this[kNative].releaseAsync()
    if (e) throw fromValue(e)
  }

  [util.inspect.custom]() {
    return 'ReplayTicket {}'
  }
}

module.exports = { Verified, ReplayTicket, makeVerified }

// import { … } from 'hmac-guard' from an installed tarball: the named exports Node detects must be
// every export require() sees (nothing only reachable through `default`), same for /feathers and
// /prometheus.
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import * as main from 'hmac-guard'
import * as feathers from 'hmac-guard/feathers'
import * as prometheus from 'hmac-guard/prometheus'
import { Guard, Signer, ManualClock, HmacGuardError } from 'hmac-guard'
import { HmacStrategy } from 'hmac-guard/feathers'

const require = createRequire(import.meta.url)
const named = (ns) => Object.keys(ns).filter((k) => k !== 'default').sort()
assert.deepEqual(named(main), Object.keys(require('hmac-guard')).sort())
assert.deepEqual(named(feathers), Object.keys(require('hmac-guard/feathers')).sort())
assert.deepEqual(named(prometheus), ['registerMetrics'])
assert.equal(typeof HmacStrategy, 'function')

const secret = Buffer.alloc(32, 9)
const clock = new ManualClock(Math.floor(Date.now() / 1000))
const guard = new Guard({ keys: [{ id: 'k1', secret, subject: 'esm' }], clock })
const head = { method: 'GET', url: '/esm', headers: { host: 'example.com' } }
const headers = { ...head.headers, ...new Signer({ id: 'k1', secret }).sign(head) }
assert.equal(guard.verify({ ...head, headers }).subject, 'esm')
clock.advance(3600)
assert.throws(() => guard.verify({ ...head, headers }), (e) => e instanceof HmacGuardError && e.status === 401)
console.log(`import ok: ${named(main).length} named exports from hmac-guard, ${named(feathers).length} from hmac-guard/feathers`)

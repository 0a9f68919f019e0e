// ESM consumers: every CommonJS export must also be a named ESM export (Node finds them by static
// analysis of index.js / feathers.js, see the comment in index.js), and the values are the same.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'

import * as main from '../index.js'
import * as feathers from '../feathers.js'
import { Guard, Signer, ManualClock, HmacGuardError, coreVersion } from '../index.js'
import { HmacStrategy } from '../feathers.js'

const require = createRequire(import.meta.url)

test('every require() export of index.js is a named ESM export', () => {
  const cjs = require('../index.js')
  const named = Object.keys(main).filter((k) => k !== 'default').sort()
  assert.deepEqual(named, Object.keys(cjs).sort())
  for (const k of named) assert.equal(main[k], cjs[k], k)
})

test('every require() export of feathers.js is a named ESM export, HmacStrategy included', () => {
  const cjs = require('../feathers.js')
  const named = Object.keys(feathers).filter((k) => k !== 'default').sort()
  assert.deepEqual(named, Object.keys(cjs).sort())
  assert.equal(typeof HmacStrategy, 'function')
  assert.equal(HmacStrategy, cjs.HmacStrategy)
})

test('named imports sign and verify', () => {
  const secret = Buffer.alloc(32, 7)
  const clock = new ManualClock(Math.floor(Date.now() / 1000))
  const guard = new Guard({ keys: [{ id: 'k1', secret, subject: 'esm' }], clock })
  const head = { method: 'GET', url: '/esm', headers: { host: 'example.com' } }
  const headers = { ...head.headers, ...new Signer({ id: 'k1', secret }).sign(head) }
  assert.equal(guard.verify({ ...head, headers }).subject, 'esm')
  assert.throws(() => guard.verify({ ...head, headers }), (e) => e instanceof HmacGuardError && e.code === 'ERR_REPLAY')
  assert.match(coreVersion(), /^\d+\.\d+\.\d+/)
})

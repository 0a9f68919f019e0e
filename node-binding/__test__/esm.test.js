'use strict'

// ESM consumers: every CommonJS export must also be a named ESM export. Node finds them by static
// analysis of index.js / feathers.js / prometheus.js (see the comment in index.js); `import()` goes through the
// same analysis as `import { Signer } from 'hmac-guard'`.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { pathToFileURL } = require('node:url')

const load = (file) => import(pathToFileURL(path.join(__dirname, '..', file)).href)
const named = (ns) => Object.keys(ns).filter((k) => k !== 'default').sort()

test('every require() export of index.js is a named ESM export', async () => {
  const esm = await load('index.js')
  const cjs = require('../index.js')
  assert.deepEqual(named(esm), Object.keys(cjs).sort())
  for (const k of named(esm)) assert.equal(esm[k], cjs[k], k)
})

test('every require() export of feathers.js is a named ESM export, HmacStrategy included', async () => {
  const esm = await load('feathers.js')
  const cjs = require('../feathers.js')
  assert.deepEqual(named(esm), Object.keys(cjs).sort())
  assert.equal(typeof esm.HmacStrategy, 'function')
  assert.equal(esm.HmacStrategy, cjs.HmacStrategy)
})

test('every require() export of prometheus.js is a named ESM export', async () => {
  const esm = await load('prometheus.js')
  assert.deepEqual(named(esm), Object.keys(require('../prometheus.js')).sort())
  assert.equal(typeof esm.registerMetrics, 'function')
})

test('named ESM imports sign and verify', async () => {
  const { Guard, Signer, ManualClock, HmacGuardError, coreVersion } = await load('index.js')
  const secret = Buffer.alloc(32, 7)
  const clock = new ManualClock(Math.floor(Date.now() / 1000))
  const guard = new Guard({ keys: [{ id: 'k1', secret, subject: 'esm' }], clock })
  const head = { method: 'GET', url: '/esm', headers: { host: 'example.com' } }
  const headers = { ...head.headers, ...new Signer({ id: 'k1', secret }).sign(head) }
  assert.equal(guard.verify({ ...head, headers }).subject, 'esm')
  assert.throws(() => guard.verify({ ...head, headers }), (e) => e instanceof HmacGuardError && e.code === 'ERR_REPLAY')
  assert.match(coreVersion(), /^\d+\.\d+\.\d+/)
})

'use strict'

// Prometheus: an Express `/metrics` route serving prom-client's registry with registerMetrics()
// for two guards, scraped over HTTP from 127.0.0.1, and guard.metrics() text, both read back with
// a third-party parser (parse-prometheus-text-format) and matched against guard.stats().

const test = require('node:test')
const assert = require('node:assert/strict')
const http = require('node:http')
const express = require('express')
const client = require('prom-client')
const parse = require('parse-prometheus-text-format')
const { registerMetrics } = require('../prometheus.js')
const { Guard, expressMiddleware, newGuard, unknownSigner, listen, close, send, signed } = require('./helpers.js')

/** The samples of family `name` whose labels include `where`. */
function samples(families, name, where = {}) {
  const fam = families.find((f) => f.name === name)
  assert.ok(fam, `family ${name} is exposed`)
  return fam.metrics.filter((m) => Object.entries(where).every(([k, v]) => (m.labels ?? {})[k] === v))
}

function one(families, name, where) {
  const found = samples(families, name, where)
  assert.equal(found.length, 1, `one ${name} sample with ${JSON.stringify(where)}`)
  return Number(found[0].value)
}

/**
 * Every number of `stats` as the parsed exposition shows it, for the samples labelled `own`. The
 * parser reads a histogram only without labels (it merges labelled ones into one): histograms are
 * checked where `own` is empty.
 */
function matches(families, stats, own) {
  assert.equal(one(families, 'hmac_guard_info', { ...own, scheme: stats.scheme, store: stats.store }), 1)
  for (const outcome of ['accepted', 'rejected', 'aborted']) {
    assert.equal(one(families, 'hmac_guard_verifications_total', { ...own, outcome }), stats[outcome], outcome)
  }
  const rejections = samples(families, 'hmac_guard_rejections_total', own)
  assert.deepEqual(Object.fromEntries(rejections.map((m) => [m.labels.code, Number(m.value)])), stats.rejections)
  for (const m of rejections) assert.match(m.labels.status, /^[45]\d\d$/)
  for (const [keyId, counts] of Object.entries(stats.byKey)) {
    for (const outcome of ['accepted', 'rejected']) {
      assert.equal(one(families, 'hmac_guard_key_verifications_total', { ...own, key_id: keyId, outcome }), counts[outcome])
    }
  }
  if (Object.keys(own).length === 0) {
    const [hist] = samples(families, 'hmac_guard_verification_duration_seconds')
    assert.equal(Number(hist.count), stats.duration.count)
    assert.ok(Math.abs(Number(hist.sum) - stats.duration.sumSeconds) < 1e-9)
    assert.equal(Number(hist.buckets['+Inf']), stats.duration.count)
    for (const [le, n] of stats.duration.buckets) assert.equal(Number(hist.buckets[String(le)]), n, `bucket ${le}`)
  }
  assert.equal(one(families, 'hmac_guard_replay_store_up', own), stats.replayStore.state === 'ok' ? 1 : 0)
  assert.equal(one(families, 'hmac_guard_replay_store_errors_total', own), stats.replayStore.failures)
  assert.equal(one(families, 'hmac_guard_replay_store_fail_open_total', own), stats.replayStore.failOpenUses)
  assert.equal(one(families, 'hmac_guard_replay_store_state_changes_total', own), stats.replayStore.stateChanges)
  assert.equal(one(families, 'hmac_guard_keys', own), stats.keys)
}

test('prom-client: /metrics over HTTP for two guards matches their stats', { timeout: 30000 }, async (t) => {
  const api = newGuard({ logger: false })
  const hooks = newGuard({ logger: false, scheme: 'simple' })
  const registry = new client.Registry()
  const names = registerMetrics({ api, hooks }, { registry })
  assert.deepEqual(names, api.metricFamilies().map((f) => f.name))
  assert.throws(() => registerMetrics({ api }, { registry }), /already been registered/)
  // One guard alone: no `guard` label.
  const single = new client.Registry()
  registerMetrics(api, { registry: single })

  const app = express()
  app.post('/api', expressMiddleware(api), (_req, res) => res.json({}))
  app.post('/hooks', expressMiddleware(hooks), (_req, res) => res.json({}))
  for (const [path, r] of [['/metrics', registry], ['/metrics/api', single]]) {
    app.get(path, async (_req, res) => {
      res.set('Content-Type', r.contentType)
      res.end(await r.metrics())
    })
  }
  const server = http.createServer(app)
  const base = await listen(server)
  t.after(() => close(server))

  const once = signed(base, { path: '/api', body: { a: 1 } })
  const statuses = [
    await send(base, once),
    await send(base, signed(base, { path: '/api', body: { a: 2 } })),
    await send(base, once),
    await send(base, { method: 'POST', path: '/api', headers: { 'content-type': 'application/json' }, body: '{}' }),
    await send(base, signed(base, { path: '/hooks', body: { h: 1 }, scheme: 'simple' })),
    await send(base, signed(base, { path: '/hooks', body: { h: 2 }, scheme: 'simple', by: unknownSigner })),
  ].map((r) => r.status)
  assert.deepEqual(statuses, [200, 200, 401, 401, 200, 401])

  const scrape = await send(base, { path: '/metrics' })
  assert.equal(scrape.status, 200)
  assert.match(scrape.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  const families = parse(scrape.body)
  for (const name of names) assert.ok(families.some((f) => f.name === name), `${name} scraped`)
  assert.equal(families.find((f) => f.name === 'hmac_guard_verification_duration_seconds').type, 'HISTOGRAM')
  const apiStats = api.stats()
  const hooksStats = hooks.stats()
  assert.deepEqual([apiStats.accepted, apiStats.rejected, hooksStats.accepted, hooksStats.rejected], [2, 2, 1, 1])
  matches(families, apiStats, { guard: 'api' })
  matches(families, hooksStats, { guard: 'hooks' })
  matches(parse((await send(base, { path: '/metrics/api' })).body), apiStats, {})
})

test('guard.metrics(labels): the text format, parsed, matches stats; label names are checked', () => {
  const guard = newGuard({ logger: false })
  const r = signed('http://h', { body: {} })
  const req = { method: r.method, url: r.path, headers: r.headers, body: r.body }
  guard.verify(req)
  assert.throws(() => guard.verify(req), { code: 'ERR_REPLAY' })
  const families = parse(guard.metrics({ guard: 'api', region: 'eu "west"\n' }))
  matches(families, guard.stats(), { guard: 'api', region: 'eu "west"\n' })
  matches(parse(guard.metrics()), guard.stats(), {})
  for (const bad of [{ le: '1' }, { code: 'x' }, { '1x': 'y' }, { __name: 'z' }]) {
    assert.throws(() => guard.metrics(bad), { code: 'ERR_INVALID_CONFIG' }, JSON.stringify(bad))
  }
  assert.throws(() => guard.metrics({ guard: 1 }), TypeError)
  assert.throws(() => guard.metrics('guard=api'), TypeError)
})

test('registerMetrics refuses what is not a Guard or a registry', () => {
  const registry = new client.Registry()
  assert.throws(() => registerMetrics({}, { registry }), TypeError)
  assert.throws(() => registerMetrics({ api: {} }, { registry }), TypeError)
  assert.throws(() => registerMetrics(new Guard({ logger: false }), {}), TypeError)
})

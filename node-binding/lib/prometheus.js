'use strict'

// prom-client integration: one collector per metric family, filled from the guards' own families
// at scrape time. The core names, types and documents every metric; nothing is computed here.

const { Guard } = require('./core.js')

/**
 * Registers the metrics of `guards` (a Guard, or `{name: Guard}`: each sample then carries the
 * label `guard="name"`) with a prom-client `registry`. Returns the registered metric names.
 */
function registerMetrics(guards, { registry } = {}) {
  if (!registry || typeof registry.registerMetric !== 'function') {
    throw new TypeError('registerMetrics(guards, { registry }): registry must be a prom-client Registry')
  }
  const sources = guards instanceof Guard ? [[null, guards]] : Object.entries(guards ?? {})
  if (sources.length === 0 || !sources.every(([, g]) => g instanceof Guard)) {
    throw new TypeError('registerMetrics(guards, { registry }): guards must be a Guard or an object of Guards')
  }
  const scrape = snapshots(sources)
  const families = sources[0][1].metricFamilies()
  for (const { name, type, help } of families) registry.registerMetric(collector(name, type, help, scrape))
  return families.map((f) => f.name)
}

/**
 * The guards' families, read once per scrape: a registry calls every collector's `get()` in one
 * synchronous pass, so the snapshot is dropped at the next microtask and all families agree.
 */
function snapshots(sources) {
  let cached = null
  return () => {
    if (cached === null) {
      cached = new Map()
      for (const [label, guard] of sources) {
        for (const fam of guard.metricFamilies()) {
          const samples = cached.get(fam.name) ?? []
          for (const s of fam.samples) samples.push(label === null ? s : { ...s, labels: { guard: label, ...s.labels } })
          cached.set(fam.name, samples)
        }
      }
      queueMicrotask(() => {
        cached = null
      })
    }
    return cached
  }
}

function collector(name, type, help, scrape) {
  return {
    name,
    help,
    type,
    aggregator: 'sum',
    get() {
      // `this.name`: an OpenMetrics registry renames counters (drops `_total`) before reading them.
      const values = (scrape().get(name) ?? []).map((s) => ({
        value: s.value,
        labels: s.labels,
        // Only histogram series (`_bucket`, `_sum`, `_count`) are named apart from their family.
        ...(s.name !== name && { metricName: s.name }),
      }))
      return { name: this.name, help, type, aggregator: 'sum', values }
    },
    reset() {},
  }
}

module.exports = { registerMetrics }

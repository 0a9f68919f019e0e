// Type definitions for hmac-guard/prometheus (prom-client integration).

import type { Guard } from './index'

/** What `registerMetrics` needs of a prom-client `Registry` (`register`, or `new Registry()`). */
export interface MetricRegistry {
  registerMetric(metric: any): void
}

/**
 * Registers every hmac-guard metric family with a prom-client registry, read from the guards at
 * each scrape. `guards`: one Guard, or `{name: Guard}` (each sample then carries `guard="name"`).
 * Returns the metric names registered. Throws if they are registered already.
 */
export declare function registerMetrics(guards: Guard | Record<string, Guard>, options: { registry: MetricRegistry }): string[]

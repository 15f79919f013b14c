import { collectDefaultMetrics, Registry } from 'prom-client'
import { RequestDurations } from './request-durations'

export interface Metrics {
  registry: Registry
  httpRequestDuration: RequestDurations
}

/**
 * Buckets start at 0.5 ms because the ledger's latency target (p99 < 10 ms) has to be readable from them;
 * coarser default buckets would put every request in the first one.
 */
export const httpDurationBuckets = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]

export function createMetrics(): Metrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const httpRequestDuration = new RequestDurations(
    'http_request_duration_seconds',
    'Time from receiving a request to having its response ready, by method, route template and status.',
    httpDurationBuckets,
    registry,
  )
  return { registry, httpRequestDuration }
}

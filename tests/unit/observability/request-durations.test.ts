import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { Histogram, Registry } from 'prom-client'
import { httpDurationBuckets } from '../../../src/observability/metrics'
import { RequestDurations } from '../../../src/observability/request-durations'

/** prom-client's types tie a registry's content type to its construction; the renders are the same. */
function openMetricsRegistry(): Registry {
  const registry = new Registry()
  ;(registry as unknown as { setContentType(type: string): void }).setContentType(
    Registry.OPENMETRICS_CONTENT_TYPE,
  )
  return registry
}

const name = 'http_request_duration_seconds'
const help = 'Request durations.'

describe('RequestDurations', () => {
  test("in OpenMetrics, each bucket's exemplar is what prom-client's Histogram shows: the latest trace in it", async () => {
    const observation = fc.record({
      route: fc.constantFrom('/v1/accounts/:id', 'unmatched'),
      seconds: fc.oneof(
        fc.constantFrom(0, ...httpDurationBuckets, 11),
        fc.double({ min: 0, max: 12, noNaN: true }),
      ),
      traceId: fc.stringMatching(/^[0-9a-f]{32}$/),
    })
    // Exemplar timestamps are the wall clock at each observation: equal up to the time itself.
    const timeless = (text: string) => text.replace(/(# \{[^}]*\} \S+) \d+(\.\d+)?$/gm, '$1 <time>')
    await fc.assert(
      fc.asyncProperty(fc.array(observation, { maxLength: 40 }), async (observations) => {
        const ours = openMetricsRegistry()
        const theirs = openMetricsRegistry()
        const durations = new RequestDurations(name, help, httpDurationBuckets, ours)
        const histogram = new Histogram({
          name,
          help,
          labelNames: ['method', 'route', 'status'] as const,
          buckets: httpDurationBuckets,
          registers: [theirs],
          enableExemplars: true,
        })
        for (const { route, seconds, traceId } of observations) {
          durations.series('GET', route, 200).observe(seconds, traceId)
          histogram.observe({
            labels: { method: 'GET', route, status: '200' },
            value: seconds,
            // prom-client types exemplar labels as the metric's own label names; any name works.
            exemplarLabels: { trace_id: traceId } as Record<string, string>,
          })
        }
        expect(timeless(await ours.metrics())).toBe(timeless(await theirs.metrics()))
      }),
      { numRuns: 200 },
    )
  })

  test("renders exactly what prom-client's own Histogram renders for the same observations", async () => {
    const observation = fc.record({
      method: fc.constantFrom('GET', 'POST', 'DELETE'),
      route: fc.constantFrom('/v1/accounts/:id', 'unmatched', '/a"b\\c'),
      status: fc.constantFrom(200, 201, 404, 500),
      seconds: fc.oneof(
        fc.constantFrom(0, ...httpDurationBuckets, 11),
        fc.double({ min: 0, max: 12, noNaN: true }),
      ),
    })
    await fc.assert(
      fc.asyncProperty(fc.array(observation, { maxLength: 40 }), async (observations) => {
        const ours = new Registry()
        const theirs = new Registry()
        const durations = new RequestDurations(name, help, httpDurationBuckets, ours)
        const histogram = new Histogram({
          name,
          help,
          labelNames: ['method', 'route', 'status'] as const,
          buckets: httpDurationBuckets,
          registers: [theirs],
        })
        for (const { method, route, status, seconds } of observations) {
          durations.series(method, route, status).observe(seconds)
          histogram.observe({ method, route, status: String(status) }, seconds)
        }
        expect(await ours.metrics()).toBe(await theirs.metrics())
      }),
      { numRuns: 300 },
    )
  })

  test('a series found again is the same series', () => {
    const durations = new RequestDurations(name, help, httpDurationBuckets, new Registry())
    expect(durations.series('GET', '/x', 200)).toBe(durations.series('GET', '/x', 200))
    expect(durations.series('GET', '/x', 200)).not.toBe(durations.series('GET', '/x', 404))
  })
})

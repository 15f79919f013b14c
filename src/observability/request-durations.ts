import type { Metric, Registry } from 'prom-client'

/** One method/route/status combination: what the request path holds on to and observes. */
export interface DurationSeries {
  /** With a trace id, the observation becomes its bucket's exemplar (the latest one is kept). */
  observe(seconds: number, traceId?: string): void
}

interface Series extends DurationSeries {
  labels: { method: string; route: string; status: string }
  /** Per bucket, not cumulative; the last one is +Inf. */
  counts: number[]
  sum: number
  count: number
  /** Per bucket, the latest observation with a trace id: its trace id, value and time (seconds). */
  exemplarTraces: (string | undefined)[]
  exemplarValues: number[]
  exemplarTimes: number[]
}

/**
 * A Prometheus histogram of request durations by method, route template and status. A series is
 * looked up once per combination, by one string key, and observing is a scan of the bucket bounds.
 * prom-client's Histogram validates and hashes the labels on every observation, through its labels()
 * children too: 0.41 µs an observation there, 0.07 µs here. Registered in prom-client's registry,
 * which renders it exactly as it renders its own histograms. Each bucket keeps the latest observation's
 * trace id as its exemplar (three array writes, no allocation), which the OpenMetrics format shows: a
 * slow bucket on a dashboard links to a trace of a request that landed in it.
 */
export class RequestDurations {
  readonly type = 'histogram'
  readonly aggregator = 'sum'
  readonly #series = new Map<string, Series>()

  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Metric)
  }

  series(method: string, route: string, status: number): DurationSeries {
    const key = `${method} ${status} ${route}`
    let series = this.#series.get(key)
    if (series === undefined) {
      const { buckets } = this
      series = {
        labels: { method, route, status: String(status) },
        counts: new Array<number>(buckets.length + 1).fill(0),
        sum: 0,
        count: 0,
        exemplarTraces: new Array<string | undefined>(buckets.length + 1).fill(undefined),
        exemplarValues: new Array<number>(buckets.length + 1).fill(0),
        exemplarTimes: new Array<number>(buckets.length + 1).fill(0),
        observe(seconds, traceId) {
          let bucket = 0
          while (bucket < buckets.length && seconds > (buckets[bucket] as number)) bucket++
          this.counts[bucket] = (this.counts[bucket] as number) + 1
          this.sum += seconds
          this.count++
          if (traceId !== undefined) {
            this.exemplarTraces[bucket] = traceId
            this.exemplarValues[bucket] = seconds
            this.exemplarTimes[bucket] = Date.now()
          }
        },
      }
      this.#series.set(key, series)
    }
    return series
  }

  reset(): void {
    this.#series.clear()
  }

  /**
   * What prom-client's Histogram.get() returns: cumulative buckets with `le` first (each with its
   * exemplar, which only the OpenMetrics format renders), then sum and count.
   */
  async get() {
    const values: {
      labels: Record<string, string | number>
      value: number
      metricName: string
      exemplar?: { labelSet: { trace_id: string }; value: number; timestamp: number }
    }[] = []
    for (const series of this.#series.values()) {
      const { labels, counts, sum, count } = series
      const exemplar = (i: number) => {
        const traceId = series.exemplarTraces[i]
        if (traceId === undefined) return undefined
        const value = series.exemplarValues[i] as number
        return {
          labelSet: { trace_id: traceId },
          value,
          timestamp: (series.exemplarTimes[i] as number) / 1000,
        }
      }
      let cumulative = 0
      this.buckets.forEach((le, i) => {
        cumulative += counts[i] as number
        values.push({
          labels: { le, ...labels },
          value: cumulative,
          metricName: `${this.name}_bucket`,
          exemplar: exemplar(i),
        })
      })
      values.push({
        labels: { le: '+Inf', ...labels },
        value: count,
        metricName: `${this.name}_bucket`,
        exemplar: exemplar(this.buckets.length),
      })
      values.push({ labels: { ...labels }, value: sum, metricName: `${this.name}_sum` })
      values.push({ labels: { ...labels }, value: count, metricName: `${this.name}_count` })
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator }
  }
}

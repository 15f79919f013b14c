import { Registry } from 'prom-client'

export interface Exposition {
  body: string
  contentType: string
}

/** The weight (q) of each media type in an Accept header; 1 when unstated. */
function weights(accept: string): Map<string, number> {
  const weighted = new Map<string, number>()
  for (const range of accept.split(',')) {
    const [type = '', ...params] = range.split(';').map((part) => part.trim().toLowerCase())
    const q = params.find((param) => param.startsWith('q='))
    const weight = q === undefined ? 1 : Number(q.slice(2))
    if (type && Number.isFinite(weight)) weighted.set(type, Math.max(weighted.get(type) ?? 0, weight))
  }
  return weighted
}

/**
 * Whether a scraper asked for OpenMetrics (what Prometheus sends first, and needs for exemplars):
 * `application/openmetrics-text` weighed at least as high as `text/plain`.
 */
export function wantsOpenMetrics(accept: string | null): boolean {
  if (accept === null) return false
  const weighted = weights(accept)
  const openMetrics = weighted.get('application/openmetrics-text') ?? 0
  return openMetrics > 0 && openMetrics >= (weighted.get('text/plain') ?? 0)
}

/**
 * Renders the registry as OpenMetrics 1.0 (with exemplars) or as the classic text format 0.0.4. A
 * prom-client 15 registry renders in one content type, and rendering OpenMetrics renames its counters
 * (`x_total` becomes `x`, the `_total` then added per sample): renders take turns, and the counters get
 * their names back after each, so the next classic scrape still reads `x_total`.
 */
export function createExposition(
  registry: Registry<typeof Registry.PROMETHEUS_CONTENT_TYPE | typeof Registry.OPENMETRICS_CONTENT_TYPE>,
): (accept: string | null) => Promise<Exposition> {
  let turn: Promise<unknown> = Promise.resolve()
  return (accept) => {
    const openMetrics = wantsOpenMetrics(accept)
    const contentType = openMetrics ? Registry.OPENMETRICS_CONTENT_TYPE : Registry.PROMETHEUS_CONTENT_TYPE
    const rendered = turn.then(async () => {
      const metrics = registry.getMetricsAsArray() as unknown as { name: string }[]
      const names = metrics.map((metric) => metric.name)
      registry.setContentType(contentType)
      try {
        return { body: await registry.metrics(), contentType }
      } finally {
        metrics.forEach((metric, i) => {
          metric.name = names[i] as string
        })
        registry.setContentType(Registry.PROMETHEUS_CONTENT_TYPE)
      }
    })
    turn = rendered.catch(() => undefined)
    return rendered
  }
}

import type { ReadinessProbe } from '../health/readiness'
import { HttpProblem, problemResponse } from '../http/problem'
import { createExposition } from '../observability/exposition'
import type { Metrics } from '../observability/metrics'

const json = (status: number, body: unknown) =>
  Response.json(body, { status, headers: { 'cache-control': 'no-store' } })

/**
 * The admin listener: probes and metrics on their own port, so an ingress that routes the API port can
 * never expose them. Plain Bun handlers: three fixed paths need no router. `ledgerd_ready` asks the same
 * readiness check /readyz answers from.
 */
export function createAdminHandler({ readiness, metrics }: { readiness: ReadinessProbe; metrics: Metrics }) {
  const expose = createExposition(metrics.registry)
  metrics.setReadiness(async () => (await readiness.check()).ready)
  return async (request: Request): Promise<Response> => {
    const { pathname } = new URL(request.url)
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return new Response(null, { status: 405, headers: { allow: 'GET, HEAD' } })
    }
    switch (pathname) {
      case '/healthz':
        return json(200, { status: 'ok' })
      case '/readyz': {
        const result = await readiness.check()
        return result.ready
          ? json(200, { status: 'ready' })
          : json(503, { status: 'not ready', reason: result.reason })
      }
      case '/metrics': {
        // OpenMetrics (with the latency histogram's exemplars) when the scraper asks for it.
        const { body, contentType } = await expose(request.headers.get('accept'))
        return new Response(body, { headers: { 'content-type': contentType, vary: 'accept' } })
      }
      default:
        return problemResponse(new HttpProblem('not-found'), pathname)
    }
  }
}

import type { ReadinessProbe } from '../health/readiness'
import { HttpProblem, problemResponse } from '../http/problem'
import type { Metrics } from '../observability/metrics'

const json = (status: number, body: unknown) =>
  Response.json(body, { status, headers: { 'cache-control': 'no-store' } })

/**
 * The admin listener: probes and metrics on their own port, so an ingress that routes the API port can
 * never expose them. Plain Bun handlers: three fixed paths need no router.
 */
export function createAdminHandler({ readiness, metrics }: { readiness: ReadinessProbe; metrics: Metrics }) {
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
      case '/metrics':
        return new Response(await metrics.registry.metrics(), {
          headers: { 'content-type': metrics.registry.contentType },
        })
      default:
        return problemResponse(new HttpProblem('not-found'), pathname)
    }
  }
}

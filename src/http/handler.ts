import type { Server } from 'bun'
import type { Logger } from '../observability/logger'
import type { Metrics } from '../observability/metrics'
import { tooLarge } from './body'
import { problemResponse } from './problem'
import { beginRequest, clientAddressOf } from './request-context'

export type FetchHandler = (request: Request, server?: Server<unknown>) => Promise<Response>

export interface HandlerOptions {
  logger: Logger
  metrics: Metrics
  bodyLimitBytes: number
  forwardedForHops?: number
  /** Paths that enforce their own size limit (signed uploads carry exactly the length that was signed). */
  ownsBodyLimit?: (pathname: string) => boolean
}

// Requests that matched no route share one label, so scanners probing random paths cannot grow the
// number of time series without bound.
const unmatchedRoute = 'unmatched'

/**
 * Wraps the Elysia app: assigns the request id, refuses declared-oversized bodies before any work,
 * and records one access-log line and one latency observation per request with its final status.
 */
export function instrument(
  handle: (request: Request) => Response | Promise<Response>,
  { logger, metrics, bodyLimitBytes, forwardedForHops = 0, ownsBodyLimit = () => false }: HandlerOptions,
): FetchHandler {
  return async (request, server) => {
    const started = performance.now()
    const context = beginRequest(
      request,
      clientAddressOf(request, server?.requestIP(request)?.address, forwardedForHops),
    )
    const declaredLength = Number(request.headers.get('content-length') ?? 0)
    const url = new URL(request.url)
    let response: Response
    try {
      response =
        declaredLength > bodyLimitBytes && !ownsBodyLimit(url.pathname)
          ? problemResponse(tooLarge(bodyLimitBytes), url.pathname, context.id)
          : await handle(request)
    } catch (error) {
      // Elysia's own error handler should have answered; this is the last line of defence.
      logger.error('unhandled error outside the router', { requestId: context.id, error })
      response = new Response(null, { status: 500 })
    }
    const seconds = (performance.now() - started) / 1000
    const route = context.route ?? unmatchedRoute
    metrics.httpRequestDuration.observe(
      { method: request.method, route, status: String(response.status) },
      seconds,
    )
    logger.info('request', {
      requestId: context.id,
      method: request.method,
      path: url.pathname,
      route,
      status: response.status,
      durationMs: Math.round(seconds * 1e6) / 1e3,
      remoteAddr: context.clientAddress,
    })
    return response
  }
}

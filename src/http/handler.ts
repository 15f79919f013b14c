import type { Server } from 'bun'
import { requestLogContext } from '../observability/log-context'
import type { Logger } from '../observability/logger'
import type { Metrics } from '../observability/metrics'
import { traceparentOf } from '../observability/trace'
import { tooLarge } from './body'
import type { CorsPolicy } from './cors'
import { type HttpProblem, problemResponse } from './problem'
import { beginRequest, clientAddressOf, noteRoute, pathOf, type RequestContext } from './request-context'

export type FetchHandler = (request: Request, server?: Server<unknown>) => Promise<Response>

export interface HandlerOptions {
  logger: Logger
  metrics: Metrics
  bodyLimitBytes: number
  forwardedForHops?: number
  /** Paths that enforce their own size limit (signed uploads carry exactly the length that was signed). */
  ownsBodyLimit?: (pathname: string) => boolean
  /** --public-url: the origin a request without a Host is taken to be for (else the listener's own). */
  publicUrl?: string
  /** CORS headers for every response (preflights are answered by the app, which knows the methods). */
  cors?: CorsPolicy
  /**
   * Load shedding: the refusal for a request ledgerd already knows it cannot serve, answered before its
   * body is read or routed (a sign-up while every hashing thread and queue place is taken), with the
   * route it counts under; else nothing.
   */
  shed?: (method: string, path: string) => { route: string; problem: HttpProblem } | undefined
}

/**
 * A request that named no host (HTTP/1.0 without Host, or an empty Host: Bun then gives a URL that is
 * only the path, which nothing downstream can parse) is served as if sent to the configured public URL,
 * else to the listener's own address: what nginx does with its default server_name. HAProxy's default
 * health check is exactly such a request.
 */
export function withOrigin(
  request: Request,
  publicUrl: string,
  server: Server<unknown> | undefined,
): Request {
  if (request.url.charCodeAt(0) !== 47) return request
  const origin = publicUrl ? new URL(publicUrl).origin : (server?.url.origin ?? 'http://localhost')
  return new Request(`${origin}${request.url}`, request)
}

// Printable ASCII but the quote and the backslash: a JSON string needs no escaping for these.
const plain = /^[ !#-[\]-~]*$/

/** A JSON string literal: quoted as is when nothing in it needs escaping, which is almost always. */
const json = (text: string) => (plain.test(text) ? `"${text}"` : JSON.stringify(text))

// Requests that matched no route share one label, so scanners probing random paths cannot grow the
// number of time series without bound.
const unmatchedRoute = 'unmatched'

/**
 * Every response carries the request id, and the trace with this server's span (`traceparent`), so a
 * caller can find the request in logs and traces. Set here rather than through Elysia's `set.headers`:
 * a header there makes Elysia copy every Response a handler returns (the ledger's writes return one).
 */
function withRequestId(
  response: Response,
  context: RequestContext,
  traceparent: string,
  more?: (headers: Headers) => void,
): Response {
  const stamp = (headers: Headers) => {
    headers.set('x-request-id', context.replayOf ?? context.id)
    headers.set('traceparent', traceparent)
    if (context.variesByHost) headers.append('vary', 'Host')
    more?.(headers)
  }
  try {
    stamp(response.headers)
    return response
  } catch {
    // Immutable headers (Response.redirect, Response.error): answer with a copy.
    const copy = new Response(response.body, response)
    stamp(copy.headers)
    return copy
  }
}

/**
 * Wraps the Elysia app: assigns the request id, refuses declared-oversized bodies before any work,
 * and records one access-log line and one latency observation per request with its final status.
 */
export function instrument(
  handle: (request: Request) => Response | Promise<Response>,
  {
    logger,
    metrics,
    bodyLimitBytes,
    forwardedForHops = 0,
    ownsBodyLimit = () => false,
    publicUrl = '',
    cors,
    shed = () => undefined,
  }: HandlerOptions,
): FetchHandler {
  return async (received, server) => {
    const started = performance.now()
    const peer = server?.requestIP(received)?.address
    const request = withOrigin(received, publicUrl, server)
    const context = beginRequest(request, clientAddressOf(request, peer, forwardedForHops))
    const path = pathOf(request.url)
    const { traceId } = context.trace
    const traceparent = traceparentOf(context.trace)
    const declaredLength = request.headers.get('content-length')
    const corsHeaders = cors?.enabled ? (headers: Headers) => cors.decorate(request, headers) : undefined
    const shedding = shed(request.method, path)
    if (shedding) noteRoute(request, shedding.route)
    const refusal =
      declaredLength !== null && Number(declaredLength) > bodyLimitBytes && !ownsBodyLimit(path)
        ? tooLarge(bodyLimitBytes)
        : shedding?.problem
    let response: Response
    try {
      response = withRequestId(
        refusal
          ? problemResponse(refusal, path, context.id)
          : await requestLogContext.run(context.trace, handle, request),
        context,
        traceparent,
        corsHeaders,
      )
    } catch (error) {
      // Elysia's own error handler should have answered; this is the last line of defence.
      logger.error('unhandled error outside the router', { requestId: context.id, trace_id: traceId, error })
      response = withRequestId(new Response(null, { status: 500 }), context, traceparent, corsHeaders)
    }
    const seconds = (performance.now() - started) / 1000
    const route = context.route ?? unmatchedRoute
    metrics.httpRequestDuration.series(request.method, route, response.status).observe(seconds, traceId)
    if (logger.enabled('info')) {
      // The line info('request', {...}) would write, built as one string. The id is a UUID or passed
      // acceptableId, the trace id is hex, and Bun takes only known method names: none can need escaping.
      const remote = context.clientAddress === undefined ? '' : `,"remoteAddr":${json(context.clientAddress)}`
      const replay = context.replayOf === undefined ? '' : `,"replayOf":${json(context.replayOf)}`
      logger.json(
        'info',
        'request',
        `"requestId":"${context.id}","trace_id":"${traceId}","method":"${request.method}",` +
          `"path":${json(path)},"route":${json(route)},` +
          `"status":${response.status},"durationMs":${Math.round(seconds * 1e6) / 1e3}${remote}${replay}`,
      )
    }
    return response
  }
}

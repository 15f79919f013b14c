import { Elysia, ValidationError } from 'elysia'
import { DatabaseUnavailableError } from '../db/unavailable'
import type { Logger } from '../observability/logger'
import { parseJsonBody } from './body'
import { CorsPolicy } from './cors'
import type { AllowedMethods } from './methods'
import { HttpProblem, problemResponse } from './problem'
import { noteMatchedRoute, noteRoute, requestIdOf } from './request-context'
import { validationProblem } from './validation'

/**
 * What an Elysia onError hook is given, as far as answerError reads it. Hooks pass these fields by
 * name, never the whole context: Elysia reads each hook's source to see which parts of the context it
 * uses, and one that takes the whole context makes every route copy the headers, parse cookies and
 * the query string (+1.8 µs a GET, +3.6 µs a POST).
 */
export interface ErrorContext {
  code: unknown
  error: unknown
  request: Request
  route?: string
  path: string
}

/**
 * The answer to any error a route throws, as application/problem+json: an HttpProblem (also when
 * Elysia wrapped it, as it does what a body parser throws), a validation error naming each field, an
 * unknown route, an unparsable body, a database that cannot be reached (503 with Retry-After). Anything
 * else is logged with its stack and answered with a bare 500 that says nothing about why. Used by the
 * platform for every route after it, and by the routes mounted before it (src/avatars' signed file URLs).
 */
export function answerError(
  logger: Logger,
  { code, error, request, route, path }: ErrorContext,
  databaseFault?: (error: DatabaseUnavailableError) => void,
  allowedMethods?: AllowedMethods,
  cors?: CorsPolicy,
): Response {
  noteRoute(request, route)
  const requestId = requestIdOf(request)
  const problem = error instanceof HttpProblem ? error : (error as Error).cause
  if (problem instanceof HttpProblem) {
    // The ledger answers its own 503 for a write that cannot commit; the fault is still counted.
    if (problem.cause instanceof DatabaseUnavailableError) databaseFault?.(problem.cause)
    return problemResponse(problem, path, requestId)
  }
  const unavailable = error instanceof DatabaseUnavailableError ? error : (error as Error).cause
  if (unavailable instanceof DatabaseUnavailableError) {
    databaseFault?.(unavailable)
    // The client sees a bare 503; on-call needs to know which database call failed and why.
    logger.warn('database unavailable', {
      requestId,
      method: request.method,
      path,
      reason: unavailable.reason,
    })
    return problemResponse(
      new HttpProblem(
        'service-unavailable',
        'The database cannot be reached right now; retry shortly.',
        {},
        { 'retry-after': String(unavailable.retryAfterSeconds) },
      ),
      path,
      requestId,
    )
  }
  if (error instanceof ValidationError && error.type !== 'response') {
    return problemResponse(validationProblem(error), path, requestId)
  }
  if (code === 'NOT_FOUND') {
    // A known path with another method: Elysia says NOT_FOUND, HTTP says 405 with Allow, or for OPTIONS
    // a 204 with Allow.
    const known = allowedMethods?.allowFor(path)
    if (known !== undefined) {
      noteRoute(request, known.route)
      if (request.method === 'OPTIONS') {
        const preflight =
          cors && CorsPolicy.isPreflight(request) ? cors.preflightHeaders(request, known.allow) : {}
        return new Response(null, { status: 204, headers: { allow: known.allow, ...preflight } })
      }
      return problemResponse(
        new HttpProblem(
          'method-not-allowed',
          `${path} answers ${known.allow}, not ${request.method}.`,
          {},
          { allow: known.allow },
        ),
        path,
        requestId,
      )
    }
    return problemResponse(
      new HttpProblem('not-found', `Nothing is at ${request.method} ${path}.`),
      path,
      requestId,
    )
  }
  if (code === 'PARSE') return problemResponse(new HttpProblem('malformed-body'), path, requestId)
  logger.error('unhandled error', { requestId, method: request.method, path, error })
  return problemResponse(new HttpProblem('internal-error'), path, requestId)
}

/**
 * The cross-cutting behaviour every route gets: the matched route noted for the access log and metrics,
 * JSON-only bodies within the size limit, and one error handler (answerError). The request id header
 * is set by the request handler, src/http/handler.ts.
 */
export function platform({
  logger,
  bodyLimitBytes,
  databaseFault,
  allowedMethods,
  cors,
}: {
  logger: Logger
  bodyLimitBytes: number
  databaseFault?: (error: DatabaseUnavailableError) => void
  /** The app's routes, for 405 and OPTIONS; filled in once every route is mounted. */
  allowedMethods?: AllowedMethods
  /** Answers CORS preflights on known paths; the request handler adds Access-Control-Allow-Origin. */
  cors?: CorsPolicy
}) {
  return new Elysia({ name: 'platform' })
    .onParse({ as: 'global' }, ({ request }) => parseJsonBody(request, bodyLimitBytes))
    .onTransform({ as: 'global' }, noteMatchedRoute)
    .onError({ as: 'global' }, ({ code, error, request, route, path }) =>
      answerError(logger, { code, error, request, route, path }, databaseFault, allowedMethods, cors),
    )
}

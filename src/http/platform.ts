import { Elysia, ValidationError } from 'elysia'
import type { Logger } from '../observability/logger'
import { parseJsonBody } from './body'
import { HttpProblem, problemResponse } from './problem'
import { noteMatchedRoute, noteRoute, requestIdOf } from './request-context'
import { validationProblem } from './validation'

/**
 * The cross-cutting behaviour every route gets: the matched route noted for the access log and metrics,
 * JSON-only bodies within the size limit, and one error handler that answers every failure as
 * application/problem+json. An unexpected error is logged with its stack and answered with a bare 500
 * that says nothing about why. (The request id header is set by the wrapper, src/http/handler.ts.)
 */
export function platform({ logger, bodyLimitBytes }: { logger: Logger; bodyLimitBytes: number }) {
  return new Elysia({ name: 'platform' })
    .onParse({ as: 'global' }, ({ request }) => parseJsonBody(request, bodyLimitBytes))
    .onTransform({ as: 'global' }, noteMatchedRoute)
    .onError({ as: 'global' }, ({ code, error, request, route, path }) => {
      noteRoute(request, route)
      const requestId = requestIdOf(request)
      // Elysia wraps whatever the body parser throws in a ParseError; the parser's own problem is inside.
      const problem = error instanceof HttpProblem ? error : (error as Error).cause
      if (problem instanceof HttpProblem) return problemResponse(problem, path, requestId)
      if (error instanceof ValidationError && error.type !== 'response') {
        return problemResponse(validationProblem(error), path, requestId)
      }
      if (code === 'NOT_FOUND') {
        return problemResponse(
          new HttpProblem('not-found', `Nothing is at ${request.method} ${path}.`),
          path,
          requestId,
        )
      }
      if (code === 'PARSE') return problemResponse(new HttpProblem('malformed-body'), path, requestId)
      logger.error('unhandled error', { requestId, method: request.method, path, error })
      return problemResponse(new HttpProblem('internal-error'), path, requestId)
    })
}

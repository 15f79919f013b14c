// Per-request facts that the outer handler (timing, access log, metrics) and the Elysia hooks and
// handlers inside (error handler, route, request id) all need. Kept on the Request object itself, which
// Bun hands to the wrapper and Elysia passes to every hook unchanged: a property read, where a WeakMap
// cost a hash look-up on every access.

import { type TraceContext, traceOf } from '../observability/trace'

export interface RequestContext {
  id: string
  /** The trace the request belongs to: the caller's (traceparent, B3) or a new one. */
  trace: TraceContext
  /** Route template ("/v1/accounts/:id"), once Elysia has matched one. */
  route: string | undefined
  /** The peer's IP address (the proxy's, behind one); undefined for in-process calls. */
  clientAddress: string | undefined
  /** Set when the answer was built from the Host header (absolute URLs without --public-url): Vary: Host. */
  variesByHost?: boolean
  /** The id of the request whose stored answer this one replays (Idempotency-Key), when it is known. */
  replayOf?: string
}

const contextKey = Symbol('ledgerd.request-context')
type WithContext = Request & { [contextKey]?: RequestContext }

// Accept the caller's id only if it is safe to echo into headers and logs.
const acceptableId = /^[A-Za-z0-9._:-]{1,128}$/

/**
 * The client's address: the peer's, or with `forwardedForHops` trusted proxies in front, the
 * X-Forwarded-For entry that many from the end. Entries further left were written by the client itself
 * and are not trusted (anyone can send the header).
 */
export function clientAddressOf(
  request: Request,
  peer: string | undefined,
  forwardedForHops: number,
): string | undefined {
  if (forwardedForHops === 0) return peer
  const entries = (request.headers.get('x-forwarded-for') ?? '').split(',').map((entry) => entry.trim())
  return entries.filter(Boolean).at(-forwardedForHops) ?? peer
}

export function beginRequest(request: Request, clientAddress?: string): RequestContext {
  const offered = request.headers.get('x-request-id')
  const context: RequestContext = {
    id: offered !== null && acceptableId.test(offered) ? offered : crypto.randomUUID(),
    trace: traceOf(request.headers),
    route: undefined,
    clientAddress,
  }
  ;(request as WithContext)[contextKey] = context
  return context
}

export function requestContext(request: Request): RequestContext | undefined {
  return (request as WithContext)[contextKey]
}

/** The request's id (echoed in X-Request-Id, logged, put in problem bodies); undefined outside the wrapper. */
export function requestIdOf(request: Request): string | undefined {
  return (request as WithContext)[contextKey]?.id
}

/** Notes that the answer depends on the request's Host header (the request handler then adds Vary: Host). */
export function noteHostDependent(request: Request): void {
  const context = (request as WithContext)[contextKey]
  if (context !== undefined) context.variesByHost = true
}

/**
 * Notes that the answer replays the one stored for request `originalId`: the response then shows that
 * id in X-Request-Id, as its body does; the access log keeps this request's own id, with replayOf.
 */
export function noteReplayOf(request: Request, originalId: string): void {
  const context = (request as WithContext)[contextKey]
  if (context !== undefined) context.replayOf = originalId
}

export function noteRoute(request: Request, route: string | undefined): void {
  const context = (request as WithContext)[contextKey]
  if (context !== undefined && route) context.route = route
}

/**
 * The onTransform hook that records the matched route. Written as a `function` with no `return` on
 * purpose: Elysia reads a hook's source to decide whether to await it (`=>` or `return` before a call,
 * or the words async/await, mean "maybe async"), and awaiting costs every request a turn of the
 * microtask queue.
 */
export function noteMatchedRoute(context: { request: Request; route: string }): void {
  noteRoute(context.request, context.route)
}

/**
 * The path of a request URL without parsing it: what `new URL(url).pathname` gives for the absolute,
 * already-normalised URLs Bun and the Request constructor produce. The search starts after "http://" or
 * "https:/", so a one-letter host is fine (Elysia itself starts at index 11, which a host of three
 * characters or fewer defeats).
 */
export function pathOf(url: string): string {
  const start = url.indexOf('/', 8)
  if (start === -1) return '/'
  let end = url.indexOf('?', start)
  const fragment = url.indexOf('#', start)
  if (fragment !== -1 && (end === -1 || fragment < end)) end = fragment
  return end === -1 ? url.slice(start) : url.slice(start, end)
}

// Per-request facts that the outer handler (timing, access log, metrics) and the Elysia hooks inside
// (error handler, route) both need. Keyed by the Request object, which Elysia passes through unchanged.

export interface RequestContext {
  id: string
  /** Route template ("/v1/accounts/:id"), once Elysia has matched one. */
  route?: string
  /** The peer's IP address (the proxy's, behind one); undefined for in-process calls. */
  clientAddress?: string
}

const contexts = new WeakMap<Request, RequestContext>()

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
  const context = { id: offered && acceptableId.test(offered) ? offered : crypto.randomUUID(), clientAddress }
  contexts.set(request, context)
  return context
}

export function requestContext(request: Request): RequestContext | undefined {
  return contexts.get(request)
}

export function noteRoute(request: Request, route: string | undefined): void {
  const context = contexts.get(request)
  if (context && route) context.route = route
}

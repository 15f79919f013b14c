// CORS (Fetch standard, "CORS protocol"): off unless --cors-origins lists the origins whose pages may
// call the API. Tokens travel in the Authorization header, never in cookies, so credentials mode is not
// offered at all: Access-Control-Allow-Credentials is never sent, with `*` or without.

/** Request headers a browser page may send: what the API reads. */
const allowedRequestHeaders = [
  'authorization',
  'content-type',
  'idempotency-key',
  'x-request-id',
  'traceparent',
]
/** Response headers a page may read besides the CORS-safelisted ones. */
const exposedHeaders = 'Location, Retry-After, X-Request-Id, traceparent'
/** How long a browser may cache a preflight's answer, in seconds. */
export const preflightMaxAgeSeconds = 600

export class CorsPolicy {
  private readonly any: boolean
  private readonly origins: Set<string>

  constructor(origins: readonly string[]) {
    this.any = origins.includes('*')
    this.origins = new Set(origins)
  }

  get enabled(): boolean {
    return this.any || this.origins.size > 0
  }

  /** The Access-Control-Allow-Origin value for a request's Origin, or undefined when it is not allowed. */
  private allowOrigin(origin: string | null): string | undefined {
    if (origin === null) return undefined
    if (this.any) return '*'
    return this.origins.has(origin) ? origin : undefined
  }

  /** True for a CORS preflight: OPTIONS with Origin and Access-Control-Request-Method. */
  static isPreflight(request: Request): boolean {
    return (
      request.method === 'OPTIONS' &&
      request.headers.has('origin') &&
      request.headers.has('access-control-request-method')
    )
  }

  /**
   * The extra headers of a preflight's 204 for a path answering `allow`: nothing unless the origin is
   * allowed, the method is one the path answers and every requested header is one the API reads.
   */
  preflightHeaders(request: Request, allow: string): Record<string, string> {
    if (this.allowOrigin(request.headers.get('origin')) === undefined) return {}
    const method = request.headers.get('access-control-request-method') ?? ''
    if (!allow.split(', ').includes(method)) return {}
    const requested = (request.headers.get('access-control-request-headers') ?? '')
      .split(',')
      .map((name) => name.trim().toLowerCase())
      .filter(Boolean)
    if (!requested.every((name) => allowedRequestHeaders.includes(name))) return {}
    return {
      'access-control-allow-methods': allow,
      'access-control-allow-headers': allowedRequestHeaders.join(', '),
      'access-control-max-age': String(preflightMaxAgeSeconds),
    }
  }

  /** Adds Access-Control-Allow-Origin (and Vary: Origin) to any response, when CORS is on. */
  decorate(request: Request, headers: Headers): void {
    if (!this.enabled) return
    // The answer depends on Origin unless every origin gets the same `*`.
    if (!this.any) headers.append('vary', 'Origin')
    const allowed = this.allowOrigin(request.headers.get('origin'))
    if (allowed === undefined) return
    headers.set('access-control-allow-origin', allowed)
    headers.set('access-control-expose-headers', exposedHeaders)
  }
}

/** Parses --cors-origins: `*`, or origins (`https://app.example.com`, no path), comma-separated. */
export function parseOrigins(raw: string, invalid: (message: string) => Error): string[] {
  const items = raw
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
  for (const item of items) {
    if (item === '*') continue
    let origin: string | undefined
    try {
      origin = new URL(item).origin
    } catch {}
    if (origin !== item || !/^https?:/.test(item))
      throw invalid(`"${item}" is not an origin like https://app.example.com (scheme, host, port; no path)`)
  }
  if (items.includes('*') && items.length > 1)
    throw invalid('"*" allows every origin: list no others with it')
  return items
}

// RFC 9457 problem details. Every error response ledgerd sends is one of these, built from the catalog
// below so that a `type` always means the same status and title.

export const problemTypes = {
  'validation-failed': { status: 422, title: 'The request body is not valid' },
  'invalid-parameter': { status: 400, title: 'A path, query or header parameter is not valid' },
  'malformed-body': { status: 400, title: 'The request body could not be parsed' },
  'unsupported-media-type': { status: 415, title: 'The request body must be application/json' },
  'payload-too-large': { status: 413, title: 'The request body is larger than the limit' },
  'upload-mismatch': { status: 400, title: 'The upload does not match the type and size that were signed' },
  unauthorized: { status: 401, title: 'A valid bearer token is required' },
  'invalid-credentials': { status: 401, title: 'The email or password is wrong' },
  forbidden: { status: 403, title: 'The token does not grant this' },
  'signup-closed': { status: 403, title: 'Sign-up is closed on this server' },
  'invalid-signature': { status: 403, title: 'The signed URL is not valid or has expired' },
  'not-found': { status: 404, title: 'No such resource' },
  'email-taken': { status: 409, title: 'A user with this email exists' },
  'insufficient-funds': { status: 409, title: 'The balance is too low for this debit' },
  'already-reversed': { status: 409, title: 'This transaction is reversed already, or is itself a reversal' },
  'balance-limit': { status: 409, title: 'The balance would pass 2^53-1 minor units' },
  'idempotency-key-in-use': { status: 409, title: 'A request with this Idempotency-Key is still running' },
  'idempotency-key-reused': { status: 422, title: 'This Idempotency-Key was used for a different request' },
  'currency-mismatch': { status: 422, title: 'The accounts hold different currencies' },
  'same-account': { status: 422, title: 'A transfer needs two different accounts' },
  'too-many-requests': { status: 429, title: 'Too many failed attempts; retry later' },
  'internal-error': { status: 500, title: 'Internal server error' },
  'service-unavailable': { status: 503, title: 'The service is temporarily unavailable' },
  'too-many-signups': { status: 429, title: 'Too many sign-ups from this client address; retry later' },
  'balance-not-zero': { status: 409, title: 'The user still holds money: empty these accounts first' },
  'method-not-allowed': { status: 405, title: 'The resource does not answer this method' },
} as const satisfies Record<string, { status: number; title: string }>

export type ProblemType = keyof typeof problemTypes

/** Relative to the API's base URL: GET /problems/{type} describes it. */
export const problemTypeUri = (type: ProblemType) => `/problems/${type}`

export interface FieldError {
  /** Dotted path of the offending field: "amount", "owner.email", "items[2].price". */
  field: string
  /** Where the field was: body, query, params, headers, or token (a claim of the bearer token). */
  in: string
  message: string
}

export interface ProblemBody {
  type: string
  title: string
  status: number
  detail?: string
  instance?: string
  requestId?: string
  errors?: FieldError[]
  [extension: string]: unknown
}

/** Throw from anywhere below a handler; the global error handler turns it into a problem response. */
export class HttpProblem extends Error {
  readonly status: number
  readonly title: string

  constructor(
    readonly type: ProblemType,
    readonly detail?: string,
    readonly extensions: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(detail ?? problemTypes[type].title)
    this.name = 'HttpProblem'
    this.status = problemTypes[type].status
    this.title = problemTypes[type].title
  }
}

function problemBody(problem: HttpProblem, instance: string, requestId: string | undefined): ProblemBody {
  return {
    type: problemTypeUri(problem.type),
    title: problem.title,
    status: problem.status,
    ...(problem.detail ? { detail: problem.detail } : {}),
    instance,
    ...(requestId ? { requestId } : {}),
    ...problem.extensions,
  }
}

/**
 * The one way ledgerd answers with an error. X-Request-Id is not set here: the request handler
 * (src/http/handler.ts) puts it on every response.
 */
export function problemResponse(problem: HttpProblem, instance: string, requestId?: string): Response {
  return new Response(JSON.stringify(problemBody(problem, instance, requestId)), {
    status: problem.status,
    headers: { 'content-type': 'application/problem+json', ...problem.headers },
  })
}

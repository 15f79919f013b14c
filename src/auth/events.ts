/**
 * Why a request or a login was refused as unauthenticated: a fixed set, so that it can label a metric
 * (`ledgerd_auth_failures_total{reason}`). The caller is told less (a wrong password and an unknown
 * email get the same 401); on-call may see the difference.
 */
export const authFailureReasons = [
  'missing_token',
  'wrong_scheme',
  'malformed_header',
  'token_expired',
  'token_not_yet_valid',
  'token_bad_signature',
  'token_unknown_key',
  'token_bad_algorithm',
  'token_bad_claim',
  'token_malformed',
  'user_gone',
  'wrong_password',
  'unknown_user',
] as const
export type AuthFailureReason = (typeof authFailureReasons)[number]

/** What authentication reports as it happens; the server counts it (src/observability/metrics.ts). */
export interface AuthEvents {
  failed(reason: AuthFailureReason): void
  /** A login refused with 429 because its email or client reached the failure limit. */
  throttled(): void
}

export const ignoreAuthEvents: AuthEvents = { failed() {}, throttled() {} }

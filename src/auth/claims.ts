import { fitToBounds, nameBounds, type TextBounds, textViolation } from '../http/text'

// An identity provider is outside our trust boundary for text: its sub, email and name become a ledgerd
// user's stored text, so they meet the rule our own API's text meets (src/http/text.ts), or both engines
// would store different things (PostgreSQL cannot hold NUL) and every screen would show what it was sent.
// The issuer is not checked here: jose has already required it to equal --oidc-issuer.

/** OpenID Connect Core §5.1: sub "MUST NOT exceed 255 ASCII characters in length". */
export const subjectBounds: TextBounds = { maxCodePoints: 255, maxBytes: 255 }
/** RFC 5321 §4.5.3.1.3: a path is 256 octets with its angle brackets, so an address is at most 254. */
export const emailBounds: TextBounds = { maxCodePoints: 254, maxBytes: 254 }

const unbounded: TextBounds = { maxCodePoints: Number.POSITIVE_INFINITY, maxBytes: Number.POSITIVE_INFINITY }

/** Why the sub claim cannot identify a user; it is the key of the mapping, so it is never altered. */
export const subjectViolation = (subject: string) => textViolation(subject, subjectBounds)

/** Why the email claim cannot be stored. Absent ('') is fine: some providers share no email. */
export const emailViolation = (email: string) =>
  email === '' ? undefined : textViolation(email, emailBounds)

/** What a user is called when every claim is unusable (a subject of 200 spaces and a letter). */
export const unnamed = 'external user'

/**
 * The user's name: the first candidate claim that keeps the text rule once cut to the name bounds, else
 * the subject (already checked) cut the same way. A bad name is not worth refusing a login over: the
 * user can rename themselves, and the provider's data quality is not their fault.
 */
export function nameFromClaims(candidates: unknown[], subject: string): string {
  for (const candidate of [...candidates, subject]) {
    if (typeof candidate !== 'string' || textViolation(candidate, unbounded)) continue
    const fitted = fitToBounds(candidate, nameBounds)
    if (textViolation(fitted, nameBounds) === undefined) return fitted
  }
  return unnamed
}

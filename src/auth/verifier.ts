import { createRemoteJWKSet, errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose'
import { emailViolation, nameFromClaims, subjectViolation } from './claims'
import type { AuthFailureReason } from './events'
import { signingAlgorithm } from './keys'

/** What ledgerd uses of a token once its signature and claims have been checked. */
export interface VerifiedToken {
  issuer: string
  subject: string
  roles: string[]
  email: string
  name: string
  /** exp, in milliseconds since the epoch. */
  expiresAt: number
}

export type TokenVerifier = (token: string) => Promise<VerifiedToken>

/**
 * The token is not acceptable; the message is safe to show the caller (RFC 6750 error_description), and
 * `kind` says which check failed, for the failure metric.
 */
export class TokenRejected extends Error {
  constructor(
    message: string,
    readonly kind: AuthFailureReason = 'token_malformed',
    /** The claim at fault, when one is: the problem names it in errors[].field. */
    readonly claim?: string,
  ) {
    super(message)
  }
}

/** The identity provider's keys could not be fetched: not the caller's fault, so not a 401. */
export class KeysUnavailable extends Error {}

interface VerifyOptions {
  keys: JWTVerifyGetKey
  issuer: string
  audience: string
  algorithms: string[]
  clockSkewMs: number
  rolesClaim: string
}

function claimAt(payload: JWTPayload, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], payload)
}

function rejectionOf(error: unknown): TokenRejected {
  if (error instanceof errors.JWTExpired) return new TokenRejected('the token has expired', 'token_expired')
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return new TokenRejected('the token is not valid yet', 'token_not_yet_valid')
    if (error.claim === 'iat')
      return new TokenRejected('the token was issued in the future', 'token_not_yet_valid')
    return new TokenRejected(`the token's ${error.claim} claim is not acceptable`, 'token_bad_claim')
  }
  if (error instanceof errors.JOSEAlgNotAllowed)
    return new TokenRejected(
      'the token is signed with an algorithm that is not accepted',
      'token_bad_algorithm',
    )
  if (error instanceof errors.JWKSNoMatchingKey)
    return new TokenRejected('the token is signed with an unknown key', 'token_unknown_key')
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return new TokenRejected('the token signature is invalid', 'token_bad_signature')
  return new TokenRejected('the token is malformed', 'token_malformed')
}

async function verify(token: string, options: VerifyOptions): Promise<VerifiedToken> {
  let payload: JWTPayload
  try {
    ;({ payload } = await jwtVerify(token, options.keys, {
      issuer: options.issuer,
      audience: options.audience,
      algorithms: options.algorithms,
      clockTolerance: options.clockSkewMs / 1000,
      requiredClaims: ['exp', 'sub'],
    }))
  } catch (error) {
    if (error instanceof KeysUnavailable) throw error
    if (error instanceof errors.JOSEError) throw rejectionOf(error)
    throw error
  }
  // jose checks that sub is present, not that it is a string; the user look-up needs one.
  if (typeof payload.sub !== 'string')
    throw new TokenRejected("the token's sub claim must be a string", 'token_bad_claim', 'sub')
  const subjectProblem = subjectViolation(payload.sub)
  if (subjectProblem)
    throw new TokenRejected(`the token's sub claim ${subjectProblem}`, 'token_bad_claim', 'sub')
  const email = typeof payload.email === 'string' ? payload.email : ''
  const emailProblem = emailViolation(email)
  if (emailProblem)
    throw new TokenRejected(`the token's email claim ${emailProblem}`, 'token_bad_claim', 'email')
  const roles = claimAt(payload, options.rolesClaim)
  return {
    issuer: payload.iss as string,
    subject: payload.sub,
    roles: Array.isArray(roles) ? roles.filter((role): role is string => typeof role === 'string') : [],
    email,
    name: nameFromClaims([payload.name, payload.preferred_username], payload.sub),
    expiresAt: (payload.exp as number) * 1000,
  }
}

export interface BuiltinVerifierOptions {
  keys: JWTVerifyGetKey
  issuer: string
  audience: string
  clockSkewMs: number
}

/** ledgerd's own tokens: EdDSA only, checked against the local keys. */
export function builtinVerifier(options: BuiltinVerifierOptions): TokenVerifier {
  const verifyOptions = { ...options, algorithms: [signingAlgorithm], rolesClaim: 'roles' }
  return (token) => verify(token, verifyOptions)
}

export interface ExternalVerifierOptions {
  jwksUrl: string
  issuer: string
  audience: string
  algorithms: string[]
  clockSkewMs: number
  rolesClaim: string
  jwksCooldownMs: number
}

/**
 * An external identity provider's tokens, checked against its JWKS. jose caches the key set and fetches
 * it again when a token names a kid it does not know (key rotation), at most once per cooldown.
 */
export function externalVerifier(options: ExternalVerifierOptions): TokenVerifier {
  const remote = createRemoteJWKSet(new URL(options.jwksUrl), {
    cooldownDuration: options.jwksCooldownMs,
    cacheMaxAge: 10 * 60_000,
    timeoutDuration: 5000,
  })
  const verifyOptions = { ...options, keys: providerFailuresAsUnavailable(remote) }
  return (token) => verify(token, verifyOptions)
}

// Errors from looking a token's key up that are about the token, not the provider.
const tokenKeyErrors = [errors.JWKSNoMatchingKey, errors.JWKSMultipleMatchingKeys, errors.JOSENotSupported]

/**
 * jose reports a failed JWKS fetch with plain errors (connection refused), JWKSTimeout, and bare
 * JOSEErrors (a non-200 answer, a body that is not JSON, JWKSInvalid for one that is not a key set).
 * Caught where the keys are fetched, all of them are the provider's fault (503), whatever their class,
 * and none of them can be mistaken for a bad token (401).
 */
function providerFailuresAsUnavailable(getKey: JWTVerifyGetKey): JWTVerifyGetKey {
  return async (header, token) => {
    try {
      return await getKey(header, token)
    } catch (error) {
      if (tokenKeyErrors.some((type) => error instanceof type)) throw error
      throw new KeysUnavailable(`fetching the JWKS failed: ${(error as Error).message}`, { cause: error })
    }
  }
}

import { HttpProblem } from '../http/problem'
import type { Logger } from '../observability/logger'
import type { UsersRepository } from '../users/repository'
import { type AuthEvents, ignoreAuthEvents } from './events'
import type { Principal } from './principal'
import { KeysUnavailable, TokenRejected, type TokenVerifier } from './verifier'

export const realm = 'ledgerd'

// RFC 6750 b64token; the scheme is case-insensitive.
const bearer = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i
const bearerScheme = /^Bearer(?: |$)/i

function unauthorized(
  detail: string,
  error?: { code: string; description: string; claim?: string },
): HttpProblem {
  const challenge = error
    ? `Bearer realm="${realm}", error="${error.code}", error_description="${error.description}"`
    : `Bearer realm="${realm}"`
  const errors = error?.claim ? [{ field: error.claim, in: 'token', message: error.description }] : undefined
  return new HttpProblem('unauthorized', detail, errors ? { errors } : {}, { 'www-authenticate': challenge })
}

export interface AuthenticatorOptions {
  verify: TokenVerifier
  users: UsersRepository
  /** builtin: the token's sub is a ledgerd user id. external: sub is the identity provider's, mapped. */
  mode: 'builtin' | 'external'
  adminRole: string
  logger: Logger
  events?: AuthEvents
}

export type Authenticator = (authorization: string | null) => Promise<Principal>

/** Turns an Authorization header into a Principal, or throws the 401 (or 503) problem to answer with. */
export function createAuthenticator({
  verify,
  users,
  mode,
  adminRole,
  logger,
  events = ignoreAuthEvents,
}: AuthenticatorOptions): Authenticator {
  return async (authorization) => {
    if (!authorization) {
      events.failed('missing_token')
      throw unauthorized('Send a bearer token: Authorization: Bearer <token>.')
    }
    // RFC 6750 §3.1: a client that used another scheme gets the bare challenge, without an error code.
    if (!bearerScheme.test(authorization)) {
      events.failed('wrong_scheme')
      throw unauthorized('Only the Bearer scheme is accepted.')
    }
    const token = bearer.exec(authorization)?.[1]
    if (!token) {
      events.failed('malformed_header')
      throw unauthorized('The Authorization header is not "Bearer <token>".', {
        code: 'invalid_request',
        description: 'malformed Authorization header',
      })
    }
    let verified: Awaited<ReturnType<TokenVerifier>>
    try {
      verified = await verify(token)
    } catch (error) {
      if (error instanceof TokenRejected) {
        events.failed(error.kind)
        throw unauthorized(`The token was rejected: ${error.message}.`, {
          code: 'invalid_token',
          description: error.message,
          claim: error.claim,
        })
      }
      if (error instanceof KeysUnavailable) {
        // The caller sees a bare 503; on-call needs to know why.
        logger.warn('identity provider keys unavailable', { error })
        throw new HttpProblem(
          'service-unavailable',
          'The identity provider keys cannot be fetched.',
          {},
          {
            'retry-after': '5',
          },
        )
      }
      throw error
    }
    // Built-in tokens name a ledgerd user: it only has to still exist. External ones name the identity
    // provider's user, mapped to (and created as) a ledgerd user.
    const userId =
      mode === 'builtin'
        ? (await users.isLive(verified.subject))
          ? verified.subject
          : undefined
        : (
            await users.findOrCreateExternal({
              issuer: verified.issuer,
              subject: verified.subject,
              email: verified.email,
              name: verified.name,
            })
          )?.id
    if (!userId) {
      events.failed('user_gone')
      throw unauthorized('The user this token was issued to no longer exists.', {
        code: 'invalid_token',
        description: 'the user no longer exists',
      })
    }
    return { userId, roles: verified.roles, isAdmin: verified.roles.includes(adminRole) }
  }
}

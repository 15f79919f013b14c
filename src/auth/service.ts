import { HttpProblem } from '../http/problem'
import type { UsersRepository } from '../users/repository'
import { emailKey } from '../users/user'
import type { IssuedToken, TokenIssuer } from './issuer'
import type { FailureThrottle } from './login-throttle'
import { verifyPassword } from './passwords'

export interface LoginDependencies {
  users: UsersRepository
  issue: TokenIssuer
  byEmail: FailureThrottle
  byClient: FailureThrottle
}

function tooManyAttempts(retryAfterMs: number): HttpProblem {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000))
  return new HttpProblem(
    'too-many-requests',
    `Retry in ${seconds} s.`,
    {},
    { 'retry-after': String(seconds) },
  )
}

/**
 * Exchanges email and password for an access token. A wrong password and an unknown email give the same
 * answer in the same time; repeated failures are throttled per email and per client address.
 */
export async function login(
  { users, issue, byEmail, byClient }: LoginDependencies,
  input: { email: string; password: string; clientAddress: string | undefined },
): Promise<IssuedToken> {
  const key = emailKey(input.email)
  const client = input.clientAddress ?? 'unknown'
  const wait = Math.max(byEmail.retryAfterMs(key), byClient.retryAfterMs(client))
  if (wait > 0) throw tooManyAttempts(wait)
  // Counted as a failure now, in the same tick as the check above, and taken back if the password is
  // right: the check below takes ~20 ms, and attempts counted only after it would all pass the limit
  // when sent concurrently (30 parallel guesses against a limit of 3 were all checked).
  byEmail.recordFailure(key)
  byClient.recordFailure(client)

  const found = await users.findCredentials(key)
  const valid = await verifyPassword(input.password, found?.passwordHash ?? null)
  if (!found || !valid) {
    throw new HttpProblem(
      'invalid-credentials',
      undefined,
      {},
      { 'www-authenticate': 'Bearer realm="ledgerd"' },
    )
  }
  byEmail.reset(key)
  byClient.forgive(client)
  return issue(found.user.id, found.user.role === 'admin' ? ['user', 'admin'] : ['user'])
}

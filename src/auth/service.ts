import { HttpProblem } from '../http/problem'
import type { UsersRepository } from '../users/repository'
import { emailKey } from '../users/user'
import { type AuthEvents, ignoreAuthEvents } from './events'
import type { IssuedToken, TokenIssuer } from './issuer'
import type { LoginThrottle } from './login-throttle'
import { verifyPassword } from './passwords'

export interface LoginDependencies {
  users: UsersRepository
  issue: TokenIssuer
  byEmail: LoginThrottle
  byClient: LoginThrottle
  events?: AuthEvents
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
  { users, issue, byEmail, byClient, events = ignoreAuthEvents }: LoginDependencies,
  input: { email: string; password: string; clientAddress: string | undefined },
): Promise<IssuedToken> {
  const key = emailKey(input.email)
  const client = input.clientAddress ?? 'unknown'
  // Counted as a failure before the password is checked, and taken back if it is right: the check takes
  // ~20 ms, and attempts counted only after it would all pass the limit when sent concurrently (30
  // parallel guesses against a limit of 3 were all checked). attempt() checks and counts in one step.
  // A throttle that cannot answer rejects, and so does the login: never a guess let through unthrottled.
  const emailWait = await byEmail.attempt(key)
  if (emailWait > 0) {
    events.throttled()
    throw tooManyAttempts(Math.max(emailWait, await byClient.retryAfterMs(client)))
  }
  const clientWait = await byClient.attempt(client)
  if (clientWait > 0) {
    await byEmail.forgive(key)
    events.throttled()
    throw tooManyAttempts(clientWait)
  }

  const found = await users.findCredentials(key)
  const valid = await verifyPassword(input.password, found?.passwordHash ?? null)
  if (!found || !valid) {
    events.failed(found ? 'wrong_password' : 'unknown_user')
    throw new HttpProblem(
      'invalid-credentials',
      undefined,
      {},
      { 'www-authenticate': 'Bearer realm="ledgerd"' },
    )
  }
  await Promise.all([byEmail.reset(key), byClient.forgive(client)])
  return issue(found.user.id, found.user.role === 'admin' ? ['user', 'admin'] : ['user'])
}

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
  /** Failures per email and client address together: what stops one client guessing one password. */
  byPair: LoginThrottle
  /** Failures per client address, whatever the email: what stops one client guessing many accounts. */
  byClient: LoginThrottle
  /**
   * Failures per email from every client: past its limit only clients that have already failed on this
   * email are refused, so no number of failures elsewhere can lock out a client that has not failed.
   */
  byEmail: LoginThrottle
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

/** The pair key: a newline cannot occur in a client address, so no two pairs share a key. */
const pairKey = (email: string, client: string) => `${client}\n${email}`

/**
 * Exchanges email and password for an access token. A wrong password and an unknown email give the same
 * answer in the same time. Repeated failures are throttled per email and client address together and per
 * client address; the email as a whole is capped only for clients that have failed on it, so failures
 * from anywhere never lock its owner out (NOTES.md, "Hardening: identity").
 */
export async function login(
  { users, issue, byPair, byClient, byEmail, events = ignoreAuthEvents }: LoginDependencies,
  input: { email: string; password: string; clientAddress: string | undefined },
): Promise<IssuedToken> {
  const key = emailKey(input.email)
  const client = input.clientAddress ?? 'unknown'
  const pair = pairKey(key, client)
  const refuse = (retryAfterMs: number) => {
    events.throttled()
    return tooManyAttempts(retryAfterMs)
  }
  // A client that has failed on this email before is refused while the email is at its cap.
  if ((await byPair.failures(pair)) > 0) {
    const emailWait = await byEmail.retryAfterMs(key)
    if (emailWait > 0) throw refuse(emailWait)
  }
  // Counted as a failure before the password is checked, and taken back if it is right: the check takes
  // ~20 ms, and attempts counted only after it would all pass the limit when sent concurrently (30
  // parallel guesses against a limit of 3 were all checked). attempt() checks and counts in one step.
  // A throttle that cannot answer rejects, and so does the login: never a guess let through unthrottled.
  const pairWait = await byPair.attempt(pair)
  if (pairWait > 0) throw refuse(Math.max(pairWait, await byClient.retryAfterMs(client)))
  const clientWait = await byClient.attempt(client)
  if (clientWait > 0) {
    await byPair.forgive(pair)
    throw refuse(clientWait)
  }
  // At its cap the email counts nothing more; the attempt still goes on (this client had not failed).
  const emailCounted = (await byEmail.attempt(key)) === 0

  const found = await users.findCredentials(key)
  const valid = await verifyPassword(input.password, found?.passwordHash ?? null).catch(async (error) => {
    // Not checked (too many passwords being hashed: 503): no guess was made, so none is counted.
    await Promise.all([byPair.forgive(pair), byClient.forgive(client), emailCounted && byEmail.forgive(key)])
    throw error
  })
  if (!found || !valid) {
    events.failed(found ? 'wrong_password' : 'unknown_user')
    throw new HttpProblem(
      'invalid-credentials',
      undefined,
      {},
      { 'www-authenticate': 'Bearer realm="ledgerd"' },
    )
  }
  // The owner's success takes back only its own attempts: the email's other failures were someone
  // else's, and clearing them would hand an attacker a fresh allowance each time the owner logs in.
  await Promise.all([
    byPair.reset(pair),
    byClient.forgive(client),
    emailCounted ? byEmail.forgive(key) : undefined,
  ])
  return issue(found.user.id, found.user.role === 'admin' ? ['user', 'admin'] : ['user'])
}

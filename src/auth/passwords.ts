import { HttpProblem } from '../http/problem'
import { type Lane, QueueFullError, Semaphore } from '../lib/semaphore'

// argon2id at OWASP's recommended minimum (19 MiB, two passes, one lane): about 20 ms here, which keeps
// login cheap for us and guessing expensive for anyone holding a copy of the database.
const options = { algorithm: 'argon2id', memoryCost: 19_456, timeCost: 2 } as const

/**
 * Every argon2 hash and check of the process goes through this: a flood of sign-ups (each ~20 ms of CPU
 * and 19 MiB) would otherwise queue without bound in front of every login. Logins are served first.
 * Replaced at start by limitPasswordWork from the settings.
 */
let work = new Semaphore(2, 32)

export function limitPasswordWork(permits: number, queueLimit: number): Semaphore {
  work = new Semaphore(permits, queueLimit)
  return work
}

/** Past the queue: 503 at once, with Retry-After, rather than a wait the client cannot see the end of. */
async function bounded<T>(task: () => Promise<T>, lane: Lane): Promise<T> {
  try {
    return await work.run(task, lane)
  } catch (error) {
    if (!(error instanceof QueueFullError)) throw error
    throw new HttpProblem(
      'service-unavailable',
      'Too many passwords are being checked at once; retry shortly.',
      {},
      { 'retry-after': '1' },
    )
  }
}

/** Sign-ups and password changes: the last lane, behind logins. */
export const hashPassword = (password: string) => bounded(() => Bun.password.hash(password, options), 'last')

let dummyHash: Promise<string> | undefined

/**
 * Checks a password against a hash, or against a throwaway hash when there is none (no such user, or a
 * user from an external identity provider), so both answers take the same time and timing cannot tell
 * which emails have accounts.
 */
export async function verifyPassword(password: string, hash: string | null): Promise<boolean> {
  if (hash) return bounded(() => Bun.password.verify(password, hash), 'first')
  dummyHash ??= Bun.password.hash(crypto.randomUUID(), options)
  const dummy = await dummyHash
  await bounded(() => Bun.password.verify(password, dummy), 'first')
  return false
}

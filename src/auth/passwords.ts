import { HttpProblem } from '../http/problem'
import { type Lane, QueueFullError, type Reservation, Semaphore } from '../lib/semaphore'

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

const busy = () =>
  new HttpProblem(
    'service-unavailable',
    'Too many passwords are being checked at once; retry shortly.',
    {},
    { 'retry-after': '1' },
  )

/** Past the queue: 503 at once, with Retry-After, rather than a wait the client cannot see the end of. */
async function bounded<T>(task: () => Promise<T>, lane: Lane | Reservation): Promise<T> {
  try {
    return await (typeof lane === 'string' ? work.run(task, lane) : lane.run(task))
  } catch (error) {
    if (!(error instanceof QueueFullError)) throw error
    throw busy()
  }
}

const argon2 = (password: string) => Bun.password.hash(password, options)

/** Sign-ups and password changes: the last lane, behind logins. */
export const hashPassword = (password: string) => bounded(() => argon2(password), 'last')

export interface PasswordHashPlace {
  /** Hashes in the place held (the last lane); the place is released once the hash settles. */
  hash(password: string): Promise<string>
  /** Gives the place back unused (the sign-up was refused before its hash); a no-op after hash(). */
  release(): void
}

/**
 * A place for one hash, taken before the checks that come ahead of it (a sign-up's count per client,
 * a database transaction on PostgreSQL), or the 503 at once when the lane has as many as it can run and
 * queue. Without it, a burst of sign-ups all made those checks first, holding every database connection,
 * and were only then turned away by a full queue: a login waited behind them for its own queries.
 */
export function reservePasswordHash(): PasswordHashPlace {
  let place: Reservation
  try {
    place = work.reserve('last')
  } catch (error) {
    if (error instanceof QueueFullError) throw busy()
    throw error
  }
  return { hash: (password) => bounded(() => argon2(password), place), release: () => place.release() }
}

let dummyHash: Promise<string> | undefined

/**
 * Checks a password against a hash, or against a throwaway hash when there is none (no such user, or a
 * user from an external identity provider), so both answers take the same time and timing cannot tell
 * which emails have accounts.
 */
export async function verifyPassword(password: string, hash: string | null): Promise<boolean> {
  if (hash) return bounded(() => Bun.password.verify(password, hash), 'first')
  dummyHash ??= argon2(crypto.randomUUID())
  const dummy = await dummyHash
  await bounded(() => Bun.password.verify(password, dummy), 'first')
  return false
}

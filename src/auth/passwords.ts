import { HttpProblem } from '../http/problem'
import { QueueFullError, type Reservation, Semaphore } from '../lib/semaphore'
import { argon2Options } from './argon2'
import type { BackgroundHasher } from './background-hasher'

/**
 * argon2 is ~20 ms of a core and 19 MiB per hash or check: unbounded, a flood of sign-ups queues without
 * end in front of every login and takes every core from the ledger. So there are two bounded pools, and
 * neither waits for the other:
 * - checks (logins) run on Bun's pool at normal priority: a login is how a user gets to their money;
 * - hashes (sign-ups, new passwords) run on background threads at the lowest priority, and may wait at
 *   most `hashMaxWaitMs` for one, since at full load a background hash can take seconds.
 * Replaced at start by limitPasswordWork from the settings; until then (the CLI, tests that build the app
 * themselves) hashes run on Bun's pool too.
 */
let checks = new Semaphore(2, 32)
let hashes = new Semaphore(2, 32)
let background: BackgroundHasher | undefined

export function limitPasswordWork(
  permits: number,
  queueLimit: number,
  hasher?: BackgroundHasher,
  /** How long a sign-up waits for a hashing thread before it is told to come back. */
  hashMaxWaitMs = 5_000,
): { checks: Semaphore; hashes: Semaphore } {
  checks = new Semaphore(permits, queueLimit)
  hashes = new Semaphore(permits, queueLimit, hashMaxWaitMs)
  background = hasher
  return { checks, hashes }
}

/** The answer past the queue, or past the wait: 503 at once, with Retry-After, not an endless wait. */
export const passwordWorkBusy = new HttpProblem(
  'service-unavailable',
  'Too many passwords are being checked at once; retry shortly.',
  {},
  { 'retry-after': '1' },
)

async function bounded<T>(pool: Semaphore | Reservation, task: () => Promise<T>): Promise<T> {
  try {
    return await pool.run(task)
  } catch (error) {
    if (error instanceof QueueFullError) throw passwordWorkBusy
    throw error
  }
}

/**
 * On the background threads; once they are closed (the server shut down; a test's in-process ledgerd
 * disposed), on Bun's pool again, as before they started.
 */
const argon2 = (password: string) =>
  background && !background.closed ? background.hash(password) : Bun.password.hash(password, argon2Options)

/** Password changes and users made by an admin: the background pool, no place taken first. */
export const hashPassword = (password: string) => bounded(hashes, () => argon2(password))

/** Every place in the hashing pool is held: a sign-up would be refused before any work (shedding). */
export const hashingFull = () => hashes.full

export interface PasswordHashPlace {
  /** Hashes in the place held; the place is released once the hash settles. */
  hash(password: string): Promise<string>
  /** Gives the place back unused (the sign-up was refused before its hash); a no-op after hash(). */
  release(): void
}

/**
 * A place for one hash, taken before the checks that come ahead of it (a sign-up's count per client,
 * a database transaction on PostgreSQL), or the 503 at once when the pool has as many as it can run and
 * queue. Without it, a burst of sign-ups all made those checks first, holding every database connection,
 * and were only then turned away by a full queue: a login waited behind them for its own queries.
 */
export function reservePasswordHash(): PasswordHashPlace {
  let place: Reservation
  try {
    place = hashes.reserve()
  } catch (error) {
    if (error instanceof QueueFullError) throw passwordWorkBusy
    throw error
  }
  return { hash: (password) => bounded(place, () => argon2(password)), release: () => place.release() }
}

let dummyHash: Promise<string> | undefined

/**
 * Checks a password against a hash, or against a throwaway hash when there is none (no such user, or a
 * user from an external identity provider), so both answers take the same time and timing cannot tell
 * which emails have accounts.
 */
export async function verifyPassword(password: string, hash: string | null): Promise<boolean> {
  if (hash) return bounded(checks, () => Bun.password.verify(password, hash))
  dummyHash ??= Bun.password.hash(crypto.randomUUID(), argon2Options)
  const dummy = await dummyHash
  await bounded(checks, () => Bun.password.verify(password, dummy))
  return false
}

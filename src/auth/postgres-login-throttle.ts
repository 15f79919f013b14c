import type { TransactionSql } from 'postgres'
import type { Sql } from '../db/postgres/connection'
import { orUnavailable } from '../db/postgres/unavailable'
import type { LoginThrottle } from './login-throttle'

export interface PostgresLoginThrottleOptions {
  /**
   * What the keys are ("email", "client"): stored as a prefix, so that the email throttle and the client
   * throttle sharing the table never count each other's rows (the token endpoint's email is any string,
   * and could be a client's address).
   */
  scope: string
  limit: number
  windowMs: number
  /** The clock; by default the database's, so that every replica's window starts and ends together. */
  now?: () => number
}

/**
 * The first half of the advisory lock key of every throttle transaction; the second is the hash of the
 * login key. It spells "lgin" in ASCII, recognisable in pg_locks, and two-int advisory keys never meet
 * the migrator's single bigint one.
 */
const lockClass = 0x6c67696e

/** Stale rows of other keys deleted by each attempt: keys never tried again must not stay forever. */
const sweepBatch = 8

/**
 * Failed logins shared by every replica, one row per failure in login_failures. An attempt holds a
 * transaction-scoped advisory lock on its key while it counts and inserts, so concurrent attempts on one
 * key, on any replica, are counted one after another and at most `limit` pass. Work per call is bounded:
 * the key's own rows are at most `limit` in the window plus what aged out since its last attempt (deleted
 * then), and each attempt deletes at most sweepBatch stale rows of other keys.
 */
export class PostgresLoginThrottle implements LoginThrottle {
  constructor(
    private readonly sql: Sql,
    private readonly options: PostgresLoginThrottleOptions,
  ) {}

  attempt(key: string): Promise<number> {
    const stored = this.#stored(key)
    return orUnavailable(
      this.sql.begin(async (tx) => {
        const [locked] = await tx<{ now: Date }[]>`
          SELECT pg_advisory_xact_lock(${lockClass}, hashtext(${stored})), clock_timestamp() AS now`
        const now = this.#now(locked?.now)
        const cutoff = this.#cutoff(now)
        // One statement after the lock (four round trips in all, with BEGIN and COMMIT, not seven: a login
        // makes three attempts, and each round trip waits for the pool when it is busy). Its snapshot is
        // taken after the lock was granted, so it sees the previous holder's commit. The key's aged-out
        // rows go; the failure is counted only below the limit; other keys' stale rows are swept, SKIP
        // LOCKED so this never waits and cannot deadlock with their attempts, and never this key's rows,
        // which the first DELETE owns (one statement must not delete a row twice).
        const recent = await tx<{ at: Date }[]>`
          WITH aged_out AS (
            DELETE FROM login_failures WHERE key = ${stored} AND at <= ${cutoff}
          ), recent AS (
            SELECT at FROM login_failures WHERE key = ${stored} AND at > ${cutoff}
            ORDER BY at DESC LIMIT ${this.options.limit}
          ), counted AS (
            INSERT INTO login_failures (key, at)
            SELECT ${stored}, ${now} WHERE (SELECT count(*) FROM recent) < ${this.options.limit}
          ), swept AS (
            DELETE FROM login_failures WHERE ctid = ANY(ARRAY(
              SELECT ctid FROM login_failures
              WHERE at <= ${cutoff} AND starts_with(key, ${`${this.options.scope}:`}) AND key <> ${stored}
              ORDER BY at LIMIT ${sweepBatch} FOR UPDATE SKIP LOCKED))
          )
          SELECT at FROM recent ORDER BY at DESC`
        return this.#wait(recent, now)
      }),
    )
  }

  async retryAfterMs(key: string): Promise<number> {
    return orUnavailable(
      (async () => {
        const [clock] = await this.sql<{ now: Date }[]>`SELECT clock_timestamp() AS now`
        const now = this.#now(clock?.now)
        return this.#wait(await this.#recent(this.sql, this.#stored(key), this.#cutoff(now)), now)
      })(),
    )
  }

  async failures(key: string): Promise<number> {
    return orUnavailable(
      (async () => {
        const [clock] = await this.sql<{ now: Date }[]>`SELECT clock_timestamp() AS now`
        return (await this.#recent(this.sql, this.#stored(key), this.#cutoff(this.#now(clock?.now)))).length
      })(),
    )
  }

  async forgive(key: string): Promise<void> {
    await orUnavailable(this.sql`
      DELETE FROM login_failures WHERE ctid = (
        SELECT ctid FROM login_failures WHERE key = ${this.#stored(key)} ORDER BY at DESC LIMIT 1)`)
  }

  async reset(key: string): Promise<void> {
    await orUnavailable(this.sql`DELETE FROM login_failures WHERE key = ${this.#stored(key)}`)
  }

  #stored(key: string): string {
    return `${this.options.scope}:${key}`
  }

  #now(databaseNow: Date | undefined): Date {
    return this.options.now ? new Date(this.options.now()) : (databaseNow ?? new Date())
  }

  #cutoff(now: Date): Date {
    return new Date(now.getTime() - this.options.windowMs)
  }

  /** The key's latest `limit` failures inside the window, newest first. */
  #recent(sql: Sql | TransactionSql, stored: string, cutoff: Date) {
    return sql<{ at: Date }[]>`
      SELECT at FROM login_failures WHERE key = ${stored} AND at > ${cutoff}
      ORDER BY at DESC LIMIT ${this.options.limit}`
  }

  /** As the in-memory throttle: at the limit, wait until the oldest of the latest `limit` ages out. */
  #wait(recent: readonly { at: Date }[], now: Date): number {
    const oldest = recent[this.options.limit - 1]
    if (!oldest) return 0
    // At least 1: timestamps come back to the millisecond, and a blocked key must never read as free.
    return Math.max(1, oldest.at.getTime() + this.options.windowMs - now.getTime())
  }
}

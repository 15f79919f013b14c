import type { Sql } from '../../db/postgres/connection'
import type { Int8 } from './rows'

// Forgetting expired Idempotency-Keys on PostgreSQL: in slices of one short transaction each, so that no
// slice holds locks for long, and by one replica at a time. Each slice takes a transaction-scoped
// advisory lock with pg_try_: a replica that finds another purging stops, rather than both purging (or
// one waiting). How far the purge has got is a row every replica reads (`purged_through`), updated
// under that lock, so each key is forgotten exactly once however the replicas interleave.

/** Any constant would do: "ledgpurg" in ASCII, recognisable in pg_locks. */
export const purgeLockKey = 0x6c65646770757267n

/** Keys forgotten per slice and per kind (transactions, account openings, refusals). */
export const purgeSlice = 200

interface SliceResult {
  purged: number
  done: boolean
}

/**
 * One slice: walks transactions in seq order from where the last slice stopped, up to the first one
 * made at or after `beforeMs`. Undefined when another replica holds the purge lock.
 */
async function purgeOneSlice(sql: Sql, beforeMs: number): Promise<SliceResult | undefined> {
  return sql.begin(async (tx) => {
    const [lock] = await tx<{ locked: boolean }[]>`
      SELECT pg_try_advisory_xact_lock(${purgeLockKey.toString()}::bigint) AS locked`
    if (!lock?.locked) return undefined
    const [meta] = await tx<{ value: Int8 }[]>`SELECT value FROM ledger_meta WHERE name = 'purged_through'`
    const from = Number(meta?.value ?? 0)
    const rows = await tx<{ seq: Int8; createdAt: Int8; keyed: boolean }[]>`
      SELECT seq, created_at AS "createdAt", idem_key IS NOT NULL AS keyed FROM transactions
      WHERE seq > ${from}::int8 ORDER BY seq LIMIT ${purgeSlice}`
    let through = from
    const keyed: number[] = []
    let transactionsDone = rows.length < purgeSlice
    for (const row of rows) {
      if (Number(row.createdAt) >= beforeMs) {
        transactionsDone = true
        break
      }
      through = Number(row.seq)
      if (row.keyed) keyed.push(through)
    }
    if (keyed.length > 0) {
      // As one text parameter: the pool does not fetch array types (fetch_types: false).
      await tx`UPDATE transactions SET idem_key = NULL
        WHERE seq = ANY(string_to_array(${keyed.join(',')}, ',')::int8[])`
    }
    if (through !== from) {
      await tx`UPDATE ledger_meta SET value = ${through}::int8 WHERE name = 'purged_through'`
    }
    const accounts = await tx`
      UPDATE accounts SET idem_key = NULL WHERE seq IN (
        SELECT seq FROM accounts WHERE idem_key IS NOT NULL AND created_at < ${beforeMs}::int8
        LIMIT ${purgeSlice})`
    const refusals = await tx`
      DELETE FROM refused_commands WHERE (owner_id, idem_key) IN (
        SELECT owner_id, idem_key FROM refused_commands WHERE created_at < ${beforeMs}::int8
        LIMIT ${purgeSlice})`
    const done = transactionsDone && accounts.count < purgeSlice && refusals.count < purgeSlice
    return { purged: keyed.length, done }
  }) as Promise<SliceResult | undefined>
}

/**
 * Forgets the keys used before `beforeMs`, slice by slice; returns how many transactions' keys it
 * forgot (what another replica forgot meanwhile is counted there). Account openings and refusals are
 * forgotten too, and not counted, as on SQLite.
 */
export async function purgeIdempotencyKeys(
  sql: Sql,
  beforeMs: number,
  /** Bounds each slice's wait for the database (the engine's deadline). */
  bound: <T>(work: Promise<T>) => Promise<T>,
): Promise<number> {
  let purged = 0
  for (;;) {
    const slice = await bound(purgeOneSlice(sql, beforeMs))
    if (!slice) return purged
    purged += slice.purged
    if (slice.done) return purged
  }
}

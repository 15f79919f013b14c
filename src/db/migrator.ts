import type { SqliteConnection } from './sqlite'

export interface Migration {
  version: number
  name: string
  sql: string
}

export interface MigrationStatus {
  version: number
  name: string
  state: 'applied' | 'pending'
  appliedAt?: string
}

/** The database cannot be used by this binary; the message says why and what to do. */
export class MigrationError extends Error {}

export interface AppliedRow {
  version: number
  name: string
  checksum: string
  applied_at: string
}

const bookkeeping = `CREATE TABLE IF NOT EXISTS ledgerd_migrations (
  version INTEGER PRIMARY KEY NOT NULL,
  name TEXT NOT NULL,
  checksum TEXT NOT NULL,
  applied_at TEXT NOT NULL
)`

export function checksum(sql: string): string {
  return new Bun.CryptoHasher('sha256').update(sql).digest('hex')
}

function appliedMigrations(db: SqliteConnection): AppliedRow[] {
  db.exec(bookkeeping)
  return db.all<AppliedRow>(
    'SELECT version, name, checksum, applied_at FROM ledgerd_migrations ORDER BY version',
  )
}

/**
 * Refuses a database this binary does not understand: one migrated by a newer ledgerd (rolling back the
 * binary must not silently run old code on a new schema), or one whose applied migration differs from the
 * embedded one (a migration edited after release).
 */
export function checkCompatible(applied: AppliedRow[], migrations: readonly Migration[]): void {
  const known = new Map(migrations.map((m) => [m.version, m]))
  const latest = migrations.at(-1)?.version ?? 0
  for (const row of applied) {
    const migration = known.get(row.version)
    if (!migration) {
      throw new MigrationError(
        `database schema version ${row.version} (${row.name}) is newer than this binary, which knows up to ` +
          `version ${latest}: run a ledgerd release that includes it`,
      )
    }
    if (migration.name !== row.name || checksum(migration.sql) !== row.checksum) {
      throw new MigrationError(
        `migration ${row.version} (${row.name}) applied to this database differs from the one in this binary`,
      )
    }
  }
}

export function migrationStatus(db: SqliteConnection, migrations: readonly Migration[]): MigrationStatus[] {
  return statusOf(appliedMigrations(db), migrations)
}

/** Each migration of the binary, applied (when) or pending; throws if the database is incompatible. */
export function statusOf(applied: AppliedRow[], migrations: readonly Migration[]): MigrationStatus[] {
  checkCompatible(applied, migrations)
  const appliedAt = new Map(applied.map((row) => [row.version, row.applied_at]))
  return migrations.map(({ version, name }) => {
    const at = appliedAt.get(version)
    return at ? { version, name, state: 'applied', appliedAt: at } : { version, name, state: 'pending' }
  })
}

/** Applies pending migrations, each in its own immediate transaction; returns the versions applied. */
export function migrate(db: SqliteConnection, migrations: readonly Migration[]): number[] {
  const done: number[] = []
  for (const migration of migrations) {
    // Re-read inside the write lock: another process may have applied it since we last looked.
    const applied = db.immediate(() => {
      const rows = appliedMigrations(db)
      checkCompatible(rows, migrations)
      if (rows.some((row) => row.version === migration.version)) return false
      db.exec(migration.sql)
      db.all(
        'INSERT INTO ledgerd_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?) RETURNING version',
        migration.version,
        migration.name,
        checksum(migration.sql),
        new Date().toISOString(),
      )
      return true
    })
    if (applied) done.push(migration.version)
  }
  return done
}

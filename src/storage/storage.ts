import type { LoginThrottle } from '../auth/login-throttle'
import type { Config } from '../config/settings'
import type { MigrationStatus } from '../db/migrator'
import type { PoolUsage } from '../db/postgres/pool-usage'
import type { GeneratedSecrets } from '../files/generated-secrets'
import type { HealthRepository } from '../health/repository'
import type { LedgerEngine, VerifyReport } from '../ledger/engine'
import type { CommitObserver } from '../ledger/sqlite/engine'
import type { UsersRepository } from '../users/repository'

/**
 * Where ledgerd keeps its data: the embedded SQLite in the data dir, or a PostgreSQL shared by replicas.
 * The one seam between the features and a database: every repository and the ledger engine come from
 * here, so nothing above it knows which database it runs on.
 */
export interface Storage {
  readonly kind: 'sqlite' | 'postgres'
  /** Where the data is, for logs and messages: a file path, or the URL without its password. */
  readonly location: string
  /** The newest schema version this binary knows. */
  readonly schemaVersion: number
  readonly users: UsersRepository
  /**
   * The users repository the API serves from, once migrated: on SQLite its writes run on a thread of
   * their own, so a write waiting on the disk never holds up the event loop; on PostgreSQL, `users`.
   */
  serveUsers(): Promise<UsersRepository>
  readonly health: HealthRepository
  readonly secrets: GeneratedSecrets
  /** PostgreSQL only: how busy the connection pool is, for its gauges. */
  readonly poolUsage?: PoolUsage
  /**
   * Failed logins counted per key of one scope ("email", "client"): in memory for SQLite's one process,
   * in the database for PostgreSQL's replicas, so guesses spread over them are counted together.
   */
  loginThrottle(scope: string, limit: number, windowMs: number): LoginThrottle
  /** Applies pending migrations; returns the versions applied. Throws MigrationError if incompatible. */
  migrate(): Promise<number[]>
  migrationStatus(): Promise<MigrationStatus[]>
  openLedger(config: Config, observer: CommitObserver): Promise<LedgerEngine>
  /** Checks every ledger invariant in one consistent snapshot. Read-only. */
  verify(): Promise<VerifyReport>
  close(): Promise<void>
}

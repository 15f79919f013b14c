import type { BaseSQLiteDatabase } from 'drizzle-orm/sqlite-core'
import type { DbDriver } from '../config/settings'
import type { schema } from './schema'

export type Orm = BaseSQLiteDatabase<'sync', unknown, typeof schema>

export type SqlValue = string | number | bigint | null

/** A statement prepared once, with positional (`?`) parameters; rows come back keyed by column name. */
export interface Statement {
  run(...params: SqlValue[]): void
  get<Row>(...params: SqlValue[]): Row | undefined
  all<Row>(...params: SqlValue[]): Row[]
}

/** What ledgerd needs from a SQLite connection, whichever driver provides it. */
export interface SqliteConnection {
  readonly driver: DbDriver
  readonly orm: Orm
  /** Runs one or more statements with no parameters (migrations, pragmas). */
  exec(sql: string): void
  all<Row>(sql: string, ...params: SqlValue[]): Row[]
  /** A statement without parameters, prepared once: exec() would parse the SQL on every call. */
  prepared(sql: string): () => void
  /**
   * A statement prepared once, for hot paths: drizzle's prepared queries map named placeholders and
   * result rows in JavaScript on every call, which cost about a tenth of a ledger write.
   */
  statement(sql: string): Statement
  /** Runs fn inside BEGIN IMMEDIATE: the write lock is taken up front, so no transaction has to retry. */
  immediate<T>(fn: () => T): T
  close(): void
}

/** The part of a driver's database object ledgerd uses: bun:sqlite and better-sqlite3 both have it. */
export interface NativeDatabase {
  exec(sql: string): unknown
  prepare(sql: string): {
    run(...params: SqlValue[]): unknown
    get(...params: SqlValue[]): unknown
    all(...params: SqlValue[]): unknown[]
  }
  transaction<T>(fn: () => T): { immediate(): T }
  close(): unknown
}

/** A SqliteConnection over either driver's database object. */
export function sqliteConnection(driver: DbDriver, db: NativeDatabase, orm: Orm): SqliteConnection {
  return {
    driver,
    orm,
    exec: (sql) => void db.exec(sql),
    all: (sql, ...params) => db.prepare(sql).all(...params) as never,
    prepared: (sql) => {
      const statement = db.prepare(sql)
      return () => void statement.run()
    },
    statement: (sql) => {
      const statement = db.prepare(sql)
      return {
        run: (...params) => void statement.run(...params),
        // bun:sqlite answers null for no row, better-sqlite3 undefined.
        get: (...params) => (statement.get(...params) ?? undefined) as never,
        all: (...params) => statement.all(...params) as never,
      }
    },
    immediate: (fn) => db.transaction(fn).immediate(),
    close: () => void db.close(),
  }
}

export interface SqliteOptions {
  busyTimeoutMs: number
}

/**
 * Pragmas every connection gets. WAL lets readers run beside the writer; synchronous=FULL fsyncs the WAL
 * on every commit, so an acknowledged write survives power loss; foreign keys are off by default in SQLite.
 */
export function connectionPragmas({ busyTimeoutMs }: SqliteOptions): string {
  return [
    'PRAGMA journal_mode = WAL',
    'PRAGMA synchronous = FULL',
    'PRAGMA foreign_keys = ON',
    `PRAGMA busy_timeout = ${Math.trunc(busyTimeoutMs)}`,
    'PRAGMA trusted_schema = OFF',
    // 32 MiB of page cache (the default is 2 MiB): the hot indexes of a busy ledger stay in memory.
    'PRAGMA cache_size = -32768',
    'PRAGMA temp_store = MEMORY',
  ].join(';\n')
}

import { constants, Database } from 'bun:sqlite'
import { drizzle } from 'drizzle-orm/bun-sqlite'
import { schema } from '../schema'
import {
  connectionPragmas,
  type NativeDatabase,
  type Orm,
  type SqliteConnection,
  type SqliteOptions,
  sqliteConnection,
} from '../sqlite'

export function openBunSqlite(path: string, options: SqliteOptions): SqliteConnection {
  const db = new Database(path, { create: true, strict: true })
  db.exec(connectionPragmas(options))
  const orm = drizzle({ client: db, schema }) as unknown as Orm
  return sqliteConnection('bun-sqlite', db as unknown as NativeDatabase, orm)
}

/**
 * An existing database opened for reading only, creating no file beside it. `mode=ro` shares a live
 * server's WAL (its -shm must exist and be readable); `immutable` reads the main file alone, which is
 * right only when no WAL holds commits it lacks: the caller checks that.
 */
export function openBunSqliteReadOnly(
  path: string,
  options: SqliteOptions & { immutable: boolean },
): SqliteConnection {
  const uri = `file:${encodeURI(path).replaceAll('?', '%3F').replaceAll('#', '%23')}?${options.immutable ? 'immutable=1' : 'mode=ro'}`
  const db = new Database(uri, constants.SQLITE_OPEN_READONLY | constants.SQLITE_OPEN_URI)
  try {
    db.exec(
      [
        `PRAGMA busy_timeout = ${Math.trunc(options.busyTimeoutMs)}`,
        'PRAGMA foreign_keys = ON',
        'PRAGMA trusted_schema = OFF',
        'PRAGMA query_only = ON',
      ].join(';\n'),
    )
    // Opening is lazy: the first read is where a WAL database without a readable -shm fails.
    db.query('SELECT count(*) FROM sqlite_master').get()
  } catch (error) {
    db.close()
    throw error
  }
  const orm = drizzle({ client: db, schema }) as unknown as Orm
  return sqliteConnection('bun-sqlite', db as unknown as NativeDatabase, orm)
}

import { Database } from 'bun:sqlite'
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

import { Database } from 'bun:sqlite'
import { drizzle } from 'drizzle-orm/bun-sqlite'
import { schema } from '../schema'
import { connectionPragmas, type Orm, type SqliteConnection, type SqliteOptions } from '../sqlite'

export function openBunSqlite(path: string, options: SqliteOptions): SqliteConnection {
  const db = new Database(path, { create: true, strict: true })
  db.exec(connectionPragmas(options))
  return {
    driver: 'bun-sqlite',
    orm: drizzle({ client: db, schema }) as unknown as Orm,
    exec: (sql) => db.exec(sql),
    all: (sql, ...params) => db.query(sql).all(...params) as never,
    prepared: (sql) => {
      const statement = db.prepare(sql)
      return () => void statement.run()
    },
    statement: (sql) => {
      const statement = db.prepare(sql)
      return {
        run: (...params) => void statement.run(...params),
        get: (...params) => (statement.get(...params) ?? undefined) as never,
        all: (...params) => statement.all(...params) as never,
      }
    },
    immediate: (fn) => db.transaction(fn).immediate(),
    close: () => db.close(),
  }
}

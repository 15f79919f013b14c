import { afterEach, describe, expect, test } from 'bun:test'
import { postgresMigrations } from '../../../src/db/migrations/postgres'
import type { Migration } from '../../../src/db/migrator'
import { MigrationError } from '../../../src/db/migrator'
import { openPostgres, type Sql } from '../../../src/db/postgres/connection'
import { migratePostgres, postgresMigrationStatus } from '../../../src/db/postgres/migrator'
import { testPostgres } from '../../support/postgres'

// The PostgreSQL migrator against a real server: once per database however many replicas start at once,
// whole or not at all, and never on a database a newer binary migrated.

const first: Migration = { version: 1, name: 'first', sql: 'CREATE TABLE a (id INTEGER PRIMARY KEY)' }
// Slow on purpose: replicas that do not wait for the lock would apply it twice and fail on the table.
const second: Migration = {
  version: 2,
  name: 'second',
  sql: 'SELECT pg_sleep(0.3); CREATE TABLE b (id INTEGER PRIMARY KEY)',
}

// Started before the tests (initdb takes seconds on a busy machine), so no test's timeout pays for it.
await testPostgres()

const pools: Sql[] = []
async function freshDatabase(): Promise<string> {
  return (await testPostgres()).createDatabase('migrator')
}
function pool(url: string): Sql {
  const sql = openPostgres({
    databaseUrl: url,
    dbPoolSize: 2,
    dbStatementTimeoutMs: 10_000,
    dbConnectTimeoutMs: 5000,
    dbSslMode: 'disable',
    dbSslRootCert: '',
  })
  pools.push(sql)
  return sql
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((sql) => sql.end()))
})

describe('PostgreSQL migrator', () => {
  test('applies pending migrations in order, once', async () => {
    const sql = pool(await freshDatabase())
    expect(await migratePostgres(sql, [first, second])).toEqual([1, 2])
    expect(await migratePostgres(sql, [first, second])).toEqual([])
    const tables = await sql<{ name: string }[]>`
      SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`
    expect(tables.map((t) => t.name)).toEqual(['a', 'b', 'ledgerd_migrations'])
  })

  test('five replicas starting together migrate once', async () => {
    const url = await freshDatabase()
    const results = await Promise.all(
      Array.from({ length: 5 }, () => migratePostgres(pool(url), [first, second])),
    )
    expect(results.flat().sort()).toEqual([1, 2])
    const [count] = await pool(url)<{ n: number }[]>`SELECT count(*)::int AS n FROM ledgerd_migrations`
    expect(count?.n).toBe(2)
  })

  test('a failing migration applies nothing of itself', async () => {
    const sql = pool(await freshDatabase())
    const broken: Migration = { version: 2, name: 'broken', sql: 'CREATE TABLE c (id int); SELECT 1/0' }
    expect(migratePostgres(sql, [first, broken])).rejects.toThrow('division by zero')
    await Bun.sleep(50)
    const tables = await sql<{ name: string }[]>`
      SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`
    expect(tables.map((t) => t.name)).toEqual(['a', 'ledgerd_migrations'])
  })

  test('status on a fresh database lists everything pending and creates nothing', async () => {
    const sql = pool(await freshDatabase())
    const status = await postgresMigrationStatus(sql, postgresMigrations)
    expect(status.every((m) => m.state === 'pending')).toBe(true)
    const [table] = await sql<
      { exists: boolean }[]
    >`SELECT to_regclass('ledgerd_migrations') IS NOT NULL AS exists`
    expect(table?.exists).toBe(false)
  })

  test('refuses a database migrated by a newer binary, and says so in status', async () => {
    const sql = pool(await freshDatabase())
    await migratePostgres(sql, [first, second])
    expect(migratePostgres(sql, [first])).rejects.toThrow(MigrationError)
    expect(postgresMigrationStatus(sql, [first])).rejects.toThrow('newer than this binary')
  })

  test("ledgerd's own migrations apply on an empty database", async () => {
    const sql = pool(await freshDatabase())
    const applied = await migratePostgres(sql, postgresMigrations)
    expect(applied).toEqual(postgresMigrations.map((m) => m.version))
    const status = await postgresMigrationStatus(sql, postgresMigrations)
    expect(status.every((m) => m.state === 'applied')).toBe(true)
  })
})

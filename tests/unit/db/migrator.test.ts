import { afterEach, describe, expect, test } from 'bun:test'
import { sqliteMigrations } from '../../../src/db/migrations/sqlite'
import { checksum, type Migration, MigrationError, migrate, migrationStatus } from '../../../src/db/migrator'
import { dbDrivers, openTestDatabase, type TestDatabase } from '../../support/databases'

const first: Migration = { version: 1, name: 'first', sql: 'CREATE TABLE a (id INTEGER PRIMARY KEY)' }
const second: Migration = { version: 2, name: 'second', sql: 'CREATE TABLE b (id INTEGER PRIMARY KEY)' }

describe.each(dbDrivers)('migrator on %s', (driver) => {
  let handle: TestDatabase
  afterEach(() => handle.dispose())

  test('applies pending migrations in order, once', async () => {
    handle = await openTestDatabase(driver)
    expect(migrate(handle.db, [first, second])).toEqual([1, 2])
    expect(migrate(handle.db, [first, second])).toEqual([])
    const tables = handle.db.all<{ name: string }>(
      "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
    )
    expect(tables.map((t) => t.name)).toEqual(['a', 'b', 'ledgerd_migrations'])
  })

  test('status lists applied and pending migrations', async () => {
    handle = await openTestDatabase(driver)
    migrate(handle.db, [first])
    const status = migrationStatus(handle.db, [first, second])
    expect(status.map((m) => [m.version, m.state])).toEqual([
      [1, 'applied'],
      [2, 'pending'],
    ])
    expect(status[0]?.appliedAt).toMatch(/^\d{4}-\d\d-\d\dT/)
  })

  test('refuses a database migrated by a newer binary', async () => {
    handle = await openTestDatabase(driver)
    migrate(handle.db, [first, second])
    expect(() => migrate(handle.db, [first])).toThrow(MigrationError)
    expect(() => migrationStatus(handle.db, [first])).toThrow('newer than this binary')
  })

  test('refuses a database whose applied migration was edited since', async () => {
    handle = await openTestDatabase(driver)
    migrate(handle.db, [first])
    const edited = { ...first, sql: `${first.sql}; CREATE TABLE c (id INTEGER)` }
    expect(() => migrate(handle.db, [edited])).toThrow('differs from the one in this binary')
  })

  test('a failing migration leaves no trace: its statements and its bookkeeping row roll back together', async () => {
    handle = await openTestDatabase(driver)
    const broken: Migration = {
      version: 2,
      name: 'broken',
      sql: 'CREATE TABLE b (id INTEGER); SELECT * FROM nope',
    }
    migrate(handle.db, [first])
    expect(() => migrate(handle.db, [first, broken])).toThrow()
    expect(migrationStatus(handle.db, [first, broken]).map((m) => m.state)).toEqual(['applied', 'pending'])
    expect(handle.db.all("SELECT name FROM sqlite_master WHERE name = 'b'")).toEqual([])
  })

  test('records the checksum of what it ran', async () => {
    handle = await openTestDatabase(driver)
    migrate(handle.db, [first])
    const rows = handle.db.all<{ checksum: string }>('SELECT checksum FROM ledgerd_migrations')
    expect(rows).toEqual([{ checksum: checksum(first.sql) }])
  })

  test('the embedded migrations apply to a fresh database and survive reopening', async () => {
    handle = await openTestDatabase(driver)
    expect(migrate(handle.db, sqliteMigrations)).toEqual(sqliteMigrations.map((m) => m.version))
    const db = await handle.reopen()
    expect(migrationStatus(db, sqliteMigrations).every((m) => m.state === 'applied')).toBe(true)
    expect(db.all<{ id: string }>('SELECT id FROM instance')[0]?.id).toMatch(/^[0-9a-f]{32}$/)
  })
})

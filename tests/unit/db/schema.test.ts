import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { getTableConfig, type SQLiteTable } from 'drizzle-orm/sqlite-core'
import { postgresMigrations } from '../../../src/db/migrations/postgres'
import { sqliteMigrations } from '../../../src/db/migrations/sqlite'
import { migrate } from '../../../src/db/migrator'
import { schema } from '../../../src/db/schema'
import { openTestDatabase, type TestDatabase } from '../../support/databases'

const migrationsDir = join(import.meta.dir, '../../../src/db/migrations')

describe.each([
  ['sqlite', sqliteMigrations],
  ['postgres', postgresMigrations],
] as const)('embedded %s migrations', (engine, migrations) => {
  test('the index lists every .sql file in the folder, numbered 1, 2, 3... by file name', () => {
    const files = readdirSync(join(migrationsDir, engine))
      .filter((f) => f.endsWith('.sql'))
      .sort()
    const versions: number[] = migrations.map((m) => m.version)
    const names: string[] = migrations.map((m) => m.name)
    expect(files.map((f) => Number(f.slice(0, 4)))).toEqual(versions)
    expect(versions).toEqual(versions.map((_, i) => i + 1))
    expect(files.map((f) => f.slice(5, -4))).toEqual(names)
  })
})

describe('drizzle schema', () => {
  let handle: TestDatabase
  beforeAll(async () => {
    handle = await openTestDatabase('bun-sqlite')
    migrate(handle.db, sqliteMigrations)
  })
  afterAll(() => handle.dispose())

  interface ColumnInfo {
    name: string
    type: string
    notnull: number
    pk: number
  }

  test.each(Object.values(schema).map((table) => [getTableConfig(table as SQLiteTable).name, table]))(
    'table %s matches what the migrations create',
    (name, table) => {
      const { columns, primaryKeys } = getTableConfig(table as SQLiteTable)
      const compositeKey = new Set(primaryKeys.flatMap((key) => key.columns.map((column) => column.name)))
      const actual = handle.db.all<ColumnInfo>(
        `SELECT name, type, "notnull", pk FROM pragma_table_info('${name}')`,
      )
      expect(actual.length).toBeGreaterThan(0)
      const expected = columns.map((c) => ({
        name: c.name,
        type: c.getSQLType().toUpperCase(),
        notnull: c.notNull || c.primary ? 1 : 0,
        pk: c.primary || compositeKey.has(c.name) ? 1 : 0,
      }))
      const normalise = (rows: ColumnInfo[]) =>
        rows
          .map((r) => ({ ...r, notnull: r.notnull || r.pk ? 1 : 0, pk: r.pk ? 1 : 0 }))
          .sort((a, b) => a.name.localeCompare(b.name))
      expect(normalise(actual)).toEqual(normalise(expected))
    },
  )
})

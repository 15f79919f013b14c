import { afterEach, describe, expect, test } from 'bun:test'
import { dbDrivers, openTestDatabase, type TestDatabase } from '../../support/databases'

// The ledger's hot paths use statement() directly, so both drivers must answer it the same way.
describe.each(dbDrivers)('prepared statements on %s', (driver) => {
  let handle: TestDatabase
  afterEach(() => handle.dispose())

  test('run, get and all take positional parameters; a missing row is undefined, not null', async () => {
    handle = await openTestDatabase(driver)
    handle.db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, note TEXT)')
    const insert = handle.db.statement('INSERT INTO t (id, name, note) VALUES (?, ?, ?)')
    insert.run(1, 'one', null)
    insert.run(2, 'two', 'second')
    const byId = handle.db.statement('SELECT id, name, note FROM t WHERE id = ?')
    expect(byId.get(1)).toEqual({ id: 1, name: 'one', note: null })
    expect(byId.get(3)).toBeUndefined()
    const from = handle.db.statement('SELECT name AS label FROM t WHERE id >= ? ORDER BY id')
    expect(from.all(1)).toEqual([{ label: 'one' }, { label: 'two' }])
    expect(from.all(3)).toEqual([])
  })

  test('a statement is prepared once and reused; RETURNING answers through get', async () => {
    handle = await openTestDatabase(driver)
    handle.db.exec('CREATE TABLE c (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)')
    handle.db.exec('INSERT INTO c VALUES (1, 0)')
    const bump = handle.db.statement('UPDATE c SET n = n + ? WHERE id = ? AND n + ? <= 10 RETURNING n')
    expect(bump.get(4, 1, 4)).toEqual({ n: 4 })
    expect(bump.get(4, 1, 4)).toEqual({ n: 8 })
    // The guard refuses: no row, and nothing changed.
    expect(bump.get(4, 1, 4)).toBeUndefined()
    expect(handle.db.all('SELECT n FROM c')).toEqual([{ n: 8 }])
  })
})

// Durability against power loss rests on these: an answered write has been fsynced (WAL, synchronous=FULL,
// so each commit syncs the WAL), and the database checks its foreign keys.
describe.each(dbDrivers)('connection pragmas on %s', (driver) => {
  let handle: TestDatabase
  afterEach(() => handle.dispose())

  test('WAL, synchronous=FULL, foreign keys on', async () => {
    handle = await openTestDatabase(driver)
    const [mode] = handle.db.all<{ journal_mode: string }>('PRAGMA journal_mode')
    const [sync] = handle.db.all<{ synchronous: number }>('PRAGMA synchronous')
    const [keys] = handle.db.all<{ foreign_keys: number }>('PRAGMA foreign_keys')
    expect({ mode: mode?.journal_mode, sync: sync?.synchronous, keys: keys?.foreign_keys }).toEqual({
      mode: 'wal',
      sync: 2,
      keys: 1,
    })
  })
})

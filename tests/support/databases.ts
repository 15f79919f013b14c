import { rmSync } from 'node:fs'
import type { DbDriver } from '../../src/config/settings'
import { dbDrivers } from '../../src/config/settings'
import { openDatabase } from '../../src/db/open'
import type { SqliteConnection } from '../../src/db/sqlite'
import { tempDir } from './ledgerd-process'

export { dbDrivers }

export interface TestDatabase {
  db: SqliteConnection
  dataDir: string
  reopen(): Promise<SqliteConnection>
  dispose(): void
}

/** A real SQLite file in a fresh temp dir, opened with the given driver. */
export async function openTestDatabase(driver: DbDriver): Promise<TestDatabase> {
  const dataDir = tempDir('ledgerd-db-')
  const config = { dataDir, dbDriver: driver, sqliteBusyTimeoutMs: 1000 }
  const handle: TestDatabase = {
    db: await openDatabase(config),
    dataDir,
    async reopen() {
      handle.db.close()
      handle.db = await openDatabase(config)
      return handle.db
    },
    dispose() {
      handle.db.close()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
  return handle
}

import { sqliteMigrations } from '../../../src/db/migrations/sqlite'
import { migrate } from '../../../src/db/migrator'
import { sqliteUsersRepository } from '../../../src/users/repository'
import { dbDrivers, openTestDatabase } from '../../support/databases'
import { describeUsersRepository, type UsersFixture } from './repository-contract'

// One process owns a SQLite database (the data dir lock), so its "replicas" are repositories over the
// same connection: the cross-replica cases hold trivially here, and must hold on PostgreSQL for real.
async function sqliteUsers(driver: (typeof dbDrivers)[number]): Promise<UsersFixture> {
  const handle = await openTestDatabase(driver)
  migrate(handle.db, sqliteMigrations)
  return {
    replica: (cache) => sqliteUsersRepository(handle.db, cache),
    async openAccount(ownerId, balance) {
      handle.db
        .statement(
          'INSERT INTO accounts (id, owner_id, currency, balance, created_at) VALUES (?, ?, ?, ?, ?)',
        )
        .run(Bun.randomUUIDv7(), ownerId, 'EUR', balance, Date.now())
    },
    dispose: async () => handle.dispose(),
  }
}

for (const driver of dbDrivers) describeUsersRepository(`SQLite (${driver})`, () => sqliteUsers(driver))

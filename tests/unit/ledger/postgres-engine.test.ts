import { ledgerDatabase } from '../../support/postgres-ledger'
import { describeLedgerEngine, type EngineFixture } from './engine-contract'

// The ledger engine contract, unchanged, against the PostgreSQL engine on a fresh database.
// PostgreSQL-specific behaviour (replicas, faults, purge across the fleet) is in postgres-replicas.test.ts.

describeLedgerEngine('PostgreSQL', async (): Promise<EngineFixture> => {
  const database = await ledgerDatabase()
  const { engine } = database.replica()
  return {
    engine,
    createUser: () => database.createUser(),
    deleteUser: (id) => database.deleteUser(id),
    dispose: () => database.dispose(),
  }
})

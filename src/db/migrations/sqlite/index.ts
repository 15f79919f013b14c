import instance from './0001_instance.sql' with { type: 'text' }
import users from './0002_users.sql' with { type: 'text' }
import ledger from './0003_ledger.sql' with { type: 'text' }
import leanLedger from './0004_lean_ledger.sql' with { type: 'text' }

// Every migration, in order. Imported as text so `bun build --compile` embeds them in the binary; a unit
// test checks this list against the .sql files in this folder, so a new file cannot be forgotten here.
export const sqliteMigrations = [
  { version: 1, name: 'instance', sql: instance },
  { version: 2, name: 'users', sql: users },
  { version: 3, name: 'ledger', sql: ledger },
  { version: 4, name: 'lean_ledger', sql: leanLedger },
] as const

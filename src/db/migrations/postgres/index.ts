import instance from './0001_instance.sql' with { type: 'text' }
import users from './0002_users.sql' with { type: 'text' }
import ledger from './0003_ledger.sql' with { type: 'text' }

// Every PostgreSQL migration, in order, embedded as text like SQLite's. The versions are PostgreSQL's own:
// the two engines' schemas differ (types, indexes), and each database records the list it was built from.
export const postgresMigrations = [
  { version: 1, name: 'instance', sql: instance },
  { version: 2, name: 'users', sql: users },
  { version: 3, name: 'ledger', sql: ledger },
] as const

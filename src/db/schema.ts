import { integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core'

// The drizzle view of the tables the migrations create. A unit test migrates a fresh database and checks
// that every table and column here exists there with the same type and nullability.

export const instance = sqliteTable('instance', {
  id: text('id').primaryKey(),
  createdAt: text('created_at').notNull(),
})

export const users = sqliteTable('users', {
  id: text('id').primaryKey(),
  email: text('email').notNull(),
  emailKey: text('email_key').notNull(),
  name: text('name').notNull(),
  passwordHash: text('password_hash'),
  role: text('role', { enum: ['user', 'admin'] }).notNull(),
  externalIssuer: text('external_issuer'),
  externalSubject: text('external_subject'),
  createdAt: text('created_at').notNull(),
  updatedAt: text('updated_at').notNull(),
  deletedAt: text('deleted_at'),
})

export const accounts = sqliteTable('accounts', {
  seq: integer('seq').primaryKey(),
  id: text('id').notNull(),
  ownerId: text('owner_id'),
  currency: text('currency').notNull(),
  balance: integer('balance').notNull(),
  head: integer('head'),
  createdAt: integer('created_at').notNull(),
  idemKey: text('idem_key'),
})

export const transactions = sqliteTable('transactions', {
  seq: integer('seq').primaryKey(),
  id: text('id').notNull(),
  kind: text('kind', { enum: ['deposit', 'withdrawal', 'transfer', 'reversal'] }).notNull(),
  amount: integer('amount').notNull(),
  currency: text('currency').notNull(),
  debitAccount: integer('debit_account').notNull(),
  debitBalance: integer('debit_balance'),
  debitPrev: integer('debit_prev'),
  creditAccount: integer('credit_account').notNull(),
  creditBalance: integer('credit_balance'),
  creditPrev: integer('credit_prev'),
  description: text('description'),
  reverses: integer('reverses'),
  createdBy: text('created_by').notNull(),
  createdAt: integer('created_at').notNull(),
  idemKey: text('idem_key'),
})

export const refusedCommands = sqliteTable(
  'refused_commands',
  {
    ownerId: text('owner_id').notNull(),
    idemKey: text('idem_key').notNull(),
    command: text('command'),
    code: text('code').notNull(),
    detail: text('detail'),
    requestId: text('request_id'),
    createdAt: integer('created_at').notNull(),
  },
  (table) => [primaryKey({ columns: [table.ownerId, table.idemKey] })],
)

export const ledgerMeta = sqliteTable('ledger_meta', {
  name: text('name').primaryKey(),
  value: integer('value').notNull(),
})

/** Written by the migrator itself (src/db/migrator.ts), read by readiness. */
export const ledgerdMigrations = sqliteTable('ledgerd_migrations', {
  version: integer('version').primaryKey(),
  name: text('name').notNull(),
  checksum: text('checksum').notNull(),
  appliedAt: text('applied_at').notNull(),
})

export const schema = {
  instance,
  users,
  accounts,
  transactions,
  refusedCommands,
  ledgerMeta,
  ledgerdMigrations,
}

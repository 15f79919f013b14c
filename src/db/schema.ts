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
  id: text('id').primaryKey(),
  ownerId: text('owner_id'),
  kind: text('kind', { enum: ['user', 'external'] }).notNull(),
  currency: text('currency').notNull(),
  balance: integer('balance').notNull(),
  createdAt: text('created_at').notNull(),
})

export const transactions = sqliteTable('transactions', {
  id: text('id').primaryKey(),
  kind: text('kind', { enum: ['deposit', 'withdrawal', 'transfer', 'reversal'] }).notNull(),
  amount: integer('amount').notNull(),
  currency: text('currency').notNull(),
  description: text('description'),
  reversesId: text('reverses_id'),
  createdBy: text('created_by').notNull(),
  createdAt: text('created_at').notNull(),
})

export const postings = sqliteTable('postings', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  transactionId: text('transaction_id').notNull(),
  accountId: text('account_id').notNull(),
  amount: integer('amount').notNull(),
  balanceAfter: integer('balance_after').notNull(),
})

export const idempotencyKeys = sqliteTable(
  'idempotency_keys',
  {
    ownerId: text('owner_id').notNull(),
    key: text('key').notNull(),
    fingerprint: text('fingerprint').notNull(),
    status: integer('status').notNull(),
    response: text('response').notNull(),
    transactionId: text('transaction_id'),
    createdAt: text('created_at').notNull(),
  },
  (table) => [primaryKey({ columns: [table.ownerId, table.key] })],
)

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
  postings,
  idempotencyKeys,
  ledgerdMigrations,
}

import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core'

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

/** Written by the migrator itself (src/db/migrator.ts), read by readiness. */
export const ledgerdMigrations = sqliteTable('ledgerd_migrations', {
  version: integer('version').primaryKey(),
  name: text('name').notNull(),
  checksum: text('checksum').notNull(),
  appliedAt: text('applied_at').notNull(),
})

export const schema = { instance, users, ledgerdMigrations }

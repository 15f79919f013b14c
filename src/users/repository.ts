import { and, asc, eq, gt, isNull, sql } from 'drizzle-orm'
import { users } from '../db/schema'
import type { SqliteConnection } from '../db/sqlite'
import { type LiveCacheOptions, liveUserCache } from './live-cache'
import type { Role, User } from './user'

export { liveUserCacheMs } from './live-cache'

export interface NewUser {
  email: string
  emailKey: string
  name: string
  passwordHash: string | null
  role: Role
}

export interface ExternalIdentity {
  issuer: string
  subject: string
  email: string
  name: string
}

export type DeleteOutcome = 'deleted' | 'not-found' | 'refused'

export interface UsersRepository {
  /** Undefined when a live user already has this email. */
  create(user: NewUser): Promise<User | undefined>
  /** Live users only: a deleted user is not found. */
  findById(id: string): Promise<User | undefined>
  findCredentials(emailKey: string): Promise<{ user: User; passwordHash: string | null } | undefined>
  /** The user an external identity maps to, created on first sight; undefined once that user is deleted. */
  findOrCreateExternal(identity: ExternalIdentity): Promise<User | undefined>
  /** Live users ordered by id, after the given id. */
  list(after: string | undefined, limit: number): Promise<User[]>
  updateName(id: string, name: string): Promise<User | undefined>
  /**
   * Marks the user deleted and frees the email, in one write that refuses while any of the user's
   * accounts holds money (credit or debt): a deleted user cannot withdraw it.
   */
  delete(id: string): Promise<DeleteOutcome>
  /** Whether the user exists and is not deleted; answered from a short-lived cache (the hot path). */
  isLive(id: string): Promise<boolean>
}

const columns = {
  id: users.id,
  email: users.email,
  name: users.name,
  role: users.role,
  createdAt: users.createdAt,
  updatedAt: users.updatedAt,
}

const live = isNull(users.deletedAt)
/** The delete's guard, evaluated inside its UPDATE: checked and written under one write lock. */
const holdsNoMoney = sql`NOT EXISTS (SELECT 1 FROM accounts WHERE accounts.owner_id = users.id AND accounts.balance <> 0)`
const now = () => new Date().toISOString()

export function sqliteUsersRepository(
  db: SqliteConnection,
  cache?: LiveCacheOptions,
): UsersRepository & { forgetLive(id: string): void } {
  const { orm } = db
  const p = sql.placeholder
  // Prepared once: an unprepared drizzle query costs about 2.5x on the hot path (principal look-up).
  const insert = orm
    .insert(users)
    .values({
      id: p('id'),
      email: p('email'),
      emailKey: p('emailKey'),
      name: p('name'),
      passwordHash: p('passwordHash'),
      role: p('role'),
      externalIssuer: p('externalIssuer'),
      externalSubject: p('externalSubject'),
      createdAt: p('now'),
      updatedAt: p('now'),
    })
    .onConflictDoNothing()
    .returning(columns)
    .prepare()
  const byId = orm
    .select(columns)
    .from(users)
    .where(and(eq(users.id, p('id')), live))
    .prepare()
  const credentials = orm
    .select({ ...columns, passwordHash: users.passwordHash })
    .from(users)
    .where(and(eq(users.emailKey, p('emailKey')), live))
    .prepare()
  const byExternal = orm
    .select(columns)
    .from(users)
    .where(and(eq(users.externalIssuer, p('issuer')), eq(users.externalSubject, p('subject')), live))
    .prepare()
  const page = orm
    .select(columns)
    .from(users)
    .where(and(gt(users.id, p('after')), live))
    .orderBy(asc(users.id))
    .limit(p('limit'))
    .prepare()
  const rename = orm
    .update(users)
    .set({ name: sql`${p('name')}`, updatedAt: sql`${p('now')}` })
    .where(and(eq(users.id, p('id')), live))
    .returning(columns)
    .prepare()
  const remove = orm
    .update(users)
    .set({ deletedAt: sql`${p('now')}`, updatedAt: sql`${p('now')}` })
    .where(and(eq(users.id, p('id')), live, holdsNoMoney))
    .returning({ id: users.id })
    .prepare()

  const liveUsers = liveUserCache(cache)

  const insertRow = (user: NewUser, external?: ExternalIdentity) =>
    insert.get({
      id: Bun.randomUUIDv7(),
      ...user,
      externalIssuer: external?.issuer ?? null,
      externalSubject: external?.subject ?? null,
      now: now(),
    }) as User | undefined

  return {
    async create(user) {
      return insertRow(user)
    },
    async findById(id) {
      return byId.get({ id }) as User | undefined
    },
    async findCredentials(emailKey) {
      const row = credentials.get({ emailKey })
      if (!row) return undefined
      const { passwordHash, ...user } = row
      return { user: user as User, passwordHash }
    },
    async findOrCreateExternal(identity) {
      const key = { issuer: identity.issuer, subject: identity.subject }
      const existing = byExternal.get(key) as User | undefined
      if (existing) return existing
      // The email may already belong to a local user; the external user then gets a placeholder email key
      // so both can exist. Two first requests racing: the loser's insert does nothing and it reads the row.
      // A deleted external user is not re-created: the unique (issuer, subject) index makes the insert a
      // no-op, the read finds no live row, and the token is refused.
      const created = db.immediate(() => {
        const taken = credentials.get({ emailKey: identity.email.toLowerCase() })
        const emailKeyForRow =
          taken || !identity.email
            ? `external:${identity.issuer}:${identity.subject}`
            : identity.email.toLowerCase()
        return insertRow(
          {
            email: identity.email,
            emailKey: emailKeyForRow,
            name: identity.name,
            passwordHash: null,
            role: 'user',
          },
          identity,
        )
      })
      return created ?? (byExternal.get(key) as User | undefined)
    },
    async list(after, limit) {
      return page.all({ after: after ?? '', limit }) as User[]
    },
    async updateName(id, name) {
      return rename.get({ id, name, now: now() }) as User | undefined
    },
    async delete(id) {
      liveUsers.forget(id)
      return db.immediate(() => {
        if (remove.get({ id, now: now() }) !== undefined) return 'deleted'
        return byId.get({ id }) === undefined ? 'not-found' : 'refused'
      })
    },
    /** For a delete written through another connection (off-thread-writes.ts). */
    forgetLive(id) {
      liveUsers.forget(id)
    },
    async isLive(id) {
      if (liveUsers.has(id)) return true
      const live = byId.get({ id }) !== undefined
      liveUsers.note(id, live)
      return live
    },
  }
}

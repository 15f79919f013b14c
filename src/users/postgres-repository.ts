import type { Sql } from '../db/postgres/connection'
import { orUnavailable } from '../db/postgres/unavailable'
import { type LiveCacheOptions, liveUserCache } from './live-cache'
import type { DeleteOutcome, ExternalIdentity, NewUser, UsersRepository } from './repository'
import type { User } from './user'

const now = () => new Date().toISOString()

/** The email key an external user gets when its email is missing or already a live user's. */
const placeholderKey = (identity: ExternalIdentity) => `external:${identity.issuer}:${identity.subject}`

/**
 * Users on PostgreSQL, answering exactly as sqliteUsersRepository does (the contract suite in
 * tests/unit/users runs both). Several replicas share the database, so every "create unless taken" is
 * one INSERT ... ON CONFLICT DO NOTHING that the unique indexes arbitrate, never a read then a write.
 * Tagged queries are prepared by postgres.js on each connection on first use.
 */
export function postgresUsersRepository(sql: Sql, cache?: LiveCacheOptions): UsersRepository {
  const columns = sql`id, email, name, role, created_at AS "createdAt", updated_at AS "updatedAt"`
  const liveUsers = liveUserCache(cache)

  const insertRow = async (user: NewUser, external?: ExternalIdentity): Promise<User | undefined> => {
    const at = now()
    const [row] = await sql<User[]>`
      INSERT INTO users (id, email, email_key, name, password_hash, role, external_issuer, external_subject,
                         created_at, updated_at)
      VALUES (${Bun.randomUUIDv7()}, ${user.email}, ${user.emailKey}, ${user.name}, ${user.passwordHash},
              ${user.role}, ${external?.issuer ?? null}, ${external?.subject ?? null}, ${at}, ${at})
      ON CONFLICT DO NOTHING
      RETURNING ${columns}`
    return row
  }

  /** The identity's user if it has one, live or not: a deleted external user is not made again. */
  const externalUser = async (identity: ExternalIdentity) => {
    const [row] = await sql<(User & { deleted: boolean })[]>`
      SELECT ${columns}, deleted_at IS NOT NULL AS deleted FROM users
      WHERE external_issuer = ${identity.issuer} AND external_subject = ${identity.subject}`
    if (!row) return undefined
    const { deleted, ...user } = row
    return { user: deleted ? undefined : user }
  }

  const liveById = async (id: string) => {
    const [row] = await sql<User[]>`SELECT ${columns} FROM users WHERE id = ${id} AND deleted_at IS NULL`
    return row
  }

  return {
    create: (user) => orUnavailable(insertRow(user)),
    findById: (id) => orUnavailable(liveById(id)),
    findCredentials: (emailKey) =>
      orUnavailable(
        (async () => {
          const [row] = await sql<(User & { passwordHash: string | null })[]>`
            SELECT ${columns}, password_hash AS "passwordHash" FROM users
            WHERE email_key = ${emailKey} AND deleted_at IS NULL`
          if (!row) return undefined
          const { passwordHash, ...user } = row
          return { user, passwordHash }
        })(),
      ),
    findOrCreateExternal: (identity) =>
      orUnavailable(
        (async () => {
          const known = await externalUser(identity)
          if (known) return known.user
          // First sight: take the email as the key when it is free. An insert that does nothing lost to a
          // live user holding the email, or to another replica creating this identity at the same moment;
          // the SQLite version tells these apart inside one write lock, here the unique indexes do. The
          // placeholder key belongs to this identity alone, so its insert can only lose to that replica,
          // and then the re-read finds the one user both replicas agree on.
          const email = identity.email.toLowerCase()
          const row = (emailKey: string) =>
            insertRow(
              { email: identity.email, emailKey, name: identity.name, passwordHash: null, role: 'user' },
              identity,
            )
          const created = (email ? await row(email) : undefined) ?? (await row(placeholderKey(identity)))
          return created ?? (await externalUser(identity))?.user
        })(),
      ),
    list: (after, limit) =>
      orUnavailable(sql<User[]>`
        SELECT ${columns} FROM users WHERE id > ${after ?? ''} AND deleted_at IS NULL
        ORDER BY id LIMIT ${limit}`).then((rows) => [...rows]),
    updateName: (id, name) =>
      orUnavailable(
        sql<User[]>`
          UPDATE users SET name = ${name}, updated_at = ${now()} WHERE id = ${id} AND deleted_at IS NULL
          RETURNING ${columns}`,
      ).then(([row]) => row),
    async delete(id) {
      liveUsers.forget(id)
      const at = now()
      // A transfer reads its destination user FOR SHARE inside its transaction (ledger/postgres/
      // commands.ts), which conflicts with this FOR UPDATE. Transfer first: the lock waits for its
      // commit, and the guarded UPDATE, a new statement with a new snapshot under READ COMMITTED, sees
      // the money and refuses. Delete first: the transfer's FOR SHARE waits for this commit, then
      // re-reads the row, finds it deleted and refuses. The lock must be a statement of its own: an
      // UPDATE that waits for a row lock re-checks only that row, its NOT EXISTS keeps the old snapshot.
      const outcome = await orUnavailable(
        sql.begin(async (tx): Promise<DeleteOutcome> => {
          const [user] = await tx`SELECT 1 FROM users WHERE id = ${id} AND deleted_at IS NULL FOR UPDATE`
          if (!user) return 'not-found'
          const rows = await tx`
            UPDATE users SET deleted_at = ${at}, updated_at = ${at}
            WHERE id = ${id} AND deleted_at IS NULL
              AND NOT EXISTS (SELECT 1 FROM accounts WHERE owner_id = users.id AND balance <> 0)
            RETURNING id`
          return rows.length > 0 ? 'deleted' : 'refused'
        }),
      )
      liveUsers.forget(id)
      return outcome
    },
    async isLive(id) {
      if (liveUsers.has(id)) return true
      const live = (await orUnavailable(liveById(id))) !== undefined
      liveUsers.note(id, live)
      return live
    },
  }
}

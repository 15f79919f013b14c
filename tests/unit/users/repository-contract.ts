import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { LiveCacheOptions } from '../../../src/users/live-cache'
import { liveUserCacheMs } from '../../../src/users/live-cache'
import type { ExternalIdentity, NewUser, UsersRepository } from '../../../src/users/repository'
import { emailKey } from '../../../src/users/user'

// What every users repository must do, SQLite today and PostgreSQL for scale-out. An engine's test file
// calls describeUsersRepository with a way to open its database; these run unchanged on each.

export interface UsersFixture {
  /**
   * A repository over the fixture's one database, as a new replica sees it: on PostgreSQL its own pool,
   * on SQLite (one process per database) another repository over the same connection.
   */
  replica(cache?: LiveCacheOptions): UsersRepository
  /** Opens an account for the user holding `balance` (written straight into the accounts table). */
  openAccount(ownerId: string, balance: number): Promise<void>
  dispose(): Promise<void>
}

const uuidV7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
const isoTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

let emails = 0
/** A new user with an email no other test uses (the fixture's database is shared by the whole suite). */
function newUser(overrides: Partial<NewUser> & { email?: string } = {}): NewUser {
  const email = overrides.email ?? `user${++emails}-${crypto.randomUUID().slice(0, 8)}@example.com`
  return {
    email,
    emailKey: emailKey(email),
    name: 'Ann Example',
    passwordHash: '$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA',
    role: 'user',
    ...overrides,
  }
}

let subjects = 0
const identity = (overrides: Partial<ExternalIdentity> = {}): ExternalIdentity => ({
  issuer: 'https://idp.example.com/realms/ledgerd',
  subject: `subject-${++subjects}-${crypto.randomUUID()}`,
  email: `external${subjects}-${crypto.randomUUID().slice(0, 8)}@example.com`,
  name: 'Ext Ernal',
  ...overrides,
})

function fakeClock(start = Date.now()) {
  let now = start
  return { now: () => now, advance: (ms: number) => (now += ms) }
}

export function describeUsersRepository(name: string, open: () => Promise<UsersFixture>) {
  describe(`users repository contract: ${name}`, () => {
    let fixture: UsersFixture
    let users: UsersRepository
    // The first PostgreSQL fixture of a test process starts the server (initdb): seconds on a busy machine.
    beforeAll(async () => {
      fixture = await open()
      users = fixture.replica()
    }, 60_000)
    afterAll(() => fixture.dispose())

    const create = async (overrides: Partial<NewUser> = {}) => {
      const user = await users.create(newUser(overrides))
      if (!user) throw new Error('create refused a fresh email')
      return user
    }

    test('create returns the user: UUIDv7 id, ISO-8601 times, the email as typed; findById reads it', async () => {
      const input = newUser({ email: 'Ann.Mixed@Example.COM', name: 'Änn 🧾 Ñame' })
      const user = await users.create(input)
      expect(user).toEqual({
        id: expect.stringMatching(uuidV7),
        email: 'Ann.Mixed@Example.COM',
        name: 'Änn 🧾 Ñame',
        role: 'user',
        createdAt: expect.stringMatching(isoTime),
        updatedAt: expect.stringMatching(isoTime),
      })
      expect(user?.createdAt).toBe(user?.updatedAt as string)
      expect(await users.findById(user?.id as string)).toEqual(user)
      expect(await users.findById('00000000-0000-7000-8000-000000000000')).toBeUndefined()
      expect(await users.findById('not-an-id')).toBeUndefined()
    })

    test('an admin is created as one', async () => {
      expect((await create({ role: 'admin' })).role).toBe('admin')
    })

    test('a live email is taken whatever its case; deleting the user frees it for a new user', async () => {
      const first = await create({ email: 'Case.Test@example.com' })
      expect(await users.create(newUser({ email: 'case.test@EXAMPLE.com' }))).toBeUndefined()
      expect(await users.delete(first.id)).toBe('deleted')
      const second = await create({ email: 'case.test@EXAMPLE.com' })
      expect(second.id).not.toBe(first.id)
      expect(second.email).toBe('case.test@EXAMPLE.com')
    })

    test('findCredentials finds a live user by email key, with the password hash', async () => {
      const input = newUser()
      const user = await create(input)
      expect(await users.findCredentials(input.emailKey)).toEqual({ user, passwordHash: input.passwordHash })
      expect(await users.findCredentials(`nobody-${input.emailKey}`)).toBeUndefined()
      await users.delete(user.id)
      expect(await users.findCredentials(input.emailKey)).toBeUndefined()
    })

    test('updateName renames a live user and moves updatedAt, never createdAt', async () => {
      const user = await create()
      await Bun.sleep(2) // times are milliseconds: a rename in the same one would look untouched
      const renamed = await users.updateName(user.id, 'Bea Renamed')
      expect(renamed).toMatchObject({ id: user.id, name: 'Bea Renamed', createdAt: user.createdAt })
      expect((renamed?.updatedAt ?? '') > user.createdAt).toBe(true)
      expect(await users.findById(user.id)).toEqual(renamed)
      await users.delete(user.id)
      expect(await users.updateName(user.id, 'Ghost')).toBeUndefined()
      expect(await users.updateName('00000000-0000-7000-8000-000000000000', 'Nobody')).toBeUndefined()
    })

    test('delete answers deleted once, then not-found; a deleted user is not found', async () => {
      const user = await create()
      expect(await users.delete(user.id)).toBe('deleted')
      expect(await users.delete(user.id)).toBe('not-found')
      expect(await users.findById(user.id)).toBeUndefined()
      expect(await users.delete('00000000-0000-7000-8000-000000000000')).toBe('not-found')
    })

    test('delete refuses while any account holds money and the user stays live; empty accounts do not stop it', async () => {
      const user = await create()
      await fixture.openAccount(user.id, 0)
      await fixture.openAccount(user.id, 1)
      expect(await users.delete(user.id)).toBe('refused')
      expect(await users.findById(user.id)).toEqual(user)
      expect(await fixture.replica().isLive(user.id)).toBe(true)
      const empty = await create()
      await fixture.openAccount(empty.id, 0)
      expect(await users.delete(empty.id)).toBe('deleted')
    })

    test('list pages live users by id in byte order, after the given id', async () => {
      const [a, b, c, d] = [await create(), await create(), await create(), await create()]
      await users.delete(b.id)
      const ids = (await users.list(undefined, 10_000)).map((user) => user.id)
      // Byte order (what SQLite compares), not a locale's: UUIDv7 ids in it are creation order.
      expect(ids).toEqual([...ids].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)))
      expect(ids).toContain(a.id)
      expect(ids).not.toContain(b.id)
      expect(await users.list(a.id, 2)).toEqual([c, d])
      expect(await users.list(d.id, 10)).toEqual([])
    })

    test('an external identity becomes one user on first sight, keyed by its email', async () => {
      const seen = identity({ email: 'Ext.Person@Example.com' })
      const user = await users.findOrCreateExternal(seen)
      expect(user).toMatchObject({ id: expect.stringMatching(uuidV7), email: 'Ext.Person@Example.com' })
      expect(await users.findOrCreateExternal(seen)).toEqual(user)
      // It holds its email: a local sign-up with it is refused, and its credentials have no password.
      expect(await users.create(newUser({ email: 'ext.person@example.com' }))).toBeUndefined()
      expect(await users.findCredentials('ext.person@example.com')).toEqual({
        user: user as NonNullable<typeof user>,
        passwordHash: null,
      })
    })

    test("an external identity whose email is a local user's gets a user of its own; the local one keeps the email", async () => {
      const local = await create({ email: 'shared@example.org' })
      const external = await users.findOrCreateExternal(identity({ email: 'Shared@example.org' }))
      expect(external).toMatchObject({ email: 'Shared@example.org' })
      expect(external?.id).not.toBe(local.id)
      expect((await users.findCredentials('shared@example.org'))?.user).toEqual(local)
      // Two such identities do not collide with each other either.
      const another = await users.findOrCreateExternal(identity({ email: 'shared@example.org' }))
      expect(another?.id).not.toBe(external?.id)
    })

    test('an external identity without an email is created with an empty one, as often as needed', async () => {
      const first = await users.findOrCreateExternal(identity({ email: '' }))
      const second = await users.findOrCreateExternal(identity({ email: '' }))
      expect(first).toMatchObject({ email: '' })
      expect(second).toMatchObject({ email: '' })
      expect(second?.id).not.toBe(first?.id)
    })

    test('a deleted external user is not made again: its identity maps to nobody', async () => {
      const seen = identity()
      const user = await users.findOrCreateExternal(seen)
      expect(await users.delete(user?.id as string)).toBe('deleted')
      expect(await users.findOrCreateExternal(seen)).toBeUndefined()
      expect(await fixture.replica().findOrCreateExternal(seen)).toBeUndefined()
    })

    test('isLive: true for a live user, false for an unknown or deleted one, at once on the deleting replica', async () => {
      const user = await create()
      expect(await users.isLive(user.id)).toBe(true)
      expect(await users.isLive('00000000-0000-7000-8000-000000000000')).toBe(false)
      await users.delete(user.id)
      expect(await users.isLive(user.id)).toBe(false)
    })

    test('a user deleted on one replica stops being live on another within the cache time', async () => {
      const clock = fakeClock()
      const deleter = fixture.replica()
      const other = fixture.replica({ now: clock.now })
      const user = await create()
      expect(await other.isLive(user.id)).toBe(true) // now cached on the other replica
      await deleter.delete(user.id)
      clock.advance(liveUserCacheMs + 1)
      expect(await other.isLive(user.id)).toBe(false)
      // A replica that had not cached it knows at once.
      expect(await fixture.replica().isLive(user.id)).toBe(false)
    })

    test('two replicas signing up the same email at once, in different cases: exactly one wins', async () => {
      const [a, b] = [fixture.replica(), fixture.replica()]
      const base = `race-${crypto.randomUUID().slice(0, 8)}@example.com`
      const variants = [base, base.toUpperCase(), `Race${base.slice(4)}`, base.replace('example', 'EXAMPLE')]
      const attempts = Array.from({ length: 12 }, (_, i) => {
        const email = variants[i % variants.length] as string
        return (i % 2 ? a : b).create(newUser({ email }))
      })
      const created = (await Promise.all(attempts)).filter((user) => user !== undefined)
      expect(created).toHaveLength(1)
      expect((await users.findCredentials(base))?.user).toEqual(
        created[0] as NonNullable<(typeof created)[0]>,
      )
    })

    test('two replicas seeing a new external identity at once make one user', async () => {
      const [a, b] = [fixture.replica(), fixture.replica()]
      const seen = identity()
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).findOrCreateExternal(seen)),
      )
      const ids = new Set(results.map((user) => user?.id))
      expect(ids.size).toBe(1)
      expect([...ids][0]).toMatch(uuidV7)
    })

    test('a sign-up racing a new external identity with the same email: both get a user, one holds the email', async () => {
      const [a, b] = [fixture.replica(), fixture.replica()]
      const email = `contested-${crypto.randomUUID().slice(0, 8)}@example.com`
      const [local, external] = await Promise.all([
        a.create(newUser({ email })),
        b.findOrCreateExternal(identity({ email: email.toUpperCase() })),
      ])
      expect(external).toBeDefined()
      const holder = (await users.findCredentials(email))?.user
      // Whoever committed first holds the key; a local sign-up that lost is refused, never an error.
      expect(holder?.id).toBe((local ?? external)?.id as string)
    })
  })
}

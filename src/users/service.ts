import type { LoginThrottle } from '../auth/login-throttle'
import { hashPassword, reservePasswordHash } from '../auth/passwords'
import { type Principal, requireSelfOrAdmin } from '../auth/principal'
import type { SignupMode } from '../config/settings'
import { HttpProblem } from '../http/problem'
import type { Account } from '../ledger/engine'
import type { UsersRepository } from './repository'
import { emailKey, type Role, type User } from './user'

export interface NewUserInput {
  email: string
  name: string
  password: string
}

export async function createUser(
  users: UsersRepository,
  input: NewUserInput,
  role: Role = 'user',
  hash: (password: string) => Promise<string> = hashPassword,
): Promise<User> {
  const created = await users.create({
    email: input.email.trim(),
    emailKey: emailKey(input.email),
    name: input.name,
    passwordHash: await hash(input.password),
    role,
  })
  if (!created) throw new HttpProblem('email-taken', 'Sign in instead, or use another email.')
  return created
}

/**
 * A public sign-up. Counted per client address before the password is hashed, so a flood costs one
 * in-memory (or one indexed) count per request, not 20 ms of argon2 each. Before even that, it takes
 * its place in the hashing queue: a burst past what argon2 can run and queue gets 503 without touching
 * the database, where its counts would hold the pool's connections ahead of every login.
 */
export async function signUp(
  users: UsersRepository,
  signup: SignupMode,
  input: NewUserInput,
  limit?: { signupsByClient: LoginThrottle; clientAddress: string },
): Promise<User> {
  if (signup === 'closed') throw new HttpProblem('signup-closed', 'Ask an administrator to create your user.')
  const place = reservePasswordHash()
  try {
    const wait = limit ? await limit.signupsByClient.attempt(limit.clientAddress) : 0
    if (wait > 0) {
      const seconds = Math.max(1, Math.ceil(wait / 1000))
      throw new HttpProblem(
        'too-many-signups',
        `Retry in ${seconds} s.`,
        {},
        { 'retry-after': String(seconds) },
      )
    }
    return await createUser(users, input, 'user', place.hash)
  } finally {
    place.release()
  }
}

export async function getUser(users: UsersRepository, principal: Principal, id: string): Promise<User> {
  requireSelfOrAdmin(principal, id)
  const user = await users.findById(id)
  if (!user) throw new HttpProblem('not-found')
  return user
}

export async function renameUser(users: UsersRepository, principal: Principal, name: string): Promise<User> {
  const user = await users.updateName(principal.userId, name)
  if (!user) throw new HttpProblem('not-found')
  return user
}

/** A user's accounts, ordered by id, after the given id: the ledger's listing. */
export type AccountsOf = (ownerId: string, afterId: string | undefined, limit: number) => Promise<Account[]>

async function accountsHoldingMoney(accountsOf: AccountsOf, ownerId: string): Promise<Account[]> {
  const holding: Account[] = []
  for (let after: string | undefined, page: Account[]; ; after = page.at(-1)?.id) {
    page = await accountsOf(ownerId, after, 500)
    holding.push(...page.filter((account) => account.balance !== 0))
    if (page.length < 500) return holding
  }
}

/**
 * Deletes a user, refused (409, naming them) while any of its accounts holds money, credit or debt:
 * a deleted user can no longer withdraw, so the money would be stranded.
 */
export async function deleteUser(
  users: UsersRepository,
  principal: Principal,
  id: string,
  accountsOf?: AccountsOf,
): Promise<void> {
  requireSelfOrAdmin(principal, id)
  // Checked first for the 409's body (which accounts); the delete itself refuses atomically, so money
  // that arrives after this check (a transfer racing the delete) is refused there, answered the same way.
  const holding = accountsOf ? await accountsHoldingMoney(accountsOf, id) : []
  if (holding.length > 0) throw balanceNotZero(holding)
  const outcome = await users.delete(id)
  if (outcome === 'not-found') throw new HttpProblem('not-found')
  if (outcome === 'refused')
    throw balanceNotZero(accountsOf ? await accountsHoldingMoney(accountsOf, id) : [])
}

function balanceNotZero(holding: Account[]): HttpProblem {
  const ids = holding.map((account) => account.id).join(', ')
  return new HttpProblem(
    'balance-not-zero',
    ids
      ? `Withdraw or transfer the balance of ${ids}, then delete.`
      : 'Withdraw or transfer every balance, then delete.',
    {
      accounts: holding.map(({ id, currency, balance }) => ({ id, currency, balance })),
      errors: [{ field: 'id', in: 'params', message: 'this user has accounts with a non-zero balance' }],
    },
  )
}

/** Live users ordered by id, after the given id. */
export function listUsers(users: UsersRepository, after: string | undefined, limit: number): Promise<User[]> {
  return users.list(after, limit)
}

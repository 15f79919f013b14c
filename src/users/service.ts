import type { LoginThrottle } from '../auth/login-throttle'
import { hashPassword } from '../auth/passwords'
import { type Principal, requireSelfOrAdmin } from '../auth/principal'
import type { SignupMode } from '../config/settings'
import { HttpProblem } from '../http/problem'
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
): Promise<User> {
  const created = await users.create({
    email: input.email.trim(),
    emailKey: emailKey(input.email),
    name: input.name,
    passwordHash: await hashPassword(input.password),
    role,
  })
  if (!created) throw new HttpProblem('email-taken', 'Sign in instead, or use another email.')
  return created
}

/**
 * A public sign-up. Counted per client address before the password is hashed, so a flood costs one
 * in-memory (or one indexed) count per request, not 20 ms of argon2 each.
 */
export async function signUp(
  users: UsersRepository,
  signup: SignupMode,
  input: NewUserInput,
  limit?: { signupsByClient: LoginThrottle; clientAddress: string },
): Promise<User> {
  if (signup === 'closed') throw new HttpProblem('signup-closed', 'Ask an administrator to create your user.')
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
  return createUser(users, input)
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

export async function deleteUser(users: UsersRepository, principal: Principal, id: string): Promise<void> {
  requireSelfOrAdmin(principal, id)
  if (!(await users.delete(id))) throw new HttpProblem('not-found')
}

/** Live users ordered by id, after the given id. */
export function listUsers(users: UsersRepository, after: string | undefined, limit: number): Promise<User[]> {
  return users.list(after, limit)
}

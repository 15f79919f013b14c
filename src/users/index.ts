import { Elysia } from 'elysia'
import type { LoginThrottle } from '../auth/login-throttle'
import { hashingFull, passwordWorkBusy } from '../auth/passwords'
import { type AuthPlugin, bearerSecurity } from '../auth/plugin'
import type { SignupMode } from '../config/settings'
import { idParams, uuidPattern } from '../http/ids'
import { decodeCursor, page, pageLimit, pageQuery } from '../http/pagination'
import { requestContext } from '../http/request-context'
import { usersModel } from './model'
import type { UsersRepository } from './repository'
import { type AccountsOf, deleteUser, getUser, listUsers, renameUser, signUp } from './service'
import { userView } from './user'

const tags = ['users']

/**
 * A sign-up that would only be told "busy" after its body was read, parsed and checked: told at once
 * instead (the platform's load shedding, src/http/handler.ts), so a flood of them costs as little as a
 * request can. Same answer as a sign-up refused at the queue.
 */
export const shedSignUps = (method: string, path: string) =>
  method === 'POST' && path === '/v1/users' && hashingFull()
    ? { route: '/v1/users', problem: passwordWorkBusy }
    : undefined

export function usersRoutes({
  auth,
  users,
  signup,
  signupsByClient,
  ledger,
}: {
  auth: AuthPlugin
  users: UsersRepository
  signup: SignupMode
  signupsByClient?: LoginThrottle
  /** Where a user's balances are read before deleting it; none: deletion does not check (tests). */
  ledger?: { listAccounts: AccountsOf }
}) {
  return new Elysia({ name: 'users' })
    .use(auth)
    .model(usersModel)
    .post(
      '/v1/users',
      async ({ body, request, set }) => {
        const clientAddress = requestContext(request)?.clientAddress ?? 'unknown'
        const user = await signUp(users, signup, body, signupsByClient && { signupsByClient, clientAddress })
        set.status = 201
        set.headers.location = `/v1/users/${user.id}`
        return userView(user)
      },
      {
        body: 'SignUp',
        response: { 201: 'User' },
        detail: {
          tags,
          summary: 'Sign up',
          description:
            'Public unless the server runs with --signup closed. Past --signup-max-per-client sign-ups ' +
            'from one client address in an hour: 429 with Retry-After; while too many passwords are ' +
            'being hashed: 503 with Retry-After.',
        },
      },
    )
    .get(
      '/v1/users/me',
      async ({ principal }) => userView(await getUser(users, principal, principal.userId)),
      { auth: 'user', response: 'User', detail: { tags, summary: 'Your profile', security: bearerSecurity } },
    )
    .patch(
      '/v1/users/me',
      async ({ principal, body }) => userView(await renameUser(users, principal, body.name)),
      {
        auth: 'user',
        body: 'ProfileUpdate',
        response: 'User',
        detail: { tags, summary: 'Change your name', security: bearerSecurity },
      },
    )
    .get(
      '/v1/users',
      async ({ query }) => {
        const limit = pageLimit(query.limit)
        const rows = await listUsers(users, decodeCursor(query.cursor, uuidPattern), limit + 1)
        const { items, nextCursor } = page(rows, limit, (user) => user.id)
        return { items: items.map(userView), nextCursor }
      },
      {
        auth: 'admin',
        query: pageQuery,
        response: 'UserPage',
        detail: { tags, summary: 'List users (admin)', security: bearerSecurity },
      },
    )
    .get(
      '/v1/users/:id',
      async ({ principal, params }) => userView(await getUser(users, principal, params.id)),
      {
        auth: 'user',
        params: idParams,
        response: 'User',
        detail: { tags, summary: 'A user (admin, or yourself)', security: bearerSecurity },
      },
    )
    .delete(
      '/v1/users/:id',
      async ({ principal, params, set }) => {
        await deleteUser(users, principal, params.id, ledger?.listAccounts)
        set.status = 204
      },
      {
        auth: 'user',
        params: idParams,
        detail: {
          tags,
          summary: 'Delete a user (admin, or yourself)',
          description:
            "The user's tokens stop working at once; the email becomes free. Refused (409 balance-not-zero, " +
            'listing them) while any of its accounts has a non-zero balance.',
          security: bearerSecurity,
        },
      },
    )
}

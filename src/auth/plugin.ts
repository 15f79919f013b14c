import { Elysia } from 'elysia'
import { HttpProblem } from '../http/problem'
import type { Authenticator } from './authenticator'

/** OpenAPI: marks an operation as needing a bearer token (scheme defined in src/docs). */
export const bearerSecurity = [{ bearer: [] as string[] }]

/**
 * Per-route authentication: `{ auth: 'user' }` or `{ auth: 'admin' }` on a route resolves `principal`
 * before the handler runs, or answers 401 (no or bad token) or 403 (valid token without the role).
 */
export function authPlugin(authenticate: Authenticator) {
  return new Elysia({ name: 'auth' }).macro({
    auth: (required: 'user' | 'admin') => ({
      async resolve({ request }) {
        const principal = await authenticate(request.headers.get('authorization'))
        if (required === 'admin' && !principal.isAdmin) {
          throw new HttpProblem(
            'forbidden',
            'This needs the admin role.',
            {},
            {
              'www-authenticate': 'Bearer realm="ledgerd", error="insufficient_scope"',
            },
          )
        }
        return { principal }
      },
    }),
  })
}

export type AuthPlugin = ReturnType<typeof authPlugin>

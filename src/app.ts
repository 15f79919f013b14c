import { Elysia } from 'elysia'
import { authRoutes, type TokenEndpoint } from './auth'
import type { LoginThrottle } from './auth/login-throttle'
import type { AuthPlugin } from './auth/plugin'
import { avatarFilesRoutes, avatarsRoutes } from './avatars'
import type { LocalAvatarStore } from './avatars/local-store'
import type { AvatarStoreAccess } from './avatars/service'
import type { SignupMode } from './config/settings'
import type { DatabaseUnavailableError } from './db/unavailable'
import { docs } from './docs'
import type { CorsPolicy } from './http/cors'
import { claimStringFormats } from './http/formats'
import { AllowedMethods } from './http/methods'
import { platform } from './http/platform'
import { ledgerRoutes } from './ledger'
import type { Ledger } from './ledger/service'
import { meta } from './meta'
import type { Logger } from './observability/logger'
import { problems } from './problems'
import { usersRoutes } from './users'
import type { UsersRepository } from './users/repository'

export interface AppDependencies {
  logger: Logger
  bodyLimitBytes: number
  publicUrl: string
  /** --meta-exact-version: GET /v1/meta shows the exact version and commit. */
  metaExactVersion?: boolean
  /** CORS preflights (off when it lists no origins). */
  cors?: CorsPolicy
  auth: AuthPlugin
  tokens: TokenEndpoint
  users: UsersRepository
  signup: SignupMode
  /** Sign-ups counted per client address; none: unlimited (tests that build the app themselves). */
  signupsByClient?: LoginThrottle
  ledger: Ledger
  avatars: AvatarStoreAccess
  avatarMaxBytes: number
  /** Set when avatars are kept in the data dir: ledgerd then answers the URLs it signs. */
  avatarFiles?: LocalAvatarStore
  /** Told of every request answered 503 because the database was unavailable (for the metric). */
  databaseFault?: (error: DatabaseUnavailableError) => void
}

/**
 * Options of the API's root instance, whose compiled handlers serve every route. encodeSchema: false
 * skips TypeBox's Encode on each response: no response schema here transforms a value on the way out
 * (t.Integer's encode is the identity), and Encode cost ~1 µs a response (`bun
 * scripts/bench/request-path.ts`). Responses are still cleaned to their schema and checked against it.
 * standardHostname: false, see NOTES.md ("Hardening: edge").
 */
export const apiOptions = {
  encodeSchema: false,
  // Elysia otherwise looks for the path from index 11 of the URL, assuming a host of at least four
  // characters: `Host: x` with `GET /zz/v1/meta` would run /v1/meta while the access log, a proxy and a
  // mesh policy all see /zz/v1/meta, and `Host: api` would answer 404 everywhere. From index 7 it is
  // right for every http:// URL, which is all the API listener receives (TLS ends in front of it).
  handler: { standardHostname: false },
} as const

/** The public API: every feature module, behind the shared platform behaviour. */
export function createApp(deps: AppDependencies) {
  // Avatar files come before the platform: signed uploads carry image bytes, which its JSON-only body
  // parser would refuse.
  const allowedMethods = new AllowedMethods()
  const app = new Elysia(apiOptions)
    .use(avatarFilesRoutes(deps.avatarFiles, deps.logger))
    .use(platform({ ...deps, allowedMethods }))
    .use(docs)
    .use(meta(deps.metaExactVersion ?? false))
    .use(problems)
    .use(authRoutes(deps.tokens, deps.publicUrl))
    .use(usersRoutes(deps))
    .use(avatarsRoutes(deps))
    .use(ledgerRoutes(deps))
  allowedMethods.load(app.routes)
  claimStringFormats()
  return app
}

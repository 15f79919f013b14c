import { Elysia } from 'elysia'
import { authRoutes, type TokenEndpoint } from './auth'
import type { AuthPlugin } from './auth/plugin'
import type { SignupMode } from './config/settings'
import { docs } from './docs'
import { platform } from './http/platform'
import { meta } from './meta'
import type { Logger } from './observability/logger'
import { problems } from './problems'
import { usersRoutes } from './users'
import type { UsersRepository } from './users/repository'

export interface AppDependencies {
  logger: Logger
  bodyLimitBytes: number
  publicUrl: string
  auth: AuthPlugin
  tokens: TokenEndpoint
  users: UsersRepository
  signup: SignupMode
}

/** The public API: every feature module, behind the shared platform behaviour. */
export function createApp(deps: AppDependencies) {
  return new Elysia()
    .use(platform(deps))
    .use(docs)
    .use(meta)
    .use(problems)
    .use(authRoutes(deps.tokens, deps.publicUrl))
    .use(usersRoutes(deps))
}

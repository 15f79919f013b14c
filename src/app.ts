import { Elysia } from 'elysia'
import { docs } from './docs'
import { platform } from './http/platform'
import { meta } from './meta'
import type { Logger } from './observability/logger'
import { problems } from './problems'

export interface AppDependencies {
  logger: Logger
  bodyLimitBytes: number
}

/** The public API: every feature module, behind the shared platform behaviour. */
export function createApp(deps: AppDependencies) {
  return new Elysia().use(platform(deps)).use(docs).use(meta).use(problems)
}

import type { Server } from 'bun'
import type { Config } from '../config/settings'

export interface Listeners {
  api: Server<unknown>
  admin: Server<unknown>
}

type Fetch = (request: Request, server: Server<unknown>) => Response | Promise<Response>

/** Binds the API and admin ports; port 0 picks a free one (read it back from `server.port`). */
export function listen(
  config: Pick<Config, 'host' | 'port' | 'adminHost' | 'adminPort'>,
  handlers: { api: Fetch; admin: Fetch },
): Listeners {
  const api = Bun.serve({ hostname: config.host, port: config.port, development: false, fetch: handlers.api })
  try {
    const admin = Bun.serve({
      hostname: config.adminHost,
      port: config.adminPort,
      development: false,
      fetch: handlers.admin,
    })
    return { api, admin }
  } catch (error) {
    api.stop(true)
    throw error
  }
}

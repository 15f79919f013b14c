import type { Server } from 'bun'
import type { Config } from '../config/settings'

export interface Listeners {
  api: Server<unknown>
  admin: Server<unknown>
}

type Fetch = (request: Request, server: Server<unknown>) => Response | Promise<Response>

function serve(name: string, hostname: string, port: number, fetch: Fetch): Server<unknown> {
  try {
    // reusePort must be explicit: with development: false, Bun 1.4.5 otherwise sets SO_REUSEPORT, and a
    // second ledgerd on the same port starts "successfully" and silently takes half the connections.
    return Bun.serve({ hostname, port, development: false, reusePort: false, fetch })
  } catch (error) {
    throw new Error(`cannot listen on ${hostname}:${port} for the ${name}: ${(error as Error).message}`)
  }
}

/** Binds the API and admin ports; port 0 picks a free one (read it back from `server.port`). */
export function listen(
  config: Pick<Config, 'host' | 'port' | 'adminHost' | 'adminPort'>,
  handlers: { api: Fetch; admin: Fetch },
): Listeners {
  const api = serve('API', config.host, config.port, handlers.api)
  try {
    return { api, admin: serve('admin listener', config.adminHost, config.adminPort, handlers.admin) }
  } catch (error) {
    api.stop(true)
    throw error
  }
}

import { type FetchHandler, instrument } from '../../src/http/handler'
import { platform } from '../../src/http/platform'
import { createLogger, type Logger } from '../../src/observability/logger'
import { createMetrics, type Metrics } from '../../src/observability/metrics'

export interface CapturedLog {
  logger: Logger
  lines: Record<string, unknown>[]
}

export function captureLogger(): CapturedLog {
  const lines: Record<string, unknown>[] = []
  return { logger: createLogger('debug', (line) => lines.push(JSON.parse(line))), lines }
}

export interface InProcessApi {
  handle: FetchHandler
  metrics: Metrics
  log: CapturedLog
}

/** The real platform and instrumentation around the given routes, called without a socket. */
export function inProcessApi(
  routes: (app: ReturnType<typeof platform>) => { handle(request: Request): Promise<Response> },
  bodyLimitBytes = 1024,
): InProcessApi {
  const log = captureLogger()
  const metrics = createMetrics()
  const app = routes(platform({ logger: log.logger, bodyLimitBytes }))
  return {
    handle: instrument((r) => app.handle(r), { logger: log.logger, metrics, bodyLimitBytes }),
    metrics,
    log,
  }
}

export const jsonPost = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  new Request(`http://localhost${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })

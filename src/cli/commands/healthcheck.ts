import { loadConfig } from '../../config/load'
import { parseDuration, ValueError } from '../../config/values'
import { parseArgs, UsageError } from '../args'
import { type CommandIO, exitCodes } from '../io'

/** A wildcard bind address is reachable on loopback; anything else is dialled as configured. */
export function dialHost(bindHost: string): string {
  if (bindHost === '0.0.0.0') return '127.0.0.1'
  if (bindHost === '::' || bindHost === '[::]') return '[::1]'
  return bindHost.includes(':') && !bindHost.startsWith('[') ? `[${bindHost}]` : bindHost
}

/** For container HEALTHCHECKs and exec probes: distroless images have no curl. Exit 0 only on 200. */
export async function healthcheckCommand(argv: readonly string[], io: CommandIO): Promise<number> {
  const args = parseArgs(argv, { settings: true, options: ['timeout'] })
  const { config } = loadConfig(args.settings, io.env)
  let timeoutMs = 2000
  const rawTimeout = args.options.get('timeout')
  if (rawTimeout !== undefined) {
    try {
      timeoutMs = parseDuration(rawTimeout, 1, 60_000)
    } catch (error) {
      if (error instanceof ValueError) throw new UsageError(`invalid value for --timeout: ${error.message}`)
      throw error
    }
  }
  const url = `http://${dialHost(config.adminHost)}:${config.adminPort}/readyz`
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
    const body = await response.text()
    if (response.status === 200) {
      io.out(`ready: ${url}\n`)
      return exitCodes.ok
    }
    io.err(`not ready: ${url} answered ${response.status} ${body}\n`)
  } catch (error) {
    io.err(`not ready: ${url}: ${(error as Error).message}\n`)
  }
  return exitCodes.failure
}

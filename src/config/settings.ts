import {
  formatDuration,
  formatSize,
  parseChoice,
  parseDuration,
  parseInteger,
  parseNonEmpty,
  parseSize,
} from './values'

// Every setting ledgerd has, in one table: the CLI flag, the environment variable, the default and the
// parser come from here, and so do `ledgerd help`, `--print-config` and the README's configuration table.

export const logLevels = ['debug', 'info', 'warn', 'error'] as const
export type LogLevel = (typeof logLevels)[number]

export const dbDrivers = ['bun-sqlite', 'better-sqlite3'] as const
export type DbDriver = (typeof dbDrivers)[number]

export interface Config {
  host: string
  port: number
  adminHost: string
  adminPort: number
  dataDir: string
  dbDriver: DbDriver
  sqliteBusyTimeoutMs: number
  logLevel: LogLevel
  bodyLimitBytes: number
  shutdownDelayMs: number
  shutdownTimeoutMs: number
}

export interface Setting<K extends keyof Config = keyof Config> {
  key: K
  /** Flag name without the leading dashes; the environment variable is LEDGERD_ + the same in SNAKE_CASE. */
  name: string
  description: string
  default: Config[K]
  parse(raw: string): Config[K]
  format?(value: Config[K]): string
  /** Printed as "(redacted)" by --print-config and never logged. */
  secret?: boolean
}

export const envPrefix = 'LEDGERD_'

export function envName(setting: Pick<Setting, 'name'>): string {
  return envPrefix + setting.name.toUpperCase().replaceAll('-', '_')
}

const define = <K extends keyof Config>(setting: Setting<K>): Setting<K> => setting

const portNumber = (raw: string) => parseInteger(raw, 0, 65_535)

export const settings = [
  define({
    key: 'host',
    name: 'host',
    description: 'Address the API listener binds to.',
    default: '0.0.0.0',
    parse: parseNonEmpty,
  }),
  define({
    key: 'port',
    name: 'port',
    description: 'API port (0 picks a free port and logs it).',
    default: 8080,
    parse: portNumber,
  }),
  define({
    key: 'adminHost',
    name: 'admin-host',
    description: 'Address the admin listener (/healthz, /readyz, /metrics) binds to.',
    default: '0.0.0.0',
    parse: parseNonEmpty,
  }),
  define({
    key: 'adminPort',
    name: 'admin-port',
    description: 'Admin port; never expose it through an ingress.',
    default: 8081,
    parse: portNumber,
  }),
  define({
    key: 'dataDir',
    name: 'data-dir',
    description: 'Directory for the SQLite database and local files.',
    default: './data',
    parse: parseNonEmpty,
  }),
  define({
    key: 'dbDriver',
    name: 'db-driver',
    description: `SQLite driver: ${dbDrivers.join(' or ')}.`,
    default: 'bun-sqlite',
    parse: (raw) => parseChoice(raw, dbDrivers),
  }),
  define({
    key: 'sqliteBusyTimeoutMs',
    name: 'sqlite-busy-timeout',
    description: 'How long a write waits for a lock held by another connection.',
    default: 5000,
    parse: (raw) => parseDuration(raw, 0, 60_000),
    format: formatDuration,
  }),
  define({
    key: 'logLevel',
    name: 'log-level',
    description: `Lowest level logged: ${logLevels.join(', ')}.`,
    default: 'info',
    parse: (raw) => parseChoice(raw, logLevels),
  }),
  define({
    key: 'bodyLimitBytes',
    name: 'body-limit',
    description: 'Largest request body accepted; larger ones get 413.',
    default: 1024 * 1024,
    parse: (raw) => parseSize(raw, 1024, 64 * 1024 * 1024),
    format: formatSize,
  }),
  define({
    key: 'shutdownDelayMs',
    name: 'shutdown-delay',
    description:
      'On SIGTERM, how long to keep serving while readiness reports 503 (load balancers catch up).',
    default: 0,
    parse: (raw) => parseDuration(raw, 0, 300_000),
    format: formatDuration,
  }),
  define({
    key: 'shutdownTimeoutMs',
    name: 'shutdown-timeout',
    description: 'On SIGTERM, how long in-flight requests may take to finish before connections are cut.',
    default: 20_000,
    parse: (raw) => parseDuration(raw, 0, 300_000),
    format: formatDuration,
  }),
] as const satisfies readonly Setting[]

export function formatValue(setting: Setting, value: unknown): string {
  if (setting.secret) return '(redacted)'
  return setting.format ? (setting.format as (v: unknown) => string)(value) : String(value)
}

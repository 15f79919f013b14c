import { parseOrigins } from '../http/cors'
import {
  formatDuration,
  formatSize,
  parseBoolean,
  parseChoice,
  parseDuration,
  parseHttpUrl,
  parseInteger,
  parseList,
  parseNonEmpty,
  parseOptional,
  parsePostgresUrl,
  parseSize,
  ValueError,
} from './values'

// Every setting ledgerd has, in one table: the CLI flag, the environment variable, the default and the
// parser come from here, and so do `ledgerd help`, `--print-config` and the README's configuration table.

export const logLevels = ['debug', 'info', 'warn', 'error'] as const
export type LogLevel = (typeof logLevels)[number]

export const dbDrivers = ['bun-sqlite', 'better-sqlite3'] as const
export type DbDriver = (typeof dbDrivers)[number]

/** libpq's names; `verify-full` checks the server's certificate against --db-ssl-root-cert and its name. */
export const dbSslModes = ['disable', 'prefer', 'require', 'verify-full'] as const
export type DbSslMode = (typeof dbSslModes)[number]

export const signupModes = ['open', 'closed'] as const
export type SignupMode = (typeof signupModes)[number]

/** Asymmetric algorithms only: HMAC with a published key would let anyone mint tokens. */
export const externalAlgorithms = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'EdDSA',
]

export interface Config {
  host: string
  port: number
  adminHost: string
  adminPort: number
  dataDir: string
  dbDriver: DbDriver
  sqliteBusyTimeoutMs: number
  databaseUrl: string
  dbPoolSize: number
  dbStatementTimeoutMs: number
  dbConnectTimeoutMs: number
  dbSslMode: DbSslMode
  dbSslRootCert: string
  logLevel: LogLevel
  bodyLimitBytes: number
  shutdownDelayMs: number
  shutdownTimeoutMs: number
  publicUrl: string
  corsOrigins: string[]
  metaExactVersion: boolean
  signup: SignupMode
  tokenIssuer: string
  tokenAudience: string
  tokenTtlMs: number
  tokenClockSkewMs: number
  tokenCacheSize: number
  jwtSigningKeyFile: string
  jwtPublicKeysFile: string
  oidcIssuer: string
  oidcJwksUrl: string
  oidcAudience: string
  oidcRolesClaim: string
  oidcAdminRole: string
  oidcAlgorithms: string[]
  oidcJwksCooldownMs: number
  forwardedForHops: number
  loginMaxFailures: number
  loginFailureWindowMs: number
  argon2Concurrency: number
  argon2Queue: number
  hashingCpus: number
  signupMaxPerClient: number
  idempotencyRetentionMs: number
  avatarBucket: string
  s3Endpoint: string
  s3Region: string
  s3ForcePathStyle: boolean
  avatarMaxBytes: number
  avatarUrlTtlMs: number
  avatarStoreTimeoutMs: number
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
    key: 'databaseUrl',
    name: 'database-url',
    description:
      'PostgreSQL to keep everything in (postgres://user:password@host:5432/db), for several replicas; unset, the embedded SQLite in the data dir.',
    default: '',
    parse: (raw) => parseOptional(raw, parsePostgresUrl),
    secret: true,
  }),
  define({
    key: 'dbPoolSize',
    name: 'db-pool-size',
    description: 'PostgreSQL connections per ledgerd process.',
    default: 10,
    parse: (raw) => parseInteger(raw, 1, 200),
  }),
  define({
    key: 'dbStatementTimeoutMs',
    name: 'db-statement-timeout',
    description:
      'Longest a PostgreSQL statement may run, and a request may wait for the database, before it answers 503.',
    default: 5000,
    parse: (raw) => parseDuration(raw, 100, 600_000),
    format: formatDuration,
  }),
  define({
    key: 'dbConnectTimeoutMs',
    name: 'db-connect-timeout',
    description: 'Longest one attempt to connect to PostgreSQL may take.',
    default: 5000,
    parse: (raw) => parseDuration(raw, 100, 600_000),
    format: formatDuration,
  }),
  define({
    key: 'dbSslMode',
    name: 'db-ssl-mode',
    description: `TLS to PostgreSQL: ${dbSslModes.join(', ')} (verify-full needs --db-ssl-root-cert).`,
    default: 'prefer',
    parse: (raw) => parseChoice(raw, dbSslModes),
  }),
  define({
    key: 'dbSslRootCert',
    name: 'db-ssl-root-cert',
    description: "PEM file of the CA that signed PostgreSQL's certificate (CloudNativePG's ca.crt).",
    default: '',
    parse: (raw) => parseOptional(raw, parseNonEmpty),
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
  define({
    key: 'publicUrl',
    name: 'public-url',
    description: 'Base URL clients reach the API at, for absolute links; empty: taken from each request.',
    default: '',
    parse: (raw) => parseOptional(raw, parseHttpUrl),
  }),
  define({
    key: 'corsOrigins',
    name: 'cors-origins',
    description:
      'Origins whose pages may call the API (CORS), comma-separated, or * for any; empty: CORS off. ' +
      'Credentials are never allowed.',
    default: [],
    parse: (raw) => parseOrigins(raw, (message) => new ValueError(message)),
    format: (list) => list.join(','),
  }),
  define({
    key: 'metaExactVersion',
    name: 'meta-exact-version',
    description: 'Show the exact version and commit in GET /v1/meta (else only the major.minor version).',
    default: false,
    parse: parseBoolean,
  }),
  define({
    key: 'signup',
    name: 'signup',
    description: 'Whether POST /v1/users is open to anyone (open) or answers 403 (closed).',
    default: 'open',
    parse: (raw) => parseChoice(raw, signupModes),
  }),
  define({
    key: 'tokenIssuer',
    name: 'token-issuer',
    description: 'The iss of tokens ledgerd issues (use the public URL in production).',
    default: 'ledgerd',
    parse: parseNonEmpty,
  }),
  define({
    key: 'tokenAudience',
    name: 'token-audience',
    description: 'The aud of tokens ledgerd issues, and the aud it requires.',
    default: 'ledgerd',
    parse: parseNonEmpty,
  }),
  define({
    key: 'tokenTtlMs',
    name: 'token-ttl',
    description: 'Lifetime of issued access tokens.',
    default: 15 * 60_000,
    parse: (raw) => parseDuration(raw, 60_000, 24 * 3_600_000),
    format: formatDuration,
  }),
  define({
    key: 'tokenClockSkewMs',
    name: 'token-clock-skew',
    description: 'Tolerance when checking exp and nbf against this clock.',
    default: 30_000,
    parse: (raw) => parseDuration(raw, 0, 300_000),
    format: formatDuration,
  }),
  define({
    key: 'tokenCacheSize',
    name: 'token-cache-size',
    description: 'Verified tokens kept in memory until they expire (0 turns the cache off).',
    default: 10_000,
    parse: (raw) => parseInteger(raw, 0, 1_000_000),
  }),
  define({
    key: 'jwtSigningKeyFile',
    name: 'jwt-signing-key-file',
    description: 'Ed25519 private key (PEM or JWK) to sign tokens; empty: generated once in the data dir.',
    default: '',
    parse: (raw) => parseOptional(raw, parseNonEmpty),
  }),
  define({
    key: 'jwtPublicKeysFile',
    name: 'jwt-public-keys-file',
    description:
      'Extra public keys (JWKS or PEM) accepted and published, e.g. the previous key during rotation.',
    default: '',
    parse: (raw) => parseOptional(raw, parseNonEmpty),
  }),
  define({
    key: 'oidcIssuer',
    name: 'oidc-issuer',
    description:
      "External identity provider's issuer; set it (with --oidc-jwks-url) to verify its tokens instead.",
    default: '',
    parse: (raw) => parseOptional(raw, parseNonEmpty),
  }),
  define({
    key: 'oidcJwksUrl',
    name: 'oidc-jwks-url',
    description: "URL of the identity provider's JWKS.",
    default: '',
    parse: (raw) => parseOptional(raw, parseHttpUrl),
  }),
  define({
    key: 'oidcAudience',
    name: 'oidc-audience',
    description: "The aud required in the identity provider's tokens; empty: the token audience.",
    default: '',
    parse: (raw) => parseOptional(raw, parseNonEmpty),
  }),
  define({
    key: 'oidcRolesClaim',
    name: 'oidc-roles-claim',
    description: 'Claim holding the roles, dotted for nested claims (Keycloak: realm_access.roles).',
    default: 'roles',
    parse: parseNonEmpty,
  }),
  define({
    key: 'oidcAdminRole',
    name: 'oidc-admin-role',
    description: "The identity provider's role that makes a user an admin in ledgerd.",
    default: 'admin',
    parse: parseNonEmpty,
  }),
  define({
    key: 'oidcAlgorithms',
    name: 'oidc-algorithms',
    description: 'Signature algorithms accepted from the identity provider (asymmetric only).',
    default: ['RS256', 'ES256', 'EdDSA'],
    parse: (raw) => parseList(raw, externalAlgorithms),
    format: (list) => list.join(','),
  }),
  define({
    key: 'oidcJwksCooldownMs',
    name: 'oidc-jwks-cooldown',
    description: 'Least time between two JWKS fetches; a token with an unknown kid triggers one.',
    default: 30_000,
    parse: (raw) => parseDuration(raw, 0, 3_600_000),
    format: formatDuration,
  }),
  define({
    key: 'forwardedForHops',
    name: 'forwarded-for-hops',
    description:
      'Proxies in front of ledgerd that append to X-Forwarded-For (ingress, mesh sidecar); the client ' +
      'address is the entry that many from the end. 0: ignore the header.',
    default: 0,
    parse: (raw) => parseInteger(raw, 0, 10),
  }),
  define({
    key: 'loginMaxFailures',
    name: 'login-max-failures',
    description:
      'Failed logins allowed per email and client address in the window (4× per address; 4× per email, ' +
      'refusing only addresses that failed on it).',
    default: 5,
    parse: (raw) => parseInteger(raw, 1, 10_000),
  }),
  define({
    key: 'loginFailureWindowMs',
    name: 'login-failure-window',
    description: 'Window over which failed logins are counted.',
    default: 15 * 60_000,
    parse: (raw) => parseDuration(raw, 1000, 24 * 3_600_000),
    format: formatDuration,
  }),
  define({
    key: 'argon2Concurrency',
    name: 'argon2-concurrency',
    description:
      'argon2 runs at once in each of two pools (each ~20 ms of a core, 19 MiB): login checks, and ' +
      'sign-up hashes on background threads at the lowest CPU priority.',
    default: 2,
    parse: (raw) => parseInteger(raw, 1, 64),
  }),
  define({
    key: 'argon2Queue',
    name: 'argon2-queue',
    description:
      'Logins that may wait for argon2, and as many sign-ups (each at most 5 s); past that 503 with Retry-After.',
    default: 32,
    parse: (raw) => parseInteger(raw, 0, 10_000),
  }),
  define({
    key: 'hashingCpus',
    name: 'hashing-cpus',
    description:
      'CPUs set aside for sign-up hashing: the last N that ledgerd may run on, which the API and writers ' +
      'then leave alone. 0: hashing shares every CPU, at the lowest priority.',
    default: 0,
    parse: (raw) => parseInteger(raw, 0, 1023),
  }),
  define({
    key: 'signupMaxPerClient',
    name: 'signup-max-per-client',
    description: 'Sign-ups allowed per client address per hour; past that 429 with Retry-After.',
    default: 20,
    parse: (raw) => parseInteger(raw, 1, 1_000_000),
  }),
  define({
    key: 'idempotencyRetentionMs',
    name: 'idempotency-retention',
    description: 'How long a stored Idempotency-Key answer is kept before it is purged.',
    default: 24 * 3_600_000,
    parse: (raw) => parseDuration(raw, 60_000, 90 * 24 * 3_600_000),
    format: formatDuration,
  }),
  define({
    key: 'avatarBucket',
    name: 'avatar-bucket',
    description: 'S3 bucket for avatars; empty: kept in the data dir behind signed URLs.',
    default: '',
    parse: (raw) => parseOptional(raw, parseNonEmpty),
  }),
  define({
    key: 's3Endpoint',
    name: 's3-endpoint',
    description: 'S3 endpoint URL for S3-compatible stores; empty: AWS.',
    default: '',
    parse: (raw) => parseOptional(raw, parseHttpUrl),
  }),
  define({
    key: 's3Region',
    name: 's3-region',
    description: 'S3 region.',
    default: 'us-east-1',
    parse: parseNonEmpty,
  }),
  define({
    key: 's3ForcePathStyle',
    name: 's3-force-path-style',
    description: 'Address the bucket in the path, not the host name (most S3-compatible stores).',
    default: false,
    parse: parseBoolean,
  }),
  define({
    key: 'avatarMaxBytes',
    name: 'avatar-max-bytes',
    description: 'Largest avatar accepted.',
    default: 2 * 1024 * 1024,
    parse: (raw) => parseSize(raw, 1024, 50 * 1024 * 1024),
    format: formatSize,
  }),
  define({
    key: 'avatarUrlTtlMs',
    name: 'avatar-url-ttl',
    description: 'How long avatar upload and download URLs stay valid.',
    default: 5 * 60_000,
    parse: (raw) => parseDuration(raw, 10_000, 3_600_000),
    format: formatDuration,
  }),
  define({
    key: 'avatarStoreTimeoutMs',
    name: 'avatar-store-timeout',
    description: 'How long a call to the avatar store may take before the request gets 503.',
    default: 3000,
    parse: (raw) => parseDuration(raw, 100, 60_000),
    format: formatDuration,
  }),
] as const satisfies readonly Setting[]

export function formatValue(setting: Setting, value: unknown): string {
  // An unset secret has nothing to hide, and "(redacted)" would claim it is set.
  if (setting.secret) return value === '' ? '' : '(redacted)'
  return setting.format ? (setting.format as (v: unknown) => string)(value) : String(value)
}

/** The default as documentation shows it: an unset optional setting reads "(none)". */
export function describeDefault(setting: Setting): string {
  return formatValue(setting, setting.default) || '(none)'
}

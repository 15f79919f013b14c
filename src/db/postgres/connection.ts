import { readFileSync } from 'node:fs'
import postgres from 'postgres'
import type { Config } from '../../config/settings'

export type PostgresConfig = Pick<
  Config,
  'databaseUrl' | 'dbPoolSize' | 'dbStatementTimeoutMs' | 'dbConnectTimeoutMs' | 'dbSslMode' | 'dbSslRootCert'
>

/** postgres.js's pool: every query takes a connection from it, and transactions hold one. */
export type Sql = postgres.Sql

/**
 * The SQLSTATEs that mean "try again": a serialization failure or deadlock (the transaction was rolled
 * back whole), or a server that is starting, stopping or gone. Retrying these is always safe.
 */
const retryableStates = new Set(['40001', '40P01'])
const unavailableStates = new Set(['57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006'])
const unavailableCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
])

/** A serialization failure or deadlock: the transaction rolled back and may simply run again. */
export function isRetryable(error: unknown): boolean {
  return retryableStates.has((error as { code?: string })?.code ?? '')
}

/**
 * PostgreSQL cannot be reached or is shutting down, or a statement ran past --db-statement-timeout
 * (57014): the request gets 503, and nothing about the data is wrong.
 */
export function isUnavailable(error: unknown): boolean {
  const code = (error as { code?: string })?.code ?? ''
  return unavailableStates.has(code) || unavailableCodes.has(code) || code === '57014'
}

/** TLS options for postgres.js from --db-ssl-mode and --db-ssl-root-cert. */
export function tlsOptions(config: Pick<PostgresConfig, 'dbSslMode' | 'dbSslRootCert'>) {
  switch (config.dbSslMode) {
    case 'disable':
      return false
    case 'prefer':
    case 'require':
      return config.dbSslMode
    case 'verify-full':
      // Node's TLS checks the chain against this CA and the certificate's names against the host.
      return { ca: readFileSync(config.dbSslRootCert, 'utf8'), rejectUnauthorized: true }
  }
}

/**
 * A pool of connections to the configured PostgreSQL. Connections open lazily, so this never fails:
 * a server that is down shows up as failing queries (503s and a false /readyz), never as a crash loop.
 */
export function openPostgres(config: PostgresConfig, onclose?: () => void): Sql {
  return postgres(config.databaseUrl, {
    max: config.dbPoolSize,
    connect_timeout: Math.max(1, Math.ceil(config.dbConnectTimeoutMs / 1000)),
    // Idle connections are closed after a minute (a scaled-down fleet gives its connections back), and
    // every connection is replaced within the hour, so a failover's new primary gets them all eventually.
    idle_timeout: 60,
    max_lifetime: 60 * 60,
    ssl: tlsOptions(config),
    // Seconds before reconnecting after a failed attempt. postgres.js's default grows to 20 s, and a
    // request waiting for a connection meanwhile would wait that long for its 503; 2 s at most here.
    backoff: (attempt: number) => Math.min(0.05 * 2 ** attempt, 2) * (0.5 + Math.random() / 2),
    connection: {
      application_name: 'ledgerd',
      statement_timeout: config.dbStatementTimeoutMs,
      // A transaction left open by a stalled client must not hold row locks for ever.
      idle_in_transaction_session_timeout: Math.max(10_000, config.dbStatementTimeoutMs * 2),
    },
    // Notices (e.g. "relation already exists, skipping") are not ledgerd's to print.
    onnotice: () => {},
    // Every connection that closes, for the pool gauges (src/db/postgres/pool-usage.ts).
    onclose,
    // int8 comes back as a string by default; every engine converts its own columns explicitly.
    fetch_types: false,
  })
}

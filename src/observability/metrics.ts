import { Counter, Gauge, Registry } from 'prom-client'
import { type AuthEvents, authFailureReasons } from '../auth/events'
import { type AvatarStoreOperation, avatarStoreOperations } from '../avatars/service'
import { databaseFaultKind, databaseFaultKinds } from '../db/faults'
import type { DatabaseUnavailableError } from '../db/unavailable'
import { createLedgerMetrics, type LedgerMetrics } from '../ledger/metrics'
import { commit, version } from '../version'
import { RequestDurations } from './request-durations'
import { registerRuntimeMetrics } from './runtime-metrics'

export type Dialect = 'sqlite' | 'postgres'

/**
 * Every metric ledgerd serves, in one registry. The parts are handed to the code that counts (the
 * ledger, authentication, avatars, the HTTP edge) as plain functions or prom-client metrics: services
 * never see the registry or HTTP. Each bounded label's values are set to 0 here, so every series exists
 * from the first scrape (a rate is defined, a dashboard never shows "No data" before the first failure).
 */
export interface Metrics {
  registry: Registry
  httpRequestDuration: RequestDurations
  ledger: LedgerMetrics
  auth: AuthEvents
  avatarStoreFailed(operation: AvatarStoreOperation): void
  /** A request answered 503 because the database is unavailable. */
  databaseFault(error: DatabaseUnavailableError): void
  /** `ledgerd_ready`, asked at each scrape. */
  setReadiness(check: () => Promise<boolean>): void
}

/**
 * Buckets start at 0.5 ms because the ledger's latency target (p99 < 10 ms) has to be readable from them;
 * coarser default buckets would put every request in the first one.
 */
export const httpDurationBuckets = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]

/** A scrape does not wait longer than this for the readiness check: a hung database reads as not ready. */
const readinessScrapeTimeoutMs = 2000

export function createMetrics({ storage = 'sqlite' }: { storage?: Dialect } = {}): Metrics {
  const registry = new Registry()
  registerRuntimeMetrics(registry)
  const httpRequestDuration = new RequestDurations(
    'http_request_duration_seconds',
    'Time from receiving a request to having its response ready, by method, route template and status.',
    httpDurationBuckets,
    registry,
  )

  new Gauge({
    name: 'ledgerd_build_info',
    help: 'Always 1; the labels say which release runs (version, git revision) and on which storage.',
    labelNames: ['version', 'revision', 'storage'] as const,
    registers: [registry],
  }).set({ version, revision: commit, storage }, 1)

  let readiness: () => Promise<boolean> = async () => false
  new Gauge({
    name: 'ledgerd_ready',
    help: '1 when /readyz would answer 200 now (checked at each scrape), else 0.',
    registers: [registry],
    async collect() {
      let timer: Timer | undefined
      const timedOut = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), readinessScrapeTimeoutMs)
      })
      const ready = await Promise.race([readiness().catch(() => false), timedOut])
      clearTimeout(timer)
      this.set(ready ? 1 : 0)
    },
  })

  const authFailures = new Counter({
    name: 'ledgerd_auth_failures_total',
    help: 'Requests and logins refused as unauthenticated (401), by reason.',
    labelNames: ['reason'] as const,
    registers: [registry],
  })
  for (const reason of authFailureReasons) authFailures.inc({ reason }, 0)
  const loginThrottled = new Counter({
    name: 'ledgerd_login_throttled_total',
    help: 'Logins refused with 429 because their email or client address reached the failure limit.',
    registers: [registry],
  })

  const avatarStoreErrors = new Counter({
    name: 'ledgerd_avatar_store_errors_total',
    help: 'Avatar store calls that failed or timed out (answered 503), by operation.',
    labelNames: ['operation'] as const,
    registers: [registry],
  })
  for (const operation of avatarStoreOperations) avatarStoreErrors.inc({ operation }, 0)

  const databaseErrors = new Counter({
    name: 'ledgerd_db_errors_total',
    help: 'Requests answered 503 because the database was unavailable, by dialect and kind of fault.',
    labelNames: ['dialect', 'kind'] as const,
    registers: [registry],
  })
  for (const kind of databaseFaultKinds) databaseErrors.inc({ dialect: storage, kind }, 0)

  return {
    registry,
    httpRequestDuration,
    ledger: createLedgerMetrics(registry),
    auth: {
      failed: (reason) => authFailures.inc({ reason }),
      throttled: () => loginThrottled.inc(),
    },
    avatarStoreFailed: (operation) => avatarStoreErrors.inc({ operation }),
    databaseFault: (error) => databaseErrors.inc({ dialect: storage, kind: databaseFaultKind(error) }),
    setReadiness(check) {
      readiness = check
    },
  }
}

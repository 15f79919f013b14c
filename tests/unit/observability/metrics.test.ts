import { describe, expect, test } from 'bun:test'
import { Registry } from 'prom-client'
import { authFailureReasons } from '../../../src/auth/events'
import { databaseFaultKind } from '../../../src/db/faults'
import { DatabaseUnavailableError } from '../../../src/db/unavailable'
import { LedgerUnavailableError } from '../../../src/ledger/engine'
import { createMetrics } from '../../../src/observability/metrics'
import { registerRuntimeMetrics, runtimeMetricNames } from '../../../src/observability/runtime-metrics'

const sample = async (registry: Registry, line: string) =>
  (await registry.metrics()).split('\n').find((l) => l.startsWith(`${line} `))

describe('the metrics ledgerd serves', () => {
  test('every bounded label value is a series at 0 before anything happened', async () => {
    const { registry } = createMetrics({ storage: 'postgres' })
    for (const reason of authFailureReasons) {
      expect(await sample(registry, `ledgerd_auth_failures_total{reason="${reason}"}`)).toEndWith(' 0')
    }
    expect(await sample(registry, 'ledgerd_login_throttled_total')).toEndWith(' 0')
    expect(await sample(registry, 'ledgerd_avatar_store_errors_total{operation="presign_upload"}')).toEndWith(
      ' 0',
    )
    expect(await sample(registry, 'ledgerd_db_errors_total{dialect="postgres",kind="timeout"}')).toEndWith(
      ' 0',
    )
    expect(
      await sample(registry, 'ledgerd_build_info{version="dev",revision="unknown",storage="postgres"}'),
    ).toEndWith(' 1')
  })

  test('ledgerd_ready is what the readiness check answers at the scrape', async () => {
    const metrics = createMetrics()
    expect(await sample(metrics.registry, 'ledgerd_ready')).toBe('ledgerd_ready 0')
    let ready = true
    metrics.setReadiness(async () => ready)
    expect(await sample(metrics.registry, 'ledgerd_ready')).toBe('ledgerd_ready 1')
    ready = false
    expect(await sample(metrics.registry, 'ledgerd_ready')).toBe('ledgerd_ready 0')
  })

  test.each([
    [new LedgerUnavailableError('SQLITE_FULL: database or disk is full'), 'disk_full'],
    [new LedgerUnavailableError('SQLITE_IOERR_WRITE: disk I/O error'), 'io'],
    [new LedgerUnavailableError('SQLITE_READONLY: attempt to write a readonly database'), 'read_only'],
    [new LedgerUnavailableError('SQLITE_BUSY: database is locked'), 'busy'],
    [new LedgerUnavailableError('PostgreSQL did not answer the commit within 5000 ms'), 'timeout'],
    [new LedgerUnavailableError('too many conflicts: could not serialize access'), 'busy'],
    [
      new DatabaseUnavailableError('PostgreSQL: 57014 canceling statement due to statement timeout'),
      'timeout',
    ],
    [
      new DatabaseUnavailableError('PostgreSQL: ECONNREFUSED connect ECONNREFUSED 127.0.0.1:5432'),
      'unavailable',
    ],
    [new DatabaseUnavailableError('PostgreSQL: 57P01 terminating connection'), 'unavailable'],
    [
      new LedgerUnavailableError('terminating connection due to administrator command', 1, {
        cause: Object.assign(new Error('terminating connection'), { code: '57P01' }),
      }),
      'unavailable',
    ],
    [
      new LedgerUnavailableError('the database system is starting up', 1, {
        cause: Object.assign(new Error('starting'), { code: '57P03' }),
      }),
      'unavailable',
    ],
    [new DatabaseUnavailableError('something nobody foresaw'), 'other'],
  ])('a database fault is counted by kind: %p is %p', (error, kind) => {
    expect(databaseFaultKind(error)).toBe(kind as ReturnType<typeof databaseFaultKind>)
  })
})

describe('runtime metrics under Bun', () => {
  test('only the kept defaults are served; none of the fake ones', async () => {
    const registry = new Registry()
    registerRuntimeMetrics(registry)
    const names = registry.getMetricsAsArray().map((metric) => (metric as unknown as { name: string }).name)
    expect(names.sort()).toEqual([...runtimeMetricNames, 'nodejs_eventloop_lag_seconds'].sort())
  })

  test('nodejs_eventloop_lag_seconds sees a 300 ms block of the event loop', async () => {
    const registry = new Registry()
    registerRuntimeMetrics(registry)
    await Bun.sleep(120)
    const until = performance.now() + 300
    while (performance.now() < until) {
      // Busy: the event loop is blocked.
    }
    await Bun.sleep(120)
    const lag = Number((await sample(registry, 'nodejs_eventloop_lag_seconds'))?.split(' ')[1])
    expect(lag).toBeGreaterThan(0.2)
    expect(lag).toBeLessThan(1)
  })
})

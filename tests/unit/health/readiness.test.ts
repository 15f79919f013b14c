import { afterEach, describe, expect, test } from 'bun:test'
import { createAdminHandler } from '../../../src/admin'
import { sqliteMigrations } from '../../../src/db/migrations/sqlite'
import { migrate, migrationStatus } from '../../../src/db/migrator'
import { ReadinessProbe } from '../../../src/health/readiness'
import { sqliteHealthRepository } from '../../../src/health/repository'
import { createMetrics } from '../../../src/observability/metrics'
import { dbDrivers, openTestDatabase, type TestDatabase } from '../../support/databases'

const latest = sqliteMigrations.length

describe.each(dbDrivers)('readiness on %s', (driver) => {
  let handle: TestDatabase
  afterEach(() => handle.dispose())

  async function probeFor(migrations = sqliteMigrations as readonly (typeof sqliteMigrations)[number][]) {
    handle = await openTestDatabase(driver)
    migrationStatus(handle.db, []) // creates the bookkeeping table, as a first start does
    migrate(handle.db, migrations)
    return new ReadinessProbe(sqliteHealthRepository(handle.db), latest)
  }

  test('ready when the database answers at the expected schema version', async () => {
    expect(await (await probeFor()).check()).toEqual({ ready: true })
  })

  test('not ready while migrations are pending', async () => {
    expect(await (await probeFor([])).check()).toEqual({ ready: false, reason: 'migrations pending' })
  })

  test('not ready when a newer release has migrated the database', async () => {
    const probe = await probeFor()
    handle.db.exec(`INSERT INTO ledgerd_migrations VALUES (${latest + 1}, 'future', 'x', 'now')`)
    expect(await probe.check()).toEqual({ ready: false, reason: 'database schema is newer than binary' })
  })

  test('not ready once draining, for good', async () => {
    const probe = await probeFor()
    probe.startDraining()
    expect(await probe.check()).toEqual({ ready: false, reason: 'draining' })
  })

  test('not ready when the database cannot be queried', async () => {
    const probe = await probeFor()
    handle.db.exec('DROP TABLE ledgerd_migrations')
    expect(await probe.check()).toEqual({ ready: false, reason: 'database unavailable' })
  })
})

describe('admin listener', () => {
  let handle: TestDatabase
  afterEach(() => handle.dispose())

  test('/healthz, /readyz and /metrics answer; anything else is 404; writes are 405', async () => {
    handle = await openTestDatabase('bun-sqlite')
    migrate(handle.db, sqliteMigrations)
    const readiness = new ReadinessProbe(sqliteHealthRepository(handle.db), latest)
    const admin = createAdminHandler({ readiness, metrics: createMetrics() })
    const call = (path: string, method = 'GET') => admin(new Request(`http://localhost${path}`, { method }))

    expect((await call('/healthz')).status).toBe(200)
    expect((await call('/readyz')).status).toBe(200)
    const metrics = await call('/metrics')
    expect(metrics.headers.get('content-type')).toStartWith('text/plain')
    expect(await metrics.text()).toContain('process_cpu_seconds_total')
    expect((await call('/v1/meta')).status).toBe(404)
    expect((await call('/readyz', 'POST')).status).toBe(405)

    readiness.startDraining()
    const draining = await call('/readyz')
    expect(draining.status).toBe(503)
    expect(await draining.json()).toEqual({ status: 'not ready', reason: 'draining' })
    expect((await call('/healthz')).status).toBe(200)
  })
})

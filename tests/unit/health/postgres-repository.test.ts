import { afterEach, describe, expect, test } from 'bun:test'
import { postgresMigrations } from '../../../src/db/migrations/postgres'
import type { Sql } from '../../../src/db/postgres/connection'
import { migratePostgres } from '../../../src/db/postgres/migrator'
import { DatabaseUnavailableError } from '../../../src/db/unavailable'
import { postgresHealthRepository } from '../../../src/health/postgres-repository'
import { ReadinessProbe } from '../../../src/health/readiness'
import { testPostgres } from '../../support/postgres'
import { openTestPool, unreachablePool } from '../../support/postgres-pools'

const latest = postgresMigrations.length
// Started here, outside any test's time limit: the first start runs initdb, seconds on a busy machine.
await testPostgres()
const pools: Sql[] = []
async function freshPool(): Promise<Sql> {
  const sql = openTestPool(await (await testPostgres()).createDatabase('health'), 1)
  pools.push(sql)
  return sql
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((sql) => sql.end()))
})

describe('readiness on PostgreSQL', () => {
  test('the schema version is the highest applied migration; ready at the expected one', async () => {
    const sql = await freshPool()
    await migratePostgres(sql, postgresMigrations)
    expect(await postgresHealthRepository(sql).schemaVersion()).toBe(latest)
    expect(await new ReadinessProbe(postgresHealthRepository(sql), latest).check()).toEqual({ ready: true })
  })

  test('a database nothing has migrated yet is version 0: migrations pending, not unavailable', async () => {
    const sql = await freshPool()
    expect(await postgresHealthRepository(sql).schemaVersion()).toBe(0)
    expect(await new ReadinessProbe(postgresHealthRepository(sql), latest).check()).toEqual({
      ready: false,
      reason: 'migrations pending',
    })
  })

  test('a newer release’s migration makes this replica not ready', async () => {
    const sql = await freshPool()
    await migratePostgres(sql, postgresMigrations)
    await sql`INSERT INTO ledgerd_migrations VALUES (${latest + 1}, 'future', 'x', 'now')`
    expect(await new ReadinessProbe(postgresHealthRepository(sql), latest).check()).toEqual({
      ready: false,
      reason: 'database schema is newer than binary',
    })
  })

  test('an unreachable database rejects with DatabaseUnavailableError, and the replica is not ready', async () => {
    const sql = await unreachablePool()
    pools.push(sql)
    const health = postgresHealthRepository(sql)
    await expect(health.schemaVersion()).rejects.toBeInstanceOf(DatabaseUnavailableError)
    expect(await new ReadinessProbe(health, latest).check()).toEqual({
      ready: false,
      reason: 'database unavailable',
    })
  })
})

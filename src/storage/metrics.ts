import type { StatsFs } from 'node:fs'
import { statfs } from 'node:fs/promises'
import { Gauge, type Registry } from 'prom-client'
import type { Storage } from './storage'

/** What the volume gauges use of statfs. */
export type VolumeStats = Pick<StatsFs, 'bavail' | 'blocks' | 'bsize'>

/**
 * What the storage itself shows: PostgreSQL's connection pool (counted at ledgerd's seam,
 * src/db/postgres/pool-usage.ts), or, for SQLite, the space left on the data dir's volume, read with
 * statfs at each scrape (a full volume stops every commit).
 */
export function registerStorageMetrics(
  registry: Registry,
  storage: Storage,
  dataDir: string,
  readVolume: (path: string) => Promise<VolumeStats> = (path) => statfs(path),
): void {
  if (storage.kind === 'postgres') {
    const pool = storage.poolUsage
    if (pool === undefined) return
    const dialect = 'postgres'
    new Gauge({
      name: 'ledgerd_db_pool_connections',
      help: 'PostgreSQL pool connections running a query or a transaction (in_use), or open and idle.',
      labelNames: ['dialect', 'state'] as const,
      registers: [registry],
      collect() {
        this.set({ dialect, state: 'in_use' }, pool.inUse())
        this.set({ dialect, state: 'idle' }, pool.idle())
      },
    })
    new Gauge({
      name: 'ledgerd_db_pool_max_connections',
      help: 'The most connections the PostgreSQL pool opens (--db-pool-size).',
      labelNames: ['dialect'] as const,
      registers: [registry],
    }).set({ dialect }, pool.max)
    new Gauge({
      name: 'ledgerd_db_pool_waiting',
      help: 'Queries and transactions waiting for a PostgreSQL pool connection.',
      labelNames: ['dialect'] as const,
      registers: [registry],
      collect() {
        this.set({ dialect }, pool.waiting())
      },
    })
    return
  }
  // Asynchronous: a scrape never holds the event loop on a slow or hung volume. A volume that cannot be
  // read (the data dir gone) leaves the gauges at their last value rather than failing the whole scrape.
  // One statfs serves both gauges: prom-client calls every collect() of a scrape in the same tick, so
  // the second finds the first's read still pending and shares it (as does a scrape running meanwhile).
  // Both values then come from one moment, and a scrape costs one syscall, not one per gauge.
  let reading: Promise<VolumeStats | undefined> | undefined
  const volume = () => {
    reading ??= readVolume(dataDir)
      .catch(() => undefined)
      .finally(() => {
        reading = undefined
      })
    return reading
  }
  new Gauge({
    name: 'ledgerd_data_volume_available_bytes',
    help: "Bytes an unprivileged process can still write on the data dir's volume (statfs, at scrape).",
    registers: [registry],
    async collect() {
      const stats = await volume()
      if (stats) this.set(stats.bavail * stats.bsize)
    },
  })
  new Gauge({
    name: 'ledgerd_data_volume_capacity_bytes',
    help: "Size of the data dir's volume in bytes (statfs, at scrape).",
    registers: [registry],
    async collect() {
      const stats = await volume()
      if (stats) this.set(stats.blocks * stats.bsize)
    },
  })
}

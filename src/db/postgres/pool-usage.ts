import type { Sql } from './connection'

/** How busy the connection pool is, for the pool gauges (`ledgerd_db_pool_*`). */
export interface PoolUsage {
  readonly max: number
  inUse(): number
  idle(): number
  waiting(): number
  /** Tell it a connection closed (postgres.js's onclose option). */
  connectionClosed(): void
}

type Executable = { handler?: (query: unknown) => unknown; then?: unknown }

/**
 * postgres.js 3.4.9 keeps its pool's queues (open, busy, full, waiting queries) private, so the pool is
 * counted at ledgerd's seam instead: `sql` is wrapped so that every query run on the pool and every
 * transaction (which holds a connection until it ends) counts as in use from when postgres.js starts
 * executing it until it settles. At most `max` of those hold a connection; the rest wait. Open
 * connections are not visible either: the count rises with the busiest moment and falls with each
 * close postgres.js reports (idle_timeout, max_lifetime, a lost server), so `idle` is open minus in use,
 * an estimate that is exact whenever the pool was busy since the last close.
 */
export function countPoolUsage(sql: Sql, max: number): { sql: Sql; usage: PoolUsage } {
  let running = 0
  let open = 0
  const started = () => {
    running++
    open = Math.max(open, Math.min(running, max))
  }
  const settled = () => {
    running--
  }
  // A Query is a lazy promise: postgres.js calls its handler when it is first awaited. Fragments
  // (sql`...` inside another sql`...`) are never awaited, so they are never counted.
  const counted = <T>(query: T): T => {
    const executable = query as Executable
    const handler = executable?.handler
    if (typeof handler !== 'function' || typeof executable.then !== 'function') return query
    executable.handler = (pending: unknown) => {
      started()
      ;(pending as Promise<unknown>).then(settled, settled)
      return handler(pending)
    }
    return query
  }
  const wrapped = new Proxy(sql, {
    apply: (target, self, args) => counted(Reflect.apply(target, self, args)),
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver)
      if (property === 'unsafe')
        return (...args: unknown[]) => counted((value as (...a: unknown[]) => unknown).apply(target, args))
      if (property === 'begin') {
        return async (...args: unknown[]) => {
          started()
          try {
            return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args)
          } finally {
            settled()
          }
        }
      }
      return value
    },
  })
  const inUse = () => Math.min(running, max)
  return {
    sql: wrapped,
    usage: {
      max,
      inUse,
      idle: () => Math.max(0, open - inUse()),
      waiting: () => Math.max(0, running - max),
      connectionClosed() {
        open = Math.max(0, open - 1)
      },
    },
  }
}

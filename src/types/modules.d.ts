// Text imports: Bun embeds these files' contents in the bundle (migrations, docs assets).
declare module '*.sql' {
  const text: string
  export default text
}

// better-sqlite3's per-platform entries export the same API as the package root.
declare module 'better-sqlite3/linux-x64' {
  import Database from 'better-sqlite3'
  export default Database
}
declare module 'better-sqlite3/linux-arm64' {
  import Database from 'better-sqlite3'
  export default Database
}

// prom-client's default metrics one by one (src/observability/runtime-metrics.ts keeps those real under
// Bun); each registers its gauges or counters into the registry it is given.
declare module 'prom-client/lib/metrics/*' {
  import type { Registry } from 'prom-client'

  const collector: (registry: Registry, config?: Record<string, unknown>) => void
  export default collector
}

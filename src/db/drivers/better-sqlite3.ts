import { drizzle } from 'drizzle-orm/better-sqlite3'
import { schema } from '../schema'
import {
  connectionPragmas,
  type NativeDatabase,
  type Orm,
  type SqliteConnection,
  type SqliteOptions,
  sqliteConnection,
} from '../sqlite'

type BetterSqlite3 = typeof import('better-sqlite3')

// Build-time constant set by scripts/build.sh; absent when running from source.
declare const LEDGERD_TARGET: string | undefined

/**
 * better-sqlite3 is loaded only when selected: its native addon crashes under Node 20, and in a compiled
 * binary Bun extracts it to $TMPDIR on load, which a read-only or noexec /tmp refuses. Importing the
 * platform entry (not the package root, which locates the addon on disk) lets `bun build --compile`
 * embed the addon; the build defines LEDGERD_TARGET so only the target platform's addon is embedded.
 */
async function loadBetterSqlite3(): Promise<BetterSqlite3> {
  const target = typeof LEDGERD_TARGET === 'string' ? LEDGERD_TARGET : undefined
  if (target === 'linux-arm64') return (await import('better-sqlite3/linux-arm64')).default
  if (target === 'linux-x64') return (await import('better-sqlite3/linux-x64')).default
  return (await import('better-sqlite3')).default
}

export async function openBetterSqlite3(path: string, options: SqliteOptions): Promise<SqliteConnection> {
  const Database = await loadBetterSqlite3()
  let db: InstanceType<BetterSqlite3>
  try {
    db = new Database(path)
  } catch (error) {
    // The addon is loaded lazily, on the first connection; its raw error names a path inside the binary.
    if (!/shared object|\.node\b/.test(String(error))) throw error
    throw new Error(
      `the better-sqlite3 driver could not load its native addon (${(error as Error).message}); a compiled ` +
        'ledgerd extracts it to $TMPDIR, which must be writable and allow exec. Use --db-driver bun-sqlite, ' +
        'or point TMPDIR at a writable, exec-enabled directory.',
    )
  }
  db.exec(connectionPragmas(options))
  const orm = drizzle({ client: db, schema }) as unknown as Orm
  return sqliteConnection('better-sqlite3', db as unknown as NativeDatabase, orm)
}

// Benchmarks ledgerd's two SQLite drivers (bun:sqlite and better-sqlite3) through drizzle, on the shapes
// ledgerd's writes and reads take, to decide which driver is the default. Both are measured in one run,
// interleaved, on fresh databases in a temp dir (removed at exit) with the pragmas ledgerd uses.
// Usage: bun scripts/bench/bench-sqlite.ts [--quick]
// The temp dir comes from $TMPDIR: point it at the data disk if /tmp is a different (or tmpfs) filesystem.

import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import betterSqlite3Package from 'better-sqlite3/package.json'
import { eq, sql } from 'drizzle-orm'
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core'
import type { DbDriver } from '../../src/config/settings'
import { openBetterSqlite3 } from '../../src/db/drivers/better-sqlite3'
// Importing bun:sqlite (through this driver) fails at once under Node, before better-sqlite3, which
// segfaults under this machine's Node 20, could ever be loaded; the better-sqlite3 driver loads it lazily.
import { openBunSqlite } from '../../src/db/drivers/bun-sqlite'
import type { Orm, SqliteConnection } from '../../src/db/sqlite'

const usage = 'usage: bun scripts/bench/bench-sqlite.ts [--quick]'

// Full mode stays under ~60 s: each sample runs about sampleMs on the slower driver (less on the faster),
// so the samples take at most 3 workloads x rounds x 2 x sampleMs, plus the warm-ups.
// Many short rounds rather than a few long ones: a burst of load from a neighbour then spoils few samples,
// and an odd count gives a true median.
const plans = {
  full: { rounds: 11, sampleMs: 600, warmupMs: 500, fsyncProbeMs: 500 },
  quick: { rounds: 5, sampleMs: 200, warmupMs: 150, fsyncProbeMs: 200 },
}

const accountCount = 1000
/** Entries per batched transaction: the group-commit shape, many requests sharing one commit (one fsync). */
const batchSize = 32
const amount = 100
// A constant timestamp: formatting a Date per row would add the same JS cost to both drivers and only
// dilute the difference being measured.
const createdAt = '2025-01-01T00:00:00.000Z'

const accounts = sqliteTable('accounts', {
  id: integer('id').primaryKey(),
  balance: integer('balance').notNull(),
})

const entries = sqliteTable('entries', {
  id: integer('id').primaryKey(),
  accountId: integer('account_id').notNull(),
  amount: integer('amount').notNull(),
  createdAt: text('created_at').notNull(),
})

// The index is what a ledger has to list an account's entries; it makes each insert touch two b-trees,
// as ledgerd's will.
const ddl = `
CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL);
CREATE TABLE entries (
  id INTEGER PRIMARY KEY,
  account_id INTEGER NOT NULL,
  amount INTEGER NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX entries_account_id ON entries (account_id);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${accountCount})
INSERT INTO accounts (id, balance) SELECT i, 0 FROM n;
`

function queries(orm: Orm) {
  return {
    insertEntry: orm.insert(entries).values({
      accountId: sql.placeholder('accountId'),
      amount: sql.placeholder('amount'),
      createdAt: sql.placeholder('createdAt'),
    }),
    addToBalance: orm
      .update(accounts)
      .set({ balance: sql`${accounts.balance} + ${sql.placeholder('delta')}` })
      .where(eq(accounts.id, sql.placeholder('id'))),
    accountById: orm
      .select()
      .from(accounts)
      .where(eq(accounts.id, sql.placeholder('id'))),
  }
}

// Prepared once per connection and reused, as a server would: the benchmark then measures executing
// statements, not parsing SQL or building queries.
function prepareStatements(orm: Orm) {
  const q = queries(orm)
  return {
    insertEntry: q.insertEntry.prepare(),
    addToBalance: q.addToBalance.prepare(),
    accountById: q.accountById.prepare(),
  }
}

interface Subject {
  driver: DbDriver
  conn: SqliteConnection
  st: ReturnType<typeof prepareStatements>
  /** xorshift32 state; both drivers start from the same seed. */
  rng: number
  /** Folds read results in, so the reads' results are used. */
  sink: number
}

function nextAccount(s: Subject): number {
  // A cheap deterministic spread over the accounts, so reads and updates do not all hit one cached row.
  let x = s.rng
  x ^= x << 13
  x ^= x >>> 17
  x ^= x << 5
  s.rng = x >>> 0
  return (s.rng % accountCount) + 1
}

interface Workload {
  name: string
  /** Ops between clock reads while warming up: a clock read per op would be a visible share of a read. */
  chunk: number
  minOps: number
  run(s: Subject, ops: number): void
}

const workloads: Workload[] = [
  {
    name: 'batched write txn',
    chunk: 1,
    minOps: 10,
    run(s, ops) {
      for (let i = 0; i < ops; i++) {
        const accountId = nextAccount(s)
        s.conn.immediate(() => {
          for (let j = 0; j < batchSize; j++) s.st.insertEntry.run({ accountId, amount, createdAt })
          s.st.addToBalance.run({ delta: amount * batchSize, id: accountId })
        })
      }
    },
  },
  {
    name: 'single-row write txn',
    chunk: 1,
    minOps: 10,
    run(s, ops) {
      for (let i = 0; i < ops; i++) {
        const accountId = nextAccount(s)
        s.conn.immediate(() => {
          s.st.insertEntry.run({ accountId, amount, createdAt })
          s.st.addToBalance.run({ delta: amount, id: accountId })
        })
      }
    },
  },
  {
    name: 'point read',
    chunk: 1000,
    minOps: 1000,
    run(s, ops) {
      for (let i = 0; i < ops; i++) {
        const row = s.st.accountById.get({ id: nextAccount(s) })
        s.sink += row?.balance ?? 0
      }
    },
  },
]

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  const hi = sorted[mid] ?? Number.NaN
  return sorted.length % 2 === 1 ? hi : ((sorted[mid - 1] ?? Number.NaN) + hi) / 2
}

const log = (message: string) => console.error(`==> ${message}`)
const int = (n: number) => Math.round(n).toLocaleString('en-US')

/**
 * Writes a page and fdatasyncs it, as a WAL commit does, to show what one durable commit costs here. The
 * pages overwrite a preallocated file: a WAL in steady state is rewritten from its start after each
 * checkpoint, and an append would also have to sync the file's new size, costing more than a commit does.
 */
function probeFsync(dir: string, ms: number): number {
  const path = join(dir, 'fsync-probe')
  const fd = openSync(path, 'w')
  const page = Buffer.alloc(4096, 1)
  const pages = 256
  const latencies: number[] = []
  try {
    writeSync(fd, Buffer.alloc(page.length * pages))
    fdatasyncSync(fd)
    const end = performance.now() + ms
    while (performance.now() < end || latencies.length < 10) {
      writeSync(fd, page, 0, page.length, (latencies.length % pages) * page.length)
      const t = performance.now()
      fdatasyncSync(fd)
      latencies.push(performance.now() - t)
    }
  } finally {
    closeSync(fd)
    rmSync(path, { force: true })
  }
  return median(latencies)
}

const synchronousNames = ['OFF', 'NORMAL', 'FULL', 'EXTRA']

/** Reads back what the connection really runs with: a benchmark of a non-durable setup would be moot. */
function durability(conn: SqliteConnection) {
  const [sync] = conn.all<{ synchronous: number }>('PRAGMA synchronous')
  const [mode] = conn.all<{ journal_mode: string }>('PRAGMA journal_mode')
  const [version] = conn.all<{ v: string }>('SELECT sqlite_version() AS v')
  return {
    synchronous: synchronousNames[sync?.synchronous ?? -1] ?? String(sync?.synchronous),
    journalMode: mode?.journal_mode ?? '?',
    sqliteVersion: version?.v ?? '?',
  }
}

/** Time-boxed run; warms the JIT and the page cache, and returns the rate used to size the samples. */
function warmUp(w: Workload, s: Subject, ms: number): number {
  let ops = 0
  const start = performance.now()
  let elapsed = 0
  while (elapsed < ms) {
    w.run(s, w.chunk)
    ops += w.chunk
    elapsed = performance.now() - start
  }
  return (ops * 1000) / elapsed
}

/** Fixed-count run: both drivers do identical work per sample, so their databases grow alike. */
function sample(w: Workload, s: Subject, ops: number): number {
  // A full collection first, so garbage left by the previous sample (often the other driver's) is not
  // collected on this one's clock.
  Bun.gc(true)
  const start = performance.now()
  w.run(s, ops)
  return (ops * 1000) / (performance.now() - start)
}

// Lets a pending SIGINT run its handler (which removes the temp dir) between samples.
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve))

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  if (args.includes('--help') || args.includes('-h')) {
    console.log(usage)
    return
  }
  const unknown = args.filter((a) => a !== '--quick')
  if (unknown.length > 0) {
    console.error(`unknown argument: ${unknown.join(' ')}\n${usage}`)
    process.exit(2)
  }
  const mode = args.includes('--quick') ? 'quick' : 'full'
  const plan = plans[mode]
  const started = performance.now()

  const dir = mkdtempSync(join(tmpdir(), 'ledgerd-bench-'))
  const subjects: Subject[] = []
  let cleanedUp = false
  const cleanup = () => {
    if (cleanedUp) return
    cleanedUp = true
    for (const s of subjects) s.conn.close()
    rmSync(dir, { recursive: true, force: true })
  }
  process.once('SIGINT', () => {
    cleanup()
    process.exit(130)
  })

  try {
    log(
      `${mode} mode: ${plan.rounds} rounds, ~${plan.sampleMs} ms per sample;` +
        ` temp dir ${dir} (removed at exit)`,
    )
    log(`bun ${Bun.version}, better-sqlite3 ${betterSqlite3Package.version}`)

    const options = { busyTimeoutMs: 5000 }
    const opened = [
      openBunSqlite(join(dir, 'bun-sqlite.db'), options),
      await openBetterSqlite3(join(dir, 'better-sqlite3.db'), options),
    ]
    for (const conn of opened) {
      conn.exec(ddl)
      subjects.push({ driver: conn.driver, conn, st: prepareStatements(conn.orm), rng: 0x9e3779b9, sink: 0 })
    }
    log(`created accounts (${accountCount} rows) and entries (+ index on account_id) in each database`)
    const shown = queries(subjects[0]?.conn.orm as Orm)
    log(`prepared: ${shown.insertEntry.toSQL().sql}`)
    log(`prepared: ${shown.addToBalance.toSQL().sql}`)
    log(`prepared: ${shown.accountById.toSQL().sql}`)

    const setups = subjects.map((s) => ({ driver: s.driver, ...durability(s.conn) }))
    for (const d of setups) {
      if (d.synchronous !== 'FULL' || d.journalMode !== 'wal') {
        throw new Error(`${d.driver} runs synchronous=${d.synchronous} journal_mode=${d.journalMode}`)
      }
    }
    log(`measuring raw fdatasync latency in ${dir}`)
    const fsyncMs = probeFsync(dir, plan.fsyncProbeMs)

    // Warm-ups double as calibration: each sample gets the op count the slower driver does in sampleMs.
    const opsPerSample = workloads.map((w) => {
      const rates = subjects.map((s) => warmUp(w, s, plan.warmupMs))
      const ops = Math.max(w.minOps, Math.round((Math.min(...rates) * plan.sampleMs) / 1000))
      log(`warmed up ${w.name}: ${ops} ops per sample`)
      return ops
    })

    // rates[workload][subject][round]
    const rates = workloads.map(() => subjects.map((): number[] => []))
    for (let round = 0; round < plan.rounds; round++) {
      log(`round ${round + 1}/${plan.rounds}`)
      // A, B then B, A: neither driver always runs right after the other's writes (checkpoints, cache).
      const order = round % 2 === 0 ? [0, 1] : [1, 0]
      for (const [wi, w] of workloads.entries()) {
        for (const si of order) {
          const s = subjects[si] as Subject
          rates[wi]?.[si]?.push(sample(w, s, opsPerSample[wi] ?? w.minOps))
          await yieldToEventLoop()
        }
      }
    }

    // Each database's entries must sum to its balances: proof every conditional update matched its row.
    // (Entry counts differ a little: the warm-ups are time-boxed, the samples are not.)
    const totals = subjects.map((s) => {
      const [t] = s.conn.all<{ n: number; entries: number; balances: number }>(
        'SELECT (SELECT count(*) FROM entries) AS n,' +
          ' (SELECT coalesce(sum(amount), 0) FROM entries) AS entries,' +
          ' (SELECT sum(balance) FROM accounts) AS balances',
      )
      if (!t || t.entries !== t.balances) throw new Error(`${s.driver}: entries do not sum to the balances`)
      return t
    })

    const header = ['workload', 'bun-sqlite ops/s', 'better-sqlite3 ops/s', 'ratio']
    const rows = workloads.map((w, wi) => {
      const [a = [], b = []] = rates[wi] ?? []
      return [w.name, int(median(a)), int(median(b)), (median(a) / median(b)).toFixed(2)]
    })
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
    const line = (cells: string[]) =>
      cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ')
    console.log('')
    console.log(line(header))
    console.log(widths.map((w) => '-'.repeat(w)).join('  '))
    for (const r of rows) console.log(line(r))
    console.log('')
    console.log(
      `medians of ${plan.rounds} interleaved rounds; ratio = bun-sqlite / better-sqlite3 (> 1: bun-sqlite`,
    )
    console.log(
      `faster). Write ops are committed transactions (batched: ${batchSize} entry inserts + 1 balance`,
    )
    console.log(
      'update; single-row: 1 + 1); read ops are queries. Per-round ratios, to tell a win from noise:',
    )
    for (const [wi, w] of workloads.entries()) {
      const [a = [], b = []] = rates[wi] ?? []
      const ratios = a.map((x, i) => x / (b[i] ?? Number.NaN))
      const wins = ratios.filter((r) => r > 1).length
      console.log(
        `  ${w.name}: ${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)},` +
          ` bun-sqlite faster in ${wins}/${ratios.length} rounds`,
      )
    }
    console.log('')
    console.log('fsync reality:')
    for (const d of setups) {
      console.log(
        `  ${d.driver}: synchronous=${d.synchronous}, journal_mode=${d.journalMode},` +
          ` sqlite ${d.sqliteVersion}` +
          ' (WAL + FULL: every commit fsyncs the WAL)',
      )
    }
    const ceiling = 1000 / fsyncMs
    console.log(
      `  raw 4 KiB overwrite + fdatasync in ${tmpdir()}: median ${(fsyncMs * 1000).toFixed(0)} us,` +
        ` a ceiling of ~${int(ceiling)} durable commits/s`,
    )
    const singleWrites = median(rates[1]?.flat() ?? [])
    console.log(
      `  single-row writes commit at ~${int(singleWrites)}/s,` +
        ` ${((singleWrites / ceiling) * 100).toFixed(0)}%` +
        ' of that ceiling\n  (the closer to 100%, the more fsync, not the driver, sets the write rate)',
    )
    if (fsyncMs < 0.02) {
      console.log(
        '  warning: fsync is nearly free here (tmpfs or a write-back cache); writes measure CPU only',
      )
    }
    const counts = totals.map((t, i) => `${subjects[i]?.driver} ${int(t.n)}`).join(', ')
    console.log('')
    console.log(
      `checked: entries sum to the account balances (${counts} entries);` +
        ` ran ${((performance.now() - started) / 1000).toFixed(1)} s`,
    )
  } finally {
    cleanup()
  }
}

await main()

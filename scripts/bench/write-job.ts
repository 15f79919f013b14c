// Where a ledger write's time goes in the writer: its CPU per job, running ledgerd's real LedgerWriterCore
// (in-memory decisions, one row per transaction, balances written once per batch, one commit and fsync
// per batch) in this thread, on fresh databases with ledgerd's migrations and pragmas (WAL,
// synchronous=FULL). Variants change one thing each; they run in one process, taking turns in short
// windows, and the report gives each one's median µs per job and writes/s.
// Usage: bun scripts/bench/write-job.ts [--quick] [--batch N]
// The temp dir comes from $TMPDIR: keep it on the data disk (a tmpfs would hide the fsync).

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sqliteMigrations } from '../../src/db/migrations/sqlite'
import { migrate } from '../../src/db/migrator'
import { openDatabase } from '../../src/db/open'
import type { SqliteConnection } from '../../src/db/sqlite'
import type { Job } from '../../src/ledger/jobs'
import { LedgerWriterCore } from '../../src/ledger/sqlite/writer-core'

const quick = Bun.argv.includes('--quick')
const batchArg = Bun.argv.indexOf('--batch')
const batchSize = batchArg > 0 ? Number(Bun.argv[batchArg + 1]) : 32
const windows = quick ? 5 : 15
const windowMs = quick ? 150 : 250
const accountCount = 64

interface Variant {
  name: string
  /** How a job's Idempotency-Key is made. */
  keys: 'counter' | 'per-connection' | 'uuid' | 'none'
  /** Deposits only, or the benchmark's 70 : 20 deposits and withdrawals. */
  mix: 'deposits' | 'mixed'
  foreignKeysOff?: boolean
}

const variants: Variant[] = [
  {
    name: 'deposits, one counter for all keys (appended at the index end)',
    keys: 'counter',
    mix: 'deposits',
  },
  {
    name: 'deposits, keys as wrk makes them (a counter per connection, 64 connections)',
    keys: 'per-connection',
    mix: 'deposits',
  },
  { name: 'deposits, random UUID keys (as most clients make them)', keys: 'uuid', mix: 'deposits' },
  { name: 'deposits, no key', keys: 'none', mix: 'deposits' },
  { name: 'mixed 70:20, counter keys', keys: 'counter', mix: 'mixed' },
  {
    name: 'deposits, counter keys, foreign keys off',
    keys: 'counter',
    mix: 'deposits',
    foreignKeysOff: true,
  },
]

const root = mkdtempSync(join(tmpdir(), 'ledgerd-write-job-'))
process.on('exit', () => rmSync(root, { recursive: true, force: true }))

interface Prepared {
  variant: Variant
  db: SqliteConnection
  core: LedgerWriterCore
  owner: string
  accounts: string[]
  counter: number
  cpuPerJob: number[]
  writesPerSecond: number[]
}

async function prepare(variant: Variant, index: number): Promise<Prepared> {
  const db = await openDatabase({
    dataDir: join(root, String(index)),
    dbDriver: 'bun-sqlite',
    sqliteBusyTimeoutMs: 1000,
  })
  migrate(db, sqliteMigrations)
  if (variant.foreignKeysOff) db.exec('PRAGMA foreign_keys = OFF')
  const owner = Bun.randomUUIDv7()
  db.statement(
    `INSERT INTO users (id, email, email_key, name, role, created_at, updated_at)
     VALUES (?, 'bench@example.com', 'bench@example.com', 'Bench', 'user', 'now', 'now')`,
  ).run(owner)
  const core = new LedgerWriterCore(db)
  const opened = core.runBatch(
    Array.from({ length: accountCount }, () => ({
      caller: owner,
      command: { op: 'open-account', currency: 'USD' },
    })),
  )
  const accounts = opened.map((result) => (result as { account: { id: string } }).account.id)
  core.runBatch(
    accounts.map((accountId) => ({
      caller: owner,
      command: { op: 'deposit', accountId, amount: 1_000_000_000 },
    })),
  )
  return { variant, db, core, owner, accounts, counter: 0, cpuPerJob: [], writesPerSecond: [] }
}

function job(p: Prepared): Job {
  const accountId = p.accounts[Math.floor(Math.random() * p.accounts.length)] as string
  const op = p.variant.mix === 'deposits' || Math.random() < 7 / 9 ? 'deposit' : 'withdrawal'
  const key =
    p.variant.keys === 'counter'
      ? `run-${p.counter++}`
      : p.variant.keys === 'uuid'
        ? crypto.randomUUID()
        : undefined
  return {
    caller: p.owner,
    key,
    requestId: key && crypto.randomUUID(),
    command: { op, accountId, amount: 1 + Math.floor(Math.random() * 1000) },
  }
}

const prepared = await Promise.all(variants.map(prepare))
for (let round = 0; round < windows; round++) {
  for (const p of prepared) {
    const until = performance.now() + windowMs
    let jobs = 0
    const started = process.cpuUsage()
    const wallStarted = performance.now()
    while (performance.now() < until) {
      p.core.runBatch(Array.from({ length: batchSize }, () => job(p)))
      jobs += batchSize
    }
    const cpu = process.cpuUsage(started)
    const wall = performance.now() - wallStarted
    // Skip the first window of each: JIT and page cache.
    if (round > 0) {
      p.cpuPerJob.push((cpu.user + cpu.system) / jobs)
      p.writesPerSecond.push((jobs / wall) * 1000)
    }
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? 0
}
console.log(
  `batch of ${batchSize}, ${accountCount} accounts, ${windows - 1} windows of ${windowMs} ms each (medians)`,
)
console.log('µs CPU/job  writes/s  variant')
for (const p of prepared) {
  const cpu = median(p.cpuPerJob).toFixed(1).padStart(10)
  console.log(`${cpu}  ${median(p.writesPerSecond).toFixed(0).padStart(8)}  ${p.variant.name}`)
  p.db.close()
}

// Where a ledger write's time goes: the writer's CPU per deposit job, for ledgerd's real write path
// (BatchCommitter, runJob, the SQL repository) and for variants that each leave one part out, so the
// difference is that part's cost. Every variant has its own fresh database (ledgerd's migrations and
// pragmas: WAL, synchronous=FULL) in one temp dir, removed at exit; they run in one process, taking turns
// in short windows, and the report gives each one's median.
// Usage: bun scripts/bench-write-job.ts [--quick]
// The variants are measuring devices, not alternatives: leaving out the stored answer or the savepoint
// would break idempotency or atomicity. The temp dir comes from $TMPDIR: keep it on the data disk.

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sqliteMigrations } from '../src/db/migrations/sqlite'
import { migrate } from '../src/db/migrator'
import { openDatabase } from '../src/db/open'
import { BatchCommitter } from '../src/ledger/batch-committer'
import { type JobEnvelope, runJob } from '../src/ledger/jobs'
import { type AccountIdentity, sqliteLedgerRepository } from '../src/ledger/repository'
import { benchEnvelope } from './bench/envelope'

const quick = Bun.argv.includes('--quick')
const windows = quick ? 5 : 15
const windowMs = quick ? 150 : 250
const batchSize = 32
const accountCount = 64

interface Variant {
  /** What the variant leaves out, or 'nothing' for the real path. */
  leavesOut: string
  randomKeys?: boolean
  storeNothing?: boolean
  storeEmptyBody?: boolean
  noSavepoints?: boolean
  noExternalUpdate?: boolean
  foreignKeysOff?: boolean
}

const variants: Variant[] = [
  { leavesOut: 'nothing (keys as wrk makes them: a counter per connection)' },
  { leavesOut: 'nothing, with random UUID keys (as most clients make them)', randomKeys: true },
  { leavesOut: 'the stored answer (key, fingerprint, body)', storeNothing: true },
  { leavesOut: "the stored answer's body", storeEmptyBody: true },
  { leavesOut: 'the savepoint around each job', noSavepoints: true },
  { leavesOut: "the external account's balance update", noExternalUpdate: true },
  { leavesOut: 'foreign-key checks', foreignKeysOff: true },
]

const root = mkdtempSync(join(tmpdir(), 'ledgerd-write-job-'))
process.on('exit', () => rmSync(root, { recursive: true, force: true }))

async function prepare(variant: Variant, index: number) {
  const db = await openDatabase({
    dataDir: join(root, String(index)),
    dbDriver: 'bun-sqlite',
    sqliteBusyTimeoutMs: 1000,
  })
  migrate(db, sqliteMigrations)
  if (variant.foreignKeysOff) db.exec('PRAGMA foreign_keys = OFF')
  const ownerId = Bun.randomUUIDv7()
  db.statement(
    `INSERT INTO users (id, email, email_key, name, role, created_at, updated_at)
     VALUES (?, ?, ?, 'Bench', 'user', 'now', 'now')`,
  ).run(ownerId, `${ownerId}@example.com`, `${ownerId}@example.com`)
  const repository = sqliteLedgerRepository(db)
  const committer = new BatchCommitter(db)
  const write = { ...repository.write }
  if (variant.storeNothing) write.storeResponse = () => {}
  if (variant.storeEmptyBody) {
    const store = repository.write.storeResponse
    write.storeResponse = (entry) => store({ ...entry, response: '' })
  }
  if (variant.noExternalUpdate) {
    write.debit = (account, amount) =>
      account.kind === 'external' ? 0 : repository.write.debit(account, amount)
  }

  const envelope = (job: JobEnvelope['job'], idempotencyKey: string, path: string) =>
    benchEnvelope(ownerId, job, idempotencyKey, path)
  const opened = committer.run(
    Array.from(
      { length: accountCount },
      (_, i) => (undo: () => void) =>
        runJob(
          repository.write,
          envelope({ op: 'open-account', currency: 'USD' }, `open-${i}`, '/v1/accounts'),
          undo,
        ),
    ),
  )
  const accounts: AccountIdentity[] = opened.outcomes.map((outcome) => {
    if (!outcome.ok) throw outcome.error
    const { id } = JSON.parse(outcome.value.body) as { id: string }
    return { id, ownerId, kind: 'user', currency: 'USD' }
  })

  let counter = 0
  const batch = () =>
    Array.from({ length: batchSize }, () => {
      const account = accounts[Math.floor(Math.random() * accounts.length)] as AccountIdentity
      const key = variant.randomKeys ? crypto.randomUUID() : `run-1-${counter++}`
      const path = `/v1/accounts/${account.id}/deposits`
      const job = envelope(
        { op: 'deposit', account, amount: 1 + Math.floor(Math.random() * 10_000) },
        key,
        path,
      )
      return (undo: () => void) => runJob(write, job, undo)
    })
  const run = variant.noSavepoints
    ? () =>
        db.immediate(() => {
          for (const job of batch()) job(() => {})
        })
    : () => committer.run(batch())
  return { run, close: () => db.close() }
}

const prepared = await Promise.all(variants.map(prepare))
for (const { run } of prepared) for (let i = 0; i < 30; i++) run() // JIT and page cache

const microsPerJob: number[][] = variants.map(() => [])
for (let w = 0; w < windows; w++) {
  prepared.forEach(({ run }, i) => {
    const before = process.cpuUsage()
    const started = performance.now()
    let jobs = 0
    while (performance.now() - started < windowMs) {
      run()
      jobs += batchSize
    }
    const used = process.cpuUsage(before)
    microsPerJob[i]?.push((used.user + used.system) / jobs)
  })
}
for (const { close } of prepared) close()

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0
const base = median(microsPerJob[0] ?? [])
console.log(
  `CPU per deposit job, batches of ${batchSize}, median of ${windows} windows of ${windowMs} ms each`,
)
variants.forEach((variant, i) => {
  const value = median(microsPerJob[i] ?? [])
  const delta = i === 0 ? '' : `  (${value - base >= 0 ? '+' : ''}${(value - base).toFixed(1)})`
  console.log(`${value.toFixed(1).padStart(6)} µs${delta.padEnd(10)}  leaving out ${variant.leavesOut}`)
})

// The write path's own ceiling for scripts/bench.sh: ledgerd's SQLite engine and its writer thread (the
// same group commit and SQL as the binary, from source on the same pinned Bun) driven directly by N concurrent
// callers, with no HTTP, authentication or load generator in the way. Deposits and withdrawals in the
// proportions of the mixed load (70 : 20), each with a fresh Idempotency-Key made as mixed.lua makes
// them (a per-caller counter, so the keys' index grows mostly at its end), on random accounts of a fresh
// database with ledgerd's pragmas (WAL, synchronous=FULL).
// Prints one "RESULT k=v ..." line like mixed.lua's.
// Usage: bun scripts/bench/writer-ceiling.ts <data dir> <seconds> <concurrent callers> <accounts>
import { sqliteMigrations } from '../../src/db/migrations/sqlite'
import { migrate } from '../../src/db/migrator'
import { openDatabase } from '../../src/db/open'
import type { Caller } from '../../src/ledger/engine'
import { openSqliteLedgerEngine } from '../../src/ledger/sqlite/engine'

const [dataDir, secondsArg, callersArg, accountsArg] = Bun.argv.slice(2)
if (!dataDir || !accountsArg) {
  throw new Error('usage: writer-ceiling.ts <data dir> <seconds> <concurrent callers> <accounts>')
}
const seconds = Number(secondsArg)
const callers = Number(callersArg)
const accountCount = Number(accountsArg)

const config = { dataDir, dbDriver: 'bun-sqlite' as const, sqliteBusyTimeoutMs: 5000 }
const db = await openDatabase(config)
migrate(db, sqliteMigrations)
const ownerId = Bun.randomUUIDv7()
const now = new Date().toISOString()
db.statement(
  `INSERT INTO users (id, email, email_key, name, role, created_at, updated_at)
   VALUES (?, 'bench@example.com', 'bench@example.com', 'Bench', 'user', ?, ?)`,
).run(ownerId, now, now)

let batches = 0
let batchedWrites = 0
const engine = await openSqliteLedgerEngine(config, db, {
  committed(size) {
    batches++
    batchedWrites += size
  },
  failed(reason) {
    throw new Error(`a batch failed to commit: ${reason}`)
  },
  stopped(reason) {
    throw new Error(`the writer stopped: ${reason}`)
  },
})

let setupKeys = 0
const caller = (key = `setup-${setupKeys++}`): Caller => ({
  userId: ownerId,
  idempotency: { key, requestId: crypto.randomUUID() },
})

const accounts: string[] = await Promise.all(
  Array.from({ length: accountCount }, async () => {
    const result = await engine.openAccount(caller(), { op: 'open-account', currency: 'USD' })
    if (!result.ok) throw new Error(`could not open an account: ${result.refusal.code}`)
    return result.value.id
  }),
)
for (const accountId of accounts) {
  await engine.move(caller(), { op: 'deposit', accountId, amount: 1_000_000 })
}

const counts = { ok: 0, insufficient: 0, other: 0 }
const latencies: number[] = []
let measuring = false
let stop = false

async function loop(_: unknown, callerIndex: number) {
  let counter = 0
  while (!stop) {
    const accountId = accounts[Math.floor(Math.random() * accounts.length)] as string
    // 70 : 20, as in the mixed load without its reads.
    const op = Math.random() < 7 / 9 ? 'deposit' : 'withdrawal'
    const amount = 1 + Math.floor(Math.random() * 10_000)
    const started = performance.now()
    const result = await engine.move(caller(`run-${callerIndex}-${counter++}`), { op, accountId, amount })
    if (!measuring) continue
    latencies.push(performance.now() - started)
    if (result.ok) counts.ok++
    else if (result.refusal.code === 'insufficient-funds') counts.insufficient++
    else counts.other++
  }
}

const running = Array.from({ length: callers }, loop)
await Bun.sleep(Math.min(2000, (seconds * 1000) / 4)) // warm-up: JIT, page cache
measuring = true
batches = 0
batchedWrites = 0
const started = performance.now()
await Bun.sleep(seconds * 1000)
measuring = false
const elapsed = (performance.now() - started) / 1000
stop = true
await Promise.all(running)
await engine.close()
db.close()

latencies.sort((a, b) => a - b)
const quantile = (q: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0
const total = counts.ok + counts.insufficient + counts.other
console.log(
  `RESULT rps=${(total / elapsed).toFixed(0)} p50_ms=${quantile(0.5).toFixed(2)} ` +
    `p99_ms=${quantile(0.99).toFixed(2)} ok=${counts.ok} insufficient=${counts.insufficient} ` +
    `http4xx=0 http5xx=0 other=${counts.other} socket=0 timeout=0 ` +
    `mean_batch=${batches ? (batchedWrites / batches).toFixed(1) : 0}`,
)

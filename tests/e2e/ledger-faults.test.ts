import { afterAll, expect, test } from 'bun:test'
import {
  effectOn,
  type LedgerAccount,
  type LedgerClient,
  type LedgerTransaction,
  type LedgerUser,
  ledgerClient,
  type Reply,
} from '../support/ledger-client'
import { type RunningLedgerd, runLedgerd, startLedgerd } from '../support/ledgerd-process'
import { metricsText, sampleValue } from '../support/metrics'
import { disposeAllVolumes, type Ext4Volume, ext4Volume, tmpfsVolume, type Volume } from '../support/volumes'

// Real storage faults under the compiled binary: a full disk, a read-only remount, an ext4 error in the
// middle of a load. A write the server cannot commit is refused with 503 and Retry-After, never 500;
// readiness says so and comes back by itself once the storage does. A commit whose outcome is unknown is
// not guessed at: the process exits and a restart on the same data decides, so every acknowledged write
// is there and every refused one can be retried with its Idempotency-Key and takes effect at most once.
//
// Each test gathers what the server did into one object and compares it with the spec at the end, so a
// failure shows every difference at once rather than the first.

afterAll(disposeAllVolumes)

/** How long readiness may take to follow the storage, with no client write to notice it. */
const readinessFollowsMs = 5_000
/** How long a server that met an unknown commit outcome may take to exit. */
const exitsWithinMs = 5_000
const seedAmount = 1_000_000

const unavailable = {
  status: 503,
  contentType: 'application/problem+json',
  type: '/problems/service-unavailable',
  retryAfter: expect.stringMatching(/^\d+$/),
}

/** The parts of a reply the fault spec is about. */
const answer = (reply: Reply<unknown>) => ({
  status: reply.status,
  contentType: reply.headers.get('content-type'),
  type: reply.problem?.type,
  retryAfter: reply.headers.get('retry-after'),
})

interface Readiness {
  status: number
  body: { status?: string; reason?: string }
}

async function readiness(server: RunningLedgerd): Promise<Readiness> {
  const response = await fetch(`${server.adminUrl}/readyz`, { signal: AbortSignal.timeout(2_000) })
  return { status: response.status, body: (await response.json()) as Readiness['body'] }
}

/** Polls /readyz until it answers `status` or the time is up; returns the last answer either way. */
async function readinessBecomes(server: RunningLedgerd, status: number, withinMs: number) {
  const deadline = performance.now() + withinMs
  for (;;) {
    const last = await readiness(server)
    if (last.status === status || performance.now() > deadline) return last
    await Bun.sleep(100)
  }
}

/** `ledgerd verify` on a data dir, as exit code and output. */
async function verification(dataDir: string) {
  const { exitCode, stdout, stderr } = await runLedgerd(['verify', '--data-dir', dataDir])
  return { exitCode, output: `${stdout}${stderr}`.trim() }
}

const verified = {
  exitCode: 0,
  output: expect.stringMatching(/^ok: \d+ accounts, \d+ transactions checked$/),
}

interface Funded {
  api: LedgerClient
  owner: LedgerUser
  account: LedgerAccount
  seed: LedgerTransaction
}

/** A user with one USD account holding seedAmount, every write acknowledged and keyed. */
async function fundedAccount(server: RunningLedgerd, name: string): Promise<Funded> {
  const api = ledgerClient(server.apiUrl, { timeoutMs: 5_000 })
  const owner = await api.signUp(`${name}@example.com`)
  const opened = await api.createAccount(owner.token, 'USD', { idempotencyKey: `open-${name}` })
  expect(opened.status).toBe(201)
  const seeded = await api.deposit(owner.token, opened.body.id, seedAmount, {
    idempotencyKey: `seed-${name}`,
  })
  expect(seeded.status).toBe(201)
  return { api, owner, account: opened.body, seed: seeded.body }
}

async function balanceOf({ api, owner, account }: Funded): Promise<number> {
  const reply = await api.getAccount(owner.token, account.id)
  expect(reply.status).toBe(200)
  return reply.body.balance
}

async function transactionCount({ api, owner, account }: Funded): Promise<number> {
  return (await api.allTransactions(owner.token, account.id)).length
}

function killIfRunning(server: RunningLedgerd | undefined) {
  if (server && server.process.exitCode === null && !server.process.killed) server.process.kill('SIGKILL')
}

async function faultMetrics(server: RunningLedgerd, kind: string) {
  const text = await metricsText(server.adminUrl)
  return {
    databaseErrors: sampleValue(text, 'ledgerd_db_errors_total', { dialect: 'sqlite', kind }),
    ready: sampleValue(text, 'ledgerd_ready'),
  }
}

/**
 * The shared shape of the disk-full and read-only scenarios: the fault, a refused deposit that changes
 * nothing, readiness that says why, the fault lifted, readiness back with no client write, and the same
 * deposit retried with its key taking effect exactly once.
 */
async function refusedThenRecovered(
  volume: Volume,
  fault: () => Promise<unknown>,
  lift: () => Promise<void>,
  faultKind: string,
) {
  let server: RunningLedgerd | undefined
  try {
    server = await startLedgerd({ dataDir: volume.dataDir })
    const funded = await fundedAccount(server, 'ann')
    const { api, owner, account } = funded
    const deposit = () => api.deposit(owner.token, account.id, 25, { idempotencyKey: 'during-the-fault' })
    const transactionsBefore = await transactionCount(funded)

    await fault()
    const refused = await deposit()
    const whileFaulty = {
      deposit: answer(refused),
      balance: await balanceOf(funded),
      transactions: await transactionCount(funded),
      readiness: await readinessBecomes(server, 503, readinessFollowsMs),
      metrics: await faultMetrics(server, faultKind),
    }

    await lift()
    const afterLift = await readinessBecomes(server, 200, readinessFollowsMs)
    const retried = await deposit()
    const retriedAgain = await deposit()
    const observed = {
      whileFaulty,
      readinessAfterLift: afterLift.status,
      retried: { status: retried.status, replayed: retried.replayed },
      retriedAgain: {
        status: retriedAgain.status,
        replayed: retriedAgain.replayed,
        sameTransaction: retriedAgain.body?.id === retried.body?.id,
      },
      balanceAfter: await balanceOf(funded),
      exitCode: await server.stop(),
      verify: await verification(volume.dataDir),
    }
    expect(observed).toEqual({
      whileFaulty: {
        deposit: unavailable,
        balance: seedAmount,
        transactions: transactionsBefore,
        readiness: { status: 503, body: { status: 'not ready', reason: expect.stringMatching(/writ/i) } },
        // What on-call sees: the refused write counted by kind, and readiness false in the metrics too.
        metrics: { databaseErrors: 1, ready: 0 },
      },
      readinessAfterLift: 200,
      retried: { status: 201, replayed: false },
      retriedAgain: { status: 201, replayed: true, sameTransaction: true },
      balanceAfter: seedAmount + 25,
      exitCode: 0,
      verify: verified,
    })
  } finally {
    killIfRunning(server)
    await server?.exited
    await volume.dispose()
  }
}

test('disk full: a deposit answers 503 with Retry-After and changes nothing; readiness says why and comes back by itself once space is freed; the retried deposit takes effect once', async () => {
  const volume = await tmpfsVolume({ sizeMiB: 16 })
  await refusedThenRecovered(
    volume,
    () => volume.fill(),
    () => volume.free(),
    'disk_full',
  )
}, 30_000)

// A read-only remount under a running server cannot be made: Linux refuses `mount -o remount,ro` with
// EBUSY while any file on the filesystem is open for writing, as ledgerd's database is. At run time a
// volume turns read-only only by the kernel's own hand (ext4 errors=remount-ro: the ext4 error test
// below, where the writes fail with I/O errors). What can be tried is a volume that is read-only when
// ledgerd starts, as after such an error, before an operator has repaired it.
test('a data volume that is read-only at start: serve exits 1 saying so, binds nothing; once writable, it serves', async () => {
  const volume = await ext4Volume({ sizeMiB: 64 })
  let server: RunningLedgerd | undefined
  try {
    server = await startLedgerd({ dataDir: volume.dataDir, keepDataDir: true })
    const funded = await fundedAccount(server, 'ro')
    expect(await server.stop()).toBe(0)

    await volume.remountReadOnly()
    const refused = await runLedgerd([
      'serve',
      '--port',
      '0',
      '--admin-port',
      '0',
      '--data-dir',
      volume.dataDir,
    ])
    expect({ exitCode: refused.exitCode, stdout: refused.stdout }).toEqual({
      exitCode: 1,
      stdout: expect.not.stringContaining('"listening"'),
    })
    // Whichever comes first, the lock file or the database, the message says the volume is read-only.
    expect(refused.stderr).toMatch(/read-?only/i)

    await volume.remountReadWrite()
    server = await startLedgerd({ dataDir: volume.dataDir, keepDataDir: true })
    const { api, owner, account } = { ...funded, api: ledgerClient(server.apiUrl) }
    expect((await api.deposit(owner.token, account.id, 1)).status).toBe(201)
    expect(await server.stop()).toBe(0)
    expect(await verification(volume.dataDir)).toEqual(verified)
  } finally {
    killIfRunning(server)
    await server?.exited
    await volume.dispose()
  }
}, 30_000)

test('a data dir that fills up while the server is idle does not make it exit', async () => {
  const volume = await tmpfsVolume({ sizeMiB: 16 })
  let server: RunningLedgerd | undefined
  try {
    server = await startLedgerd({ dataDir: volume.dataDir })
    const funded = await fundedAccount(server, 'bob')
    await volume.fill()
    // Longer than any background work (readiness probes, checkpoints) needs to meet the full disk.
    await Bun.sleep(6_000)
    const whileFull = {
      exitCode: server.process.exitCode,
      liveness: (await fetch(`${server.adminUrl}/healthz`)).status,
      balance: await balanceOf(funded),
    }
    await volume.free()
    const afterFree = await readinessBecomes(server, 200, readinessFollowsMs)
    const deposit = await funded.api.deposit(funded.owner.token, funded.account.id, 7, {
      idempotencyKey: 'after-the-idle-fill',
    })
    expect({
      whileFull,
      readinessAfterFree: afterFree.status,
      deposit: deposit.status,
      exitCode: await server.stop(),
      verify: await verification(volume.dataDir),
    }).toEqual({
      whileFull: { exitCode: null, liveness: 200, balance: seedAmount },
      readinessAfterFree: 200,
      deposit: 201,
      exitCode: 0,
      verify: verified,
    })
  } finally {
    killIfRunning(server)
    await server?.exited
    await volume.dispose()
  }
}, 30_000)

interface Sent {
  caller: LedgerUser
  path: string
  body: Record<string, unknown>
  key: string
}

/** What one request got: its reply, or that the connection failed (the process was gone). */
type Result = { sent: Sent; reply?: Reply<LedgerTransaction>; error?: string }

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T
const upTo = (max: number) => 1 + Math.floor(Math.random() * max)

const send = (client: LedgerClient, sent: Sent) =>
  client.send<LedgerTransaction>('POST', sent.path, {
    token: sent.caller.token,
    body: sent.body,
    idempotencyKey: sent.key,
  })

test('ext4 error under load: the failed batch answers 503 with Retry-After, the process exits by itself, and after fsck and a restart every acknowledged write is there and every refused one, retried with its key, takes effect at most once', async () => {
  const volume: Ext4Volume = await ext4Volume({ sizeMiB: 64 })
  const servers: RunningLedgerd[] = []
  try {
    const first = await startLedgerd({ dataDir: volume.dataDir })
    servers.push(first)
    const funded = [
      await fundedAccount(first, 'cat'),
      await fundedAccount(first, 'dan'),
      await fundedAccount(first, 'eve'),
    ]
    const api = ledgerClient(first.apiUrl, { timeoutMs: 5_000 })
    const results: Result[] = []
    let sequence = 0
    let faultAt = Number.POSITIVE_INFINITY
    let stopLoad = false

    const nextRequest = (): Sent => {
      const from = pick(funded)
      const key = `load-${++sequence}`
      if (Math.random() < 0.5)
        return {
          caller: from.owner,
          path: `/v1/accounts/${from.account.id}/deposits`,
          body: { amount: upTo(100) },
          key,
        }
      const to = pick(funded.filter((f) => f !== from))
      return {
        caller: from.owner,
        path: '/v1/transfers',
        body: { fromAccountId: from.account.id, toAccountId: to.account.id, amount: upTo(100) },
        key,
      }
    }
    // Each client stops at its first answer other than 201, as a client honouring Retry-After would:
    // the fault is met by the batch in flight, and the retries after the restart stay few.
    const load = Array.from({ length: 16 }, async () => {
      while (!stopLoad) {
        const sent = nextRequest()
        try {
          const reply = await send(api, sent)
          results.push({ sent, reply })
          if (reply.status !== 201) return
        } catch (error) {
          results.push({ sent, error: String(error) })
          return
        }
      }
    })

    await Bun.sleep(700)
    faultAt = results.length
    const faultStarted = performance.now()
    await volume.triggerFsError()
    const exit = await Promise.race([
      first.exited,
      Bun.sleep(exitsWithinMs).then(() => 'still running' as const),
    ])
    stopLoad = true
    const exitedAfterMs = Math.round(performance.now() - faultStarted)
    if (exit === 'still running') first.process.kill('SIGKILL')
    await first.exited
    await Promise.all(load)

    const acknowledged = results.filter((r) => r.reply?.status === 201)
    const afterFault = results.slice(faultAt)
    expect(acknowledged.length).toBeGreaterThan(20)
    const fsckExitCode = await volume.fsckAndRemount()

    const second = await startLedgerd({ dataDir: volume.dataDir })
    servers.push(second)
    const after = ledgerClient(second.apiUrl, { timeoutMs: 5_000 })

    // As acknowledged (balanceAfter depends on the account the transaction is read through: left out).
    // The spec promises the 201s answered before the fault. Those answered while the kernel was still
    // handling the error (writing trigger_fs_error takes 10-30 ms) are only reported: in a bare SQLite
    // reproduction a commit whose fsync returned success in that window was sometimes gone after fsck.
    const missingAcknowledged = { beforeFault: [] as string[], afterFault: [] as string[] }
    const lostAfterFault = new Set<string>()
    for (const [index, { sent, reply }] of results.entries()) {
      if (reply?.status !== 201) continue
      const transaction = reply.body
      const found = await after.getTransaction(sent.caller.token, transaction.id)
      if (
        found.status === 200 &&
        JSON.stringify({ ...found.body, balanceAfter: 0 }) ===
          JSON.stringify({ ...transaction, balanceAfter: 0 })
      )
        continue
      const beforeFault = index < faultAt
      if (!beforeFault) lostAfterFault.add(sent.key)
      missingAcknowledged[beforeFault ? 'beforeFault' : 'afterFault'].push(
        `${sent.key} ${transaction.id}: ${found.status} ${found.text}`,
      )
    }

    // Every request that did not get a 201, retried with its key: it runs now, or it had committed and
    // its stored answer is replayed. A second retry must replay the same transaction: at most once.
    const final = new Map<string, LedgerTransaction>(
      acknowledged
        .filter((r) => !lostAfterFault.has(r.sent.key))
        .map((r) => [r.sent.key, (r.reply as Reply<LedgerTransaction>).body]),
    )
    const badRetries: string[] = []
    let replayedRetries = 0
    for (const { sent } of results.filter((r) => r.reply?.status !== 201)) {
      const retried = await send(after, sent)
      const again = await send(after, sent)
      if (
        retried.status !== 201 ||
        again.status !== 201 ||
        !again.replayed ||
        again.body.id !== retried.body.id
      ) {
        badRetries.push(`${sent.key}: ${retried.status} then ${again.status} replayed=${again.replayed}`)
        continue
      }
      if (retried.replayed) replayedRetries++
      final.set(sent.key, retried.body)
    }

    // Each account holds its seed plus exactly the effects of the keyed requests, each counted once: a
    // request that committed before the fault and then ran again on retry would show as an extra id.
    const ledgerMismatches: string[] = []
    for (const f of funded) {
      const listed = await after.allTransactions(f.owner.token, f.account.id)
      const expectedIds = [...final.values()]
        .filter((t) => t.postings.some((p) => p.accountId === f.account.id))
        .map((t) => t.id)
      const expectedBalance =
        seedAmount + [...final.values()].reduce((sum, t) => sum + effectOn(t, f.account.id), 0)
      const actual = {
        ids: listed
          .map((t) => t.id)
          .filter((id) => id !== f.seed.id)
          .sort(),
        balance: await balanceOf({ ...f, api: after }),
      }
      const wanted = { ids: expectedIds.sort(), balance: expectedBalance }
      if (JSON.stringify(actual) !== JSON.stringify(wanted))
        ledgerMismatches.push(`${f.account.id}: ${JSON.stringify({ actual, wanted })}`)
    }

    // Each answer after the fault as "status type retry-after", counted.
    const answersAfterFault: Record<string, number> = {}
    for (const r of afterFault) {
      const label = !r.reply
        ? 'no answer (process gone)'
        : r.reply.status === 201
          ? '201'
          : `${r.reply.status} ${r.reply.problem?.type} retry-after=${r.reply.headers.get('retry-after') ?? 'none'}`
      answersAfterFault[label] = (answersAfterFault[label] ?? 0) + 1
    }
    const refusalLabels = Object.keys(answersAfterFault).filter((label) => !/^(201|no answer)/.test(label))
    const observed = {
      exit: exit === 'still running' ? exit : exit === 0 ? 'exit 0' : 'non-zero exit',
      refusedAfterFault: refusalLabels.length > 0,
      refusalsOtherThan503: refusalLabels.filter(
        (label) => !/^503 \/problems\/service-unavailable retry-after=\d+$/.test(label),
      ),
      fsckRepaired: fsckExitCode <= 1,
      missingAcknowledgedBeforeFault: missingAcknowledged.beforeFault,
      badRetries,
      ledgerMismatches,
      restartedExitCode: await second.stop(),
      verify: await verification(volume.dataDir),
    }
    const reported = {
      exitedAfterMs: exit === 'still running' ? 'did not exit' : exitedAfterMs,
      answersAfterFault,
      missingAcknowledgedAfterFault: missingAcknowledged.afterFault,
      /** Requests answered other than 201 that had in fact committed: their retry was a replay. */
      replayedRetries,
      loggedErrors: [
        ...new Set(
          first.logs
            .filter((l) => l.level === 'error')
            .map((l) => `${l.msg}: ${l.reason ?? (l.error as Error | undefined)?.message}`),
        ),
      ],
    }
    expect({ ...observed, reported }).toEqual({
      exit: 'non-zero exit',
      refusedAfterFault: true,
      refusalsOtherThan503: [],
      fsckRepaired: true,
      missingAcknowledgedBeforeFault: [],
      badRetries: [],
      ledgerMismatches: [],
      restartedExitCode: 0,
      verify: verified,
      // Shown when the test fails, not judged.
      reported: expect.any(Object),
    })
  } finally {
    for (const server of servers) killIfRunning(server)
    await Promise.all(servers.map((s) => s.exited))
    await volume.dispose()
  }
}, 30_000)

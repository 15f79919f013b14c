import { afterAll, expect, test } from 'bun:test'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { sqliteMigrations } from '../../../src/db/migrations/sqlite'
import { migrate } from '../../../src/db/migrator'
import { openDatabase } from '../../../src/db/open'
import { startWriterThread } from '../../../src/ledger/writer'
import { tempDir } from '../../support/ledgerd-process'

const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

test('writes submitted together are committed together by the writer thread, and all answered', async () => {
  const dataDir = tempDir()
  dirs.push(dataDir)
  const config = { dataDir, dbDriver: 'bun-sqlite' as const, sqliteBusyTimeoutMs: 1000 }
  const db = await openDatabase(config)
  migrate(db, sqliteMigrations)
  db.exec(
    "INSERT INTO users (id, email, email_key, name, role, created_at, updated_at) VALUES ('u1', 'a@b.co', 'a@b.co', 'A', 'user', 'now', 'now')",
  )
  const batches: number[] = []
  const writer = await startWriterThread(config, {
    committed: (size) => batches.push(size),
    failed: () => {},
    died: () => {},
  })
  const envelope = (i: number) => ({
    job: { op: 'open-account' as const, currency: 'USD' },
    ownerId: 'u1',
    fingerprint: `f${i}`,
    path: '/v1/accounts',
  })
  const outcomes = await Promise.all(Array.from({ length: 50 }, (_, i) => writer.write(envelope(i))))
  expect(outcomes.every((outcome) => outcome.status === 201)).toBe(true)
  expect(batches.reduce((sum, size) => sum + size, 0)).toBe(50)
  expect(Math.max(...batches)).toBeGreaterThan(1)
  // Answered means committed: another connection sees every account.
  expect(db.all<{ n: number }>("SELECT count(*) AS n FROM accounts WHERE kind = 'user'")).toEqual([{ n: 50 }])
  await writer.close()
  db.close()
})

test('a writer that cannot open its database fails to start, saying why', async () => {
  const dataDir = tempDir()
  dirs.push(dataDir)
  const notADirectory = join(dataDir, 'file')
  writeFileSync(notADirectory, '')
  const config = { dataDir: notADirectory, dbDriver: 'bun-sqlite' as const, sqliteBusyTimeoutMs: 1000 }
  const observer = { committed: () => {}, failed: () => {}, died: () => {} }
  await expect(startWriterThread(config, observer)).rejects.toThrow('could not open the database')
})

import { describe, expect, test } from 'bun:test'
import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import {
  acquireDataDirLock,
  DataDirInUseError,
  holderFileName,
  lockFileName,
  readLockHolder,
} from '../../../src/db/data-dir-lock'
import { tempDirsRemovedAfterAll } from '../../support/temp-dirs'

const freshDir = tempDirsRemovedAfterAll()

const refusal = (dataDir: string): DataDirInUseError => {
  try {
    acquireDataDirLock(dataDir).release()
  } catch (error) {
    if (error instanceof DataDirInUseError) return error
    throw error
  }
  throw new Error(`the lock on ${dataDir} was free`)
}

/** Another process that takes the lock and keeps no reference to it (see tests/support). */
async function holdInAnotherProcess(dataDir: string) {
  const holder = Bun.spawn(
    [process.execPath, join(import.meta.dir, '../../support/hold-data-dir-lock.ts'), dataDir],
    { stdout: 'pipe', stderr: 'inherit' },
  )
  const reader = holder.stdout.getReader()
  const { value } = await reader.read()
  expect(new TextDecoder().decode(value)).toBe('held\n')
  return holder
}

describe('the data dir lock', () => {
  test('creates the data dir 0700, the lock file and the holder record 0600, naming this process', () => {
    const dataDir = join(freshDir(), 'nested')
    const lock = acquireDataDirLock(dataDir)
    expect(statSync(dataDir).mode & 0o777).toBe(0o700)
    expect(statSync(join(dataDir, lockFileName)).mode & 0o777).toBe(0o600)
    expect(statSync(join(dataDir, holderFileName)).mode & 0o777).toBe(0o600)
    expect(lock.holder).toMatchObject({ pid: process.pid, hostname: hostname(), version: 'dev' })
    expect(Date.now() - Date.parse(lock.holder.since)).toBeLessThan(5_000)
    expect(readLockHolder(dataDir)).toEqual(lock.holder)
    lock.release()
  })

  test('a second acquisition is refused at once, naming the data dir and the holder', () => {
    const dataDir = freshDir()
    const lock = acquireDataDirLock(dataDir)
    const started = performance.now()
    const error = refusal(dataDir)
    expect(performance.now() - started).toBeLessThan(100)
    expect(error.holder).toEqual(lock.holder)
    expect(error.message).toBe(
      `data dir ${dataDir} is in use by ledgerd dev pid ${process.pid} on host ${hostname()} ` +
        `since ${lock.holder.since}; stop it first`,
    )
    lock.release()
  })

  test('release frees the data dir and removes the holder record; releasing twice is harmless', () => {
    const dataDir = freshDir()
    const lock = acquireDataDirLock(dataDir)
    lock.release()
    lock.release()
    expect(() => readFileSync(join(dataDir, holderFileName))).toThrow()
    const again = acquireDataDirLock(dataDir)
    expect(readLockHolder(dataDir)).toEqual(again.holder)
    again.release()
  })

  test('another process holding it, unreferenced after a garbage collection, refuses us until SIGKILL', async () => {
    const dataDir = freshDir()
    const holder = await holdInAnotherProcess(dataDir)
    try {
      await Bun.sleep(200)
      expect(refusal(dataDir).holder?.pid).toBe(holder.pid)
      holder.kill('SIGKILL')
      await holder.exited
      // The kernel dropped the dead process's lock; its holder record is stale and simply replaced.
      const lock = acquireDataDirLock(dataDir)
      expect(readLockHolder(dataDir)?.pid).toBe(process.pid)
      lock.release()
    } finally {
      holder.kill('SIGKILL')
    }
  })

  test('a holder that recorded nothing is still refused, as an unknown process', () => {
    const dataDir = freshDir()
    const lock = acquireDataDirLock(dataDir)
    rmSync(join(dataDir, holderFileName))
    const error = refusal(dataDir)
    expect(error.holder).toBeUndefined()
    expect(error.message).toContain('in use by another process (it has not recorded who it is)')
    lock.release()
  })

  test('a lock file that cannot be opened fails with a message naming it', () => {
    const dataDir = freshDir()
    mkdirSync(join(dataDir, lockFileName))
    expect(() => acquireDataDirLock(dataDir)).toThrow(
      `cannot lock the data dir: ${join(dataDir, lockFileName)}`,
    )
  })
})

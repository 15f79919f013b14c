import { Database } from 'bun:sqlite'
import { closeSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { version } from '../version'
import { createDataDir } from './open'

/**
 * One process at a time owns a data dir: the one that holds SQLite's exclusive lock on `ledgerd.lock`.
 * The lock is the kernel's (a POSIX record lock SQLite takes on the file), so it goes when the process
 * goes, however it dies; there is never a stale lock to clean up. Who holds it is recorded beside it, in
 * `ledgerd.lock.json`, for the message a refused process prints.
 */
export const lockFileName = 'ledgerd.lock'
export const holderFileName = 'ledgerd.lock.json'

export interface LockHolder {
  pid: number
  hostname: string
  /** When it took the lock, ISO 8601. */
  since: string
  version: string
}

export interface DataDirLock {
  readonly holder: LockHolder
  /** Gives the data dir up; call it after the database is closed. */
  release(): void
}

export class DataDirInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: LockHolder | undefined,
  ) {
    const who = holder
      ? `ledgerd ${holder.version} pid ${holder.pid} on host ${holder.hostname} since ${holder.since}`
      : 'another process (it has not recorded who it is)'
    super(`data dir ${dataDir} is in use by ${who}; stop it first`)
  }
}

// A bun:sqlite Database that nothing references is closed by the garbage collector, and the lock with it:
// measured, a lock taken at start-up and not referenced afterwards was gone within 10 ms.
const held = new Set<Database>()

/** Takes the data dir for this process, or throws DataDirInUseError naming who has it. Never waits. */
export function acquireDataDirLock(dataDir: string): DataDirLock {
  createDataDir(dataDir)
  const path = join(dataDir, lockFileName)
  createPrivateFile(path)
  const db = openLockFile(path)
  try {
    db.exec('PRAGMA busy_timeout = 0')
    db.exec('PRAGMA locking_mode = EXCLUSIVE')
    // No -journal file beside the lock: its content does not matter, only the lock does.
    db.exec('PRAGMA journal_mode = MEMORY')
    // In exclusive locking mode the exclusive lock a write takes is kept after COMMIT, until close(). A
    // real write, not a bare BEGIN EXCLUSIVE: on a lock file SQLite could open only read-only, that took a
    // shared lock, and a second process opening it the same way "acquired" it too (measured); the write
    // fails instead.
    db.exec('BEGIN EXCLUSIVE')
    db.exec(`PRAGMA user_version = ${process.pid}`)
    db.exec('COMMIT')
  } catch (error) {
    db.close()
    if (isBusy(error)) throw new DataDirInUseError(dataDir, readLockHolder(dataDir))
    throw new Error(`cannot lock the data dir: ${path}: ${(error as Error).message}`)
  }
  held.add(db)
  const holder: LockHolder = {
    pid: process.pid,
    hostname: hostname(),
    since: new Date().toISOString(),
    version,
  }
  const release = () => {
    if (!held.delete(db)) return
    // The record goes first: once the lock is free, the next holder's record must not be removed.
    rmSync(join(dataDir, holderFileName), { force: true })
    db.close()
  }
  try {
    writeHolder(dataDir, holder)
  } catch (error) {
    release()
    throw error
  }
  return { holder, release }
}

/** Who holds the data dir's lock, as its holder recorded it; undefined if no record can be read. */
export function readLockHolder(dataDir: string): LockHolder | undefined {
  try {
    const record = JSON.parse(readFileSync(join(dataDir, holderFileName), 'utf8')) as Partial<LockHolder>
    const { pid, hostname, since, version } = record
    if (typeof pid !== 'number' || typeof hostname !== 'string') return undefined
    if (typeof since !== 'string' || typeof version !== 'string') return undefined
    return { pid, hostname, since, version }
  } catch {
    return undefined
  }
}

/**
 * Creates the lock file 0600 (SQLite would make it 0644), and never opens an existing one outside SQLite:
 * closing any descriptor of a file drops every POSIX lock the process holds on it.
 */
function createPrivateFile(path: string): void {
  try {
    closeSync(openSync(path, 'wx', 0o600))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
  }
}

function openLockFile(path: string): Database {
  try {
    return new Database(path, { readwrite: true })
  } catch (error) {
    throw new Error(`cannot lock the data dir: ${path}: ${(error as Error).message}`)
  }
}

/** Written whole under a temporary name, then renamed: a refused process never reads half a record. */
function writeHolder(dataDir: string, holder: LockHolder): void {
  const path = join(dataDir, holderFileName)
  const temporary = `${path}.tmp`
  writeFileSync(temporary, `${JSON.stringify(holder)}\n`, { mode: 0o600 })
  renameSync(temporary, path)
}

function isBusy(error: unknown): boolean {
  const { code } = error as { code?: unknown }
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED'
}

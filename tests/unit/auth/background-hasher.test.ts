import { afterAll, describe, expect, test } from 'bun:test'
import { getPriority } from 'node:os'
import { BackgroundHasher } from '../../../src/auth/background-hasher'
import { cpusOfThisThread, type Lowered, type Pinned } from '../../../src/lib/thread-scheduling'
import { cpusAllowed, niceOf, policyOf, SCHED_IDLE, SCHED_OTHER } from '../../support/threads'

const niceBefore = getPriority()
const started: Lowered[] = []
const hasher = new BackgroundHasher(2, ({ lowered }) => started.push(lowered))
afterAll(() => hasher.close())

describe('BackgroundHasher', () => {
  test('hashes are argon2id that Bun.password.verify accepts, for any of many passwords at once', async () => {
    const passwords = Array.from({ length: 6 }, (_, i) => `password number ${i} ✓`)
    const hashes = await Promise.all(passwords.map((password) => hasher.hash(password)))
    for (const [i, hash] of hashes.entries()) {
      expect(hash).toStartWith('$argon2id$v=19$m=19456,t=2,p=1$')
      expect(await Bun.password.verify(passwords[i] as string, hash)).toBe(true)
      expect(await Bun.password.verify('another password', hash)).toBe(false)
    }
  })

  test('each hashing thread runs at nice 19 and SCHED_IDLE, as the kernel sees it', async () => {
    await hasher.hash('make sure both threads have started')
    while (started.length < 2) await Bun.sleep(5)
    for (const lowered of started) {
      expect(lowered).toMatchObject({ nice: 19, idle: true })
      expect(niceOf('self', (lowered as { tid: number }).tid)).toBe(19)
      expect(policyOf('self', (lowered as { tid: number }).tid)).toBe(SCHED_IDLE)
    }
    // The thread that asked is untouched.
    expect(niceOf('self')).toBe(niceBefore)
    expect(policyOf('self')).toBe(SCHED_OTHER)
  })

  test('given CPUs, each hashing thread runs only on them, and the thread that asked keeps its own', async () => {
    const own = cpusOfThisThread()
    if ('error' in own) throw new Error(own.error)
    const last = own.cpus.at(-1) as number
    const pins: { lowered: Lowered; pinned?: Pinned }[] = []
    const pinned = new BackgroundHasher(1, (report) => pins.push(report), [last])
    try {
      expect(await Bun.password.verify('pinned', await pinned.hash('pinned'))).toBe(true)
      // A thread reports before its first hash, and messages keep their order.
      const [report] = pins
      if (!report) throw new Error('the hashing thread never reported')
      expect(report.pinned).toEqual({ cpus: [last] })
      expect(cpusAllowed('self', (report.lowered as { tid: number }).tid)).toBe(String(last))
      expect(cpusOfThisThread()).toEqual(own)
    } finally {
      pinned.close()
    }
  })

  test('once closed, waiting and new hashes are refused rather than left hanging', async () => {
    const closing = new BackgroundHasher(1)
    const inFlight = closing.hash('one')
    const waiting = closing.hash('two')
    closing.close()
    await expect(inFlight).rejects.toThrow('closed')
    await expect(waiting).rejects.toThrow('closed')
    await expect(closing.hash('three')).rejects.toThrow('closed')
  })
})

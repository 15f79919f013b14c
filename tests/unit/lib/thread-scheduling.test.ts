import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { type Lowered, splitCpus } from '../../../src/lib/thread-scheduling'
import { niceOf, policyOf, SCHED_IDLE, SCHED_OTHER } from '../../support/threads'

describe('lowerThisThreadsPriority', () => {
  test('the calling thread, and only it, runs at nice 19 and SCHED_IDLE, as the kernel sees it', async () => {
    const niceBefore = niceOf('self')
    const thread = new Worker(new URL('../../support/lowered-thread.ts', import.meta.url).href)
    try {
      const lowered = await new Promise<Lowered>((resolve, reject) => {
        thread.onmessage = ({ data }: MessageEvent<Lowered>) => resolve(data)
        thread.onerror = (event) => reject(new Error(event.message))
        thread.postMessage('lower')
      })
      if (!('tid' in lowered)) throw new Error(lowered.error)
      expect(lowered).toEqual({ tid: lowered.tid, nice: 19, idle: true })
      expect(niceOf('self', lowered.tid)).toBe(19)
      expect(policyOf('self', lowered.tid)).toBe(SCHED_IDLE)
      // The thread that started it keeps its own.
      expect(niceOf('self')).toBe(niceBefore)
      expect(policyOf('self')).toBe(SCHED_OTHER)
    } finally {
      thread.terminate()
    }
  })
})

describe('splitCpus', () => {
  test('the last N allowed CPUs go to hashing, the rest to the API: disjoint, together all of them', () => {
    fc.assert(
      fc.property(
        fc
          .uniqueArray(fc.nat(1023), { minLength: 1, maxLength: 64 })
          .map((cpus) => cpus.sort((a, b) => a - b)),
        fc.nat(70),
        (allowed, hashing) => {
          const split = splitCpus(allowed, hashing)
          if (hashing >= allowed.length) {
            expect(split).toEqual({ error: expect.stringContaining('leaves no CPU for the API') })
            return
          }
          if ('error' in split) throw new Error(split.error)
          expect(split.hashing).toHaveLength(hashing)
          expect(split.api.length).toBeGreaterThan(0)
          expect([...split.api, ...split.hashing]).toEqual(allowed)
        },
      ),
    )
  })

  test('on two CPUs, one set aside: the API gets CPU 0, hashing CPU 1', () => {
    expect(splitCpus([0, 1], 1)).toEqual({ api: [0], hashing: [1] })
    expect(splitCpus([0, 1], 2)).toEqual({
      error: '--hashing-cpus 2 leaves no CPU for the API: ledgerd may run on 2 (0,1)',
    })
  })
})

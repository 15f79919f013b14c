import { describe, expect, test } from 'bun:test'
import { Registry } from 'prom-client'
import { registerStorageMetrics, type VolumeStats } from '../../../src/storage/metrics'
import type { Storage } from '../../../src/storage/storage'
import { sampleValue } from '../../support/metrics'

/** A volume whose every read is counted and answers the next of `answers` (a number: that many blocks). */
function fakeVolume(answers: (number | Error)[]) {
  const volume = {
    reads: 0,
    read: async (_path: string): Promise<VolumeStats> => {
      const answer = answers[volume.reads++] ?? answers.at(-1)
      await Bun.sleep(1)
      if (answer instanceof Error) throw answer
      // Available and capacity from the same read are equal: a mixed pair shows two reads in one scrape.
      return { bavail: answer as number, blocks: answer as number, bsize: 4096 }
    },
  }
  return volume
}

function sqliteMetrics(volume: ReturnType<typeof fakeVolume>) {
  const registry = new Registry()
  registerStorageMetrics(registry, { kind: 'sqlite' } as Storage, '/data', volume.read)
  const gauges = (text: string) => ({
    available: sampleValue(text, 'ledgerd_data_volume_available_bytes'),
    capacity: sampleValue(text, 'ledgerd_data_volume_capacity_bytes'),
  })
  return { scrape: async () => gauges(await registry.metrics()) }
}

describe('the data volume gauges', () => {
  test('one statfs per scrape serves both gauges, so they come from the same moment', async () => {
    const volume = fakeVolume([1, 2, 3])
    const metrics = sqliteMetrics(volume)
    expect(await metrics.scrape()).toEqual({ available: 4096, capacity: 4096 })
    expect(volume.reads).toBe(1)
    expect(await metrics.scrape()).toEqual({ available: 8192, capacity: 8192 })
    expect(volume.reads).toBe(2)
  })

  test('two scrapes at once share the read in flight', async () => {
    const volume = fakeVolume([5, 6])
    const metrics = sqliteMetrics(volume)
    const [first, second] = await Promise.all([metrics.scrape(), metrics.scrape()])
    expect(first).toEqual({ available: 5 * 4096, capacity: 5 * 4096 })
    expect(second).toEqual(first)
    expect(volume.reads).toBe(1)
  })

  test('a volume that cannot be read leaves both gauges at their last value, and the next read is fresh', async () => {
    const volume = fakeVolume([7, new Error('ENOENT'), 9])
    const metrics = sqliteMetrics(volume)
    expect(await metrics.scrape()).toEqual({ available: 7 * 4096, capacity: 7 * 4096 })
    expect(await metrics.scrape()).toEqual({ available: 7 * 4096, capacity: 7 * 4096 })
    expect(await metrics.scrape()).toEqual({ available: 9 * 4096, capacity: 9 * 4096 })
    expect(volume.reads).toBe(3)
  })
})

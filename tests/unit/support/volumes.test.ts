import { afterAll, describe, expect, test } from 'bun:test'
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { disposeAllVolumes, ext4Volume, tmpfsVolume, type Volume, VolumeError } from '../../support/volumes'

// The fault volumes the end-to-end fault tests rely on, proven on their own: each fault really reaches a
// process writing to the volume, and each volume really goes away afterwards.

afterAll(disposeAllVolumes)

/** The errno code a 4 KiB write of a new file on the volume fails with, or 'ok' if it succeeds. */
function writeOutcome(volume: Volume, name = `probe-${Math.random()}`): string {
  try {
    const fd = openSync(join(volume.dataDir, name), 'w')
    try {
      writeFileSync(fd, Buffer.alloc(4096, 1))
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    return 'ok'
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? String(error)
  }
}

const losetupListing = () => Bun.spawnSync(['losetup', '-a']).stdout.toString()

describe.each(['tmpfs', 'ext4'] as const)('%s volume', (kind) => {
  const create = () => (kind === 'tmpfs' ? tmpfsVolume({ sizeMiB: 8 }) : ext4Volume({ sizeMiB: 32 }))

  test('fill() leaves no room for a 4 KiB write; free() makes room again', async () => {
    const volume = await create()
    try {
      expect(writeOutcome(volume)).toBe('ok')
      expect(await volume.fill()).toBeGreaterThan(4 << 20)
      expect(writeOutcome(volume)).toBe('ENOSPC')
      await volume.free()
      expect(writeOutcome(volume)).toBe('ok')
    } finally {
      await volume.dispose()
    }
  })

  test('remountReadOnly() makes writes fail with EROFS; remountReadWrite() lets them through', async () => {
    const volume = await create()
    try {
      await volume.remountReadOnly()
      expect(volume.isReadOnly()).toBe(true)
      expect(writeOutcome(volume)).toBe('EROFS')
      await volume.remountReadWrite()
      expect(volume.isReadOnly()).toBe(false)
      expect(writeOutcome(volume)).toBe('ok')
    } finally {
      await volume.dispose()
    }
  })

  test('remountReadOnly() refuses, saying why, while a file on the volume is open for writing', async () => {
    const volume = await create()
    const held = openSync(join(volume.dataDir, 'held'), 'w')
    try {
      const refusal = await volume.remountReadOnly().catch((error) => error)
      expect(refusal).toBeInstanceOf(VolumeError)
      expect(refusal.message).toContain('open for writing')
      expect(volume.isReadOnly()).toBe(false)
    } finally {
      closeSync(held)
      await volume.dispose()
    }
  })

  test('dispose() unmounts and removes everything, and a second call does nothing', async () => {
    const volume = await create()
    const device = 'loopDevice' in volume ? String(volume.loopDevice) : undefined
    await volume.dispose()
    await volume.dispose()
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(volume.mountPoint)
    expect(existsSync(volume.mountPoint)).toBe(false)
    if (device) expect(losetupListing()).not.toContain(`${device}:`)
  })
})

describe('ext4 errors', () => {
  test('triggerFsError() turns it read-only until fsck, and data synced before the error survives', async () => {
    const volume = await ext4Volume({ sizeMiB: 32 })
    try {
      const fd = openSync(join(volume.dataDir, 'synced'), 'w')
      writeFileSync(fd, 'before the error')
      fsyncSync(fd)
      await volume.triggerFsError()
      expect(volume.isReadOnly()).toBe(true)
      // The file was open for writing all along: the kernel forces read-only where a remount could not.
      expect(() => writeFileSync(fd, 'after the error')).toThrow(expect.objectContaining({ code: 'EROFS' }))
      closeSync(fd)
      expect(writeOutcome(volume)).toBe('EROFS')
      expect(await volume.remountReadWrite().catch((error) => error)).toBeInstanceOf(VolumeError)

      expect(await volume.fsckAndRemount()).toBeLessThanOrEqual(1)
      expect(volume.isReadOnly()).toBe(false)
      expect(readFileSync(join(volume.dataDir, 'synced'), 'utf8')).toBe('before the error')
      expect(writeOutcome(volume)).toBe('ok')
    } finally {
      await volume.dispose()
    }
  })

  test('fsckAndRemount() refuses, naming the holder, while a process still uses the volume', async () => {
    const volume = await ext4Volume({ sizeMiB: 32 })
    const held = openSync(join(volume.dataDir, 'held'), 'w')
    try {
      await volume.triggerFsError()
      const refusal = await volume.fsckAndRemount().catch((error) => error)
      expect(refusal).toBeInstanceOf(VolumeError)
      expect(refusal.message).toContain('cannot unmount')
    } finally {
      closeSync(held)
      await volume.dispose()
    }
  })
})

test('without root, creating a volume throws and says root is needed (never a silent skip)', async () => {
  const nobody = 65534
  const helper = join(import.meta.dir, '../../support/volumes.ts')
  const proc = Bun.spawn(
    [
      'setpriv',
      `--reuid=${nobody}`,
      `--regid=${nobody}`,
      '--clear-groups',
      '--',
      process.execPath,
      '-e',
      `const { tmpfsVolume } = await import(${JSON.stringify(helper)}); await tmpfsVolume({ sizeMiB: 1 })`,
    ],
    { env: { ...process.env, HOME: '/tmp' }, stdout: 'pipe', stderr: 'pipe' },
  )
  const [stderr, exitCode] = await Promise.all([new Response(proc.stderr).text(), proc.exited])
  expect({ exitCode, stderr }).toEqual({
    exitCode: 1,
    stderr: expect.stringContaining(`tmpfsVolume needs root (this process runs as uid ${nobody})`),
  })
})

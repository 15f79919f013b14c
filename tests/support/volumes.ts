import { spawnSync } from 'node:child_process'
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'

// Data dirs on real filesystems that a test can break: a tmpfs it can fill to ENOSPC and free again, an
// ext4 image on a loop device it can hit with a real ext4 error, and either remounted read-only and back.
// Mounting needs root: without it, or when the kernel refuses a mount, these throw rather than let a test
// pass without its fault. Every step is bounded in time, and every volume is unmounted and removed by
// dispose(), by disposeAllVolumes() (for an afterAll), or at the latest when the test process exits.

/** How long one mount, umount, losetup, mkfs or fsck may take before the step fails. */
const commandTimeoutMs = 10_000
/** How long the kernel may take to show an ext4 error as a read-only filesystem. */
const readOnlyAfterErrorMs = 2_000
/** Filling a test volume writes at most a few hundred MiB of page cache: seconds, not minutes. */
const fillTimeoutMs = 15_000

export interface Volume {
  readonly kind: 'tmpfs' | 'ext4'
  /** Where the filesystem is mounted. */
  readonly mountPoint: string
  /** An empty directory on the volume, for ledgerd's --data-dir. */
  readonly dataDir: string
  /** Grows a filler file beside the data dir until the filesystem answers ENOSPC; returns its size. */
  fill(): Promise<number>
  /** Deletes the filler file and syncs, so the space is free again at once (ext4 frees it on commit). */
  free(): Promise<void>
  /** `mount -o remount,ro`. Linux refuses (EBUSY) while any file on it is open for writing. */
  remountReadOnly(): Promise<void>
  /** `mount -o remount,rw`; throws if the filesystem stays read-only (ext4 after an error does). */
  remountReadWrite(): Promise<void>
  /** Read-only now, whether remounted so or made so by the kernel after an error (emergency_ro). */
  isReadOnly(): boolean
  /** Unmounts and removes everything; safe to call twice. Throws if something could not be cleaned. */
  dispose(): Promise<void>
}

export interface Ext4Volume extends Volume {
  readonly kind: 'ext4'
  /** The image file behind the loop device. */
  readonly image: string
  /** The loop device currently holding the image, e.g. /dev/loop3 (it may change on remount). */
  readonly loopDevice: string
  /**
   * Raises a real ext4 error (/sys/fs/ext4/<dev>/trigger_fs_error). Mounted errors=remount-ro, the
   * kernel aborts the journal and turns the filesystem read-only; resolves once it shows as read-only.
   */
  triggerFsError(): Promise<void>
  /**
   * Unmounts, runs `e2fsck -fy` on the image and mounts it again read-write: after an ext4 error the
   * only way back, since a remount cannot lift the kernel's emergency read-only state. Fails while a
   * process still holds files on the volume (stop ledgerd first). Returns e2fsck's exit code (0 or 1).
   */
  fsckAndRemount(): Promise<number>
}

export class VolumeError extends Error {
  override name = 'VolumeError'
}

interface CommandResult {
  exitCode: number
  stdout: string
  stderr: string
}

/** mount(8) adds a hint about dmesg on a second line: the first line says what went wrong. */
const firstLine = (text: string) => text.trim().split('\n')[0] ?? ''

async function run(argv: string[], timeoutMs = commandTimeoutMs): Promise<CommandResult> {
  const proc = Bun.spawn(argv, { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' })
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    proc.kill('SIGKILL')
  }, timeoutMs)
  const [stdout, stderr, exitCode] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]).finally(() => clearTimeout(timer))
  if (timedOut) throw new VolumeError(`${argv.join(' ')} did not finish within ${timeoutMs} ms`)
  return { exitCode, stdout, stderr }
}

/** Runs a command that must succeed; `what` says in words what was attempted, for the error. */
async function runOrThrow(what: string, argv: string[], timeoutMs?: number): Promise<CommandResult> {
  const result = await run(argv, timeoutMs)
  if (result.exitCode !== 0)
    throw new VolumeError(
      `${what}: \`${argv.join(' ')}\` exited ${result.exitCode}: ${firstLine(result.stderr) || firstLine(result.stdout)}`,
    )
  return result
}

function requireRoot(what: string): void {
  const uid = process.getuid?.()
  if (uid !== 0)
    throw new VolumeError(
      `${what} needs root (this process runs as uid ${uid}): mounting a tmpfs or a loop device is refused ` +
        'otherwise. Run the fault tests as root, as CI does.',
    )
}

interface MountState {
  source: string
  fsType: string
  mountOptions: string[]
  superOptions: string[]
}

/** The mount at exactly this path, from /proc/self/mountinfo; undefined when nothing is mounted there. */
function mountAt(mountPoint: string): MountState | undefined {
  let found: MountState | undefined
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [mountFields, superFields] = line.split(' - ')
    const fields = mountFields?.split(' ') ?? []
    if (fields[4] !== mountPoint || superFields === undefined) continue
    const [fsType = '', source = '', superOptions = ''] = superFields.split(' ')
    // The last mount at a path is the visible one.
    found = {
      source,
      fsType,
      mountOptions: (fields[5] ?? '').split(','),
      superOptions: superOptions.split(','),
    }
  }
  return found
}

const live = new Set<VolumeHandle>()

abstract class VolumeHandle implements Volume {
  abstract readonly kind: 'tmpfs' | 'ext4'
  readonly mountPoint: string
  readonly dataDir: string
  readonly #filler: string
  #disposed = false

  constructor(readonly workDir: string) {
    this.mountPoint = join(workDir, 'mnt')
    this.dataDir = join(this.mountPoint, 'data')
    this.#filler = join(this.mountPoint, 'filler')
  }

  async fill(): Promise<number> {
    const deadline = performance.now() + fillTimeoutMs
    const fd = openSync(this.#filler, 'a')
    let written = 0
    try {
      // Big writes first, then small ones to take the last pages too: a 4 KiB write of the database must
      // find no room at all.
      for (const size of [1 << 20, 4096, 512]) {
        const chunk = Buffer.alloc(size, 0xa5)
        for (;;) {
          if (performance.now() > deadline)
            throw new VolumeError(`filling ${this.mountPoint} took over ${fillTimeoutMs} ms`)
          let count: number
          try {
            count = writeSync(fd, chunk)
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break
            throw error
          }
          written += count
          if (count < size) break
        }
      }
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    return written
  }

  async free(): Promise<void> {
    rmSync(this.#filler, { force: true })
    await runOrThrow(`syncing ${this.mountPoint}`, ['sync', '-f', this.mountPoint])
  }

  async remountReadOnly(): Promise<void> {
    const result = await run(['mount', '-o', 'remount,ro', this.mountPoint])
    if (result.exitCode === 0) return
    const busy = /busy/i.test(result.stderr)
    throw new VolumeError(
      `could not remount ${this.mountPoint} read-only (mount exited ${result.exitCode}: ${firstLine(result.stderr)})` +
        (busy
          ? '. Linux refuses a read-only remount while any file on the filesystem is open for writing, and ' +
            'a running ledgerd holds its database open so; only the kernel itself can force it (ext4 ' +
            'errors=remount-ro, see triggerFsError).'
          : ''),
    )
  }

  async remountReadWrite(): Promise<void> {
    await runOrThrow(`remounting ${this.mountPoint} read-write`, [
      'mount',
      '-o',
      'remount,rw',
      this.mountPoint,
    ])
    if (this.isReadOnly())
      throw new VolumeError(
        `${this.mountPoint} is still read-only after remount,rw (${this.describe()}); after an ext4 error ` +
          'only unmount, fsck and mount lift it: fsckAndRemount()',
      )
  }

  isReadOnly(): boolean {
    const state = mountAt(this.mountPoint)
    if (!state) throw new VolumeError(`nothing is mounted at ${this.mountPoint}`)
    return (
      state.mountOptions.includes('ro') ||
      state.superOptions.includes('ro') ||
      state.superOptions.includes('emergency_ro')
    )
  }

  protected describe(): string {
    const state = mountAt(this.mountPoint)
    return state
      ? `${state.fsType} ${state.source} ${state.mountOptions.join(',')} ${state.superOptions.join(',')}`
      : 'not mounted'
  }

  /** Unmounts, waiting a little for processes that are still exiting, then lazily as a last resort. */
  protected async unmount(): Promise<void> {
    const deadline = performance.now() + 3_000
    while (mountAt(this.mountPoint)) {
      const result = await run(['umount', this.mountPoint])
      if (result.exitCode === 0) continue
      if (performance.now() > deadline) {
        // A lazy unmount detaches it from the tree now; the kernel lets go when the last user does.
        await runOrThrow(`lazily unmounting ${this.mountPoint}`, ['umount', '-l', this.mountPoint])
        throw new VolumeError(
          `${this.mountPoint} was still in use after 3 s (${firstLine(result.stderr)}); unmounted lazily`,
        )
      }
      await Bun.sleep(100)
    }
  }

  protected abstract releaseDevice(): Promise<void>

  async dispose(): Promise<void> {
    if (this.#disposed) return
    this.#disposed = true
    live.delete(this)
    const problems: unknown[] = []
    await this.unmount().catch((error) => problems.push(error))
    await this.releaseDevice().catch((error) => problems.push(error))
    // Never remove through a mount: with the filesystem still attached, rm would empty the volume, not
    // the work dir.
    if (!mountAt(this.mountPoint)) rmSync(this.workDir, { recursive: true, force: true })
    else problems.push(new VolumeError(`${this.mountPoint} is still mounted; left ${this.workDir} in place`))
    if (problems.length > 0)
      throw new AggregateError(problems, `cleaning up the ${this.kind} volume at ${this.mountPoint} failed`)
  }

  /** Last-resort cleanup when the test process exits: synchronous, lazy, best effort. */
  abandon(): void {
    const quiet = { stdio: 'ignore', timeout: commandTimeoutMs } as const
    if (mountAt(this.mountPoint)) spawnSync('umount', ['-l', this.mountPoint], quiet)
    this.releaseDeviceNow()
    if (!mountAt(this.mountPoint)) rmSync(this.workDir, { recursive: true, force: true })
  }

  protected abstract releaseDeviceNow(): void
}

class TmpfsVolume extends VolumeHandle {
  readonly kind = 'tmpfs'
  protected async releaseDevice(): Promise<void> {}
  protected releaseDeviceNow(): void {}
}

class LoopExt4Volume extends VolumeHandle implements Ext4Volume {
  readonly kind = 'ext4'
  readonly image: string
  #loopDevice = ''

  constructor(workDir: string) {
    super(workDir)
    this.image = join(workDir, 'ext4.img')
  }

  get loopDevice(): string {
    return this.#loopDevice
  }

  async mount(): Promise<void> {
    await runOrThrow(`mounting ${this.image} on a loop device`, [
      'mount',
      '-t',
      'ext4',
      '-o',
      'loop,errors=remount-ro',
      this.image,
      this.mountPoint,
    ])
    const state = mountAt(this.mountPoint)
    if (!state?.source.startsWith('/dev/loop'))
      throw new VolumeError(`${this.image} is not mounted from a loop device: ${this.describe()}`)
    this.#loopDevice = state.source
  }

  async triggerFsError(): Promise<void> {
    const trigger = `/sys/fs/ext4/${basename(this.#loopDevice)}/trigger_fs_error`
    if (!existsSync(trigger))
      throw new VolumeError(`${trigger} does not exist: this kernel cannot raise a test ext4 error`)
    writeFileSync(trigger, 'ledgerd fault test')
    const deadline = performance.now() + readOnlyAfterErrorMs
    while (!this.isReadOnly()) {
      if (performance.now() > deadline)
        throw new VolumeError(
          `${this.mountPoint} still read-write ${readOnlyAfterErrorMs} ms after an ext4 error: ${this.describe()}`,
        )
      await Bun.sleep(20)
    }
  }

  async fsckAndRemount(): Promise<number> {
    const umount = await run(['umount', this.mountPoint])
    if (umount.exitCode !== 0) {
      const holders = await run(['fuser', '-vm', this.mountPoint])
      throw new VolumeError(
        `cannot unmount ${this.mountPoint} to fsck it (${firstLine(umount.stderr)}); still using it: ` +
          `${holders.stderr.trim() || 'unknown'}`,
      )
    }
    await this.releaseDevice()
    // 0: clean; 1: errors corrected. 2 asks for a reboot (a mounted root), 4 and up: not repaired.
    const fsck = await run(['e2fsck', '-fy', this.image], 30_000)
    if (fsck.exitCode > 1)
      throw new VolumeError(`e2fsck -fy ${this.image} exited ${fsck.exitCode}: ${fsck.stdout}${fsck.stderr}`)
    await this.mount()
    return fsck.exitCode
  }

  /** The loop devices still attached to the image (unmounting normally detaches them by itself). */
  async #attachedDevices(): Promise<string[]> {
    const { stdout } = await runOrThrow('listing loop devices', ['losetup', '-j', this.image])
    return stdout
      .split('\n')
      .map((line) => line.split(':')[0] ?? '')
      .filter((device) => device.startsWith('/dev/loop'))
  }

  protected async releaseDevice(): Promise<void> {
    if (!existsSync(this.image)) return
    for (const device of await this.#attachedDevices())
      await runOrThrow(`detaching ${device}`, ['losetup', '-d', device])
  }

  protected releaseDeviceNow(): void {
    if (!existsSync(this.image)) return
    const listed = spawnSync('losetup', ['-j', this.image], { encoding: 'utf8', timeout: commandTimeoutMs })
    for (const line of (listed.stdout ?? '').split('\n')) {
      const device = line.split(':')[0] ?? ''
      if (device.startsWith('/dev/loop'))
        spawnSync('losetup', ['-d', device], { stdio: 'ignore', timeout: commandTimeoutMs })
    }
  }
}

process.on('exit', () => {
  for (const volume of live) volume.abandon()
})

/**
 * Registers the volume for cleanup, runs its set-up (which mounts it), creates the data dir, and disposes
 * of the volume if any of that fails.
 */
async function created<T extends VolumeHandle>(volume: T, setUp: () => Promise<void>): Promise<T> {
  live.add(volume)
  mkdirSync(volume.mountPoint)
  try {
    await setUp()
    mkdirSync(volume.dataDir, { mode: 0o700 })
    // Durable before any fault: an ext4 error right away must not take the data dir with it.
    await runOrThrow(`syncing ${volume.mountPoint}`, ['sync', '-f', volume.mountPoint])
  } catch (error) {
    await volume.dispose().catch(() => {})
    throw error
  }
  return volume
}

/** A tmpfs of the given size, mounted on a fresh temp dir. */
export async function tmpfsVolume({ sizeMiB }: { sizeMiB: number }): Promise<Volume> {
  requireRoot('tmpfsVolume')
  const volume = new TmpfsVolume(mkdtempSync(join(tmpdir(), 'ledgerd-volume-')))
  return created(volume, async () => {
    await runOrThrow(`mounting a ${sizeMiB} MiB tmpfs`, [
      'mount',
      '-t',
      'tmpfs',
      '-o',
      `size=${sizeMiB}m,mode=0755`,
      'tmpfs',
      volume.mountPoint,
    ])
  })
}

/** An ext4 filesystem in an image file of the given size, on a loop device, mounted errors=remount-ro. */
export async function ext4Volume({ sizeMiB }: { sizeMiB: number }): Promise<Ext4Volume> {
  requireRoot('ext4Volume')
  const volume = new LoopExt4Volume(mkdtempSync(join(tmpdir(), 'ledgerd-volume-')))
  return created(volume, async () => {
    await runOrThrow(`creating ${volume.image}`, ['truncate', '-s', `${sizeMiB}M`, volume.image])
    // Inode tables and journal written now, so no background initialisation writes during a test.
    await runOrThrow(`making an ext4 filesystem in ${volume.image}`, [
      'mkfs.ext4',
      '-q',
      '-F',
      '-E',
      'lazy_itable_init=0,lazy_journal_init=0',
      volume.image,
    ])
    await volume.mount()
  })
}

/** Disposes of every volume not disposed yet; for an afterAll, so a failed test leaves no mount behind. */
export async function disposeAllVolumes(): Promise<void> {
  const problems: unknown[] = []
  for (const volume of [...live]) await volume.dispose().catch((error) => problems.push(error))
  if (problems.length > 0) throw new AggregateError(problems, 'cleaning up test volumes failed')
}

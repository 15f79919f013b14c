import { dlopen, FFIType, ptr } from 'bun:ffi'

// Bun's allocator (mimalloc) hands freed memory back to the kernel within milliseconds. Every argon2
// hash (a sign-up, a login, a password change) takes 19 MiB, so on a server that hashes now and then
// each hash faulted its 19 MiB back in, zeroed by the kernel page by page: 4,386 page faults and
// ~120 ms of CPU instead of ~6 faults and ~40 ms (NOTES.md, "Argon2's memory stays mapped"). mimalloc
// reads its options from the environment once, as the process starts, and keeps no exported symbol to
// change them later, so `serve` restarts itself in place (execve: same process id, same open files)
// with MIMALLOC_PURGE_DELAY=-1: freed memory is kept for reuse, and the resident set stays at its peak.

/** The mimalloc option that decides when freed memory goes back to the kernel; -1: never. */
const purgeDelayVariable = 'MIMALLOC_PURGE_DELAY'

/** Why `serve` goes on in this process: the operator chose the allocator's behaviour, or exec failed. */
export type StayedInProcess = { chosen: string } | { error: string }

/** The program and arguments that start this same command again, from source or compiled. */
export function sameCommand(): string[] {
  const args = process.argv.slice(2)
  // A compiled binary's argv[1] is its embedded entrypoint (/$bunfs/root/…), which it finds itself.
  if (Bun.main.startsWith('/$bunfs/')) return [process.argv0, ...args]
  return [process.argv0, ...process.execArgv, process.argv[1] as string, ...args]
}

/** NUL-terminated C strings and the NULL-terminated array of pointers to them that execve takes. */
function cStringArray(strings: readonly string[]): { array: BigUint64Array; keepAlive: Buffer[] } {
  const keepAlive = strings.map((s) => Buffer.from(`${s}\0`, 'utf8'))
  const array = new BigUint64Array(keepAlive.length + 1)
  keepAlive.forEach((buffer, i) => {
    array[i] = BigInt(ptr(buffer))
  })
  return { array, keepAlive }
}

let stayed: StayedInProcess | undefined

/** Why this process kept the allocator's default, if it tried to restart and could not. */
export function residentHeapFailure(): string | undefined {
  return stayed && 'error' in stayed ? stayed.error : undefined
}

function keepAlive(..._buffers: unknown[]) {}

/**
 * Restarts this process with freed memory kept resident, unless the environment already says what the
 * allocator should do (an operator's choice, or this restart's own mark). Returns only when it does not
 * restart, saying why (and remembering it for residentHeapFailure); a successful exec never returns.
 * Only the process's entry may call it: it replaces whatever process runs it, a test runner included.
 */
export function restartWithResidentHeap(
  env: Record<string, string | undefined>,
  // /proc/self/exe is the running binary even if its path has since been replaced by an upgrade.
  program = '/proc/self/exe',
): StayedInProcess {
  stayed = restart(env, program)
  return stayed
}

function restart(env: Record<string, string | undefined>, program: string): StayedInProcess {
  const chosen = env[purgeDelayVariable]
  if (chosen !== undefined) return { chosen }
  if (process.platform !== 'linux') return { error: `not on Linux (${process.platform})` }
  try {
    const { execve } = dlopen('libc.so.6', {
      execve: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
    }).symbols
    const argv = cStringArray(sameCommand())
    const environment = cStringArray([
      ...Object.entries(env).flatMap(([name, value]) => (value === undefined ? [] : [`${name}=${value}`])),
      `${purgeDelayVariable}=-1`,
    ])
    const path = Buffer.from(`${program}\0`)
    execve(ptr(path), ptr(argv.array), ptr(environment.array))
    // Only a failed exec returns. The buffers are used again here so that none is collected during it.
    keepAlive(path, argv.keepAlive, environment.keepAlive)
    return { error: `execve of ${program} failed` }
  } catch (error) {
    return { error: (error as Error).message }
  }
}

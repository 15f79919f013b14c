import { dlopen, FFIType, ptr } from 'bun:ffi'

// Linux schedules threads one by one: each can have its own niceness and its own set of CPUs. Set
// through libc (glibc ≥ 2.30 for gettid: Debian 12 and distroless cc have 2.36); anywhere that is
// missing, the thread keeps what it had and the caller hears why. Neither needs a privilege.

/** The thread that called, at its new niceness; or why it could not be lowered. */
export type Lowered = { tid: number; nice: number } | { error: string }
/** The CPUs the calling thread may now run on; or why they could not be set. */
export type Pinned = { cpus: number[] } | { error: string }

// setpriority(2)'s PRIO_PROCESS: with a thread id (gettid) as `who`, Linux sets that one thread's nice.
const PRIO_PROCESS = 0
// A cpu_set_t of 1024 CPUs, glibc's size; pid 0 in sched_*affinity means the calling thread.
const cpuSetBytes = 128

let libc: ReturnType<typeof openLibc> | undefined
function openLibc() {
  return dlopen('libc.so.6', {
    gettid: { args: [], returns: FFIType.i32 },
    setpriority: { args: [FFIType.i32, FFIType.u32, FFIType.i32], returns: FFIType.i32 },
    sched_getaffinity: { args: [FFIType.i32, FFIType.u64, FFIType.ptr], returns: FFIType.i32 },
    sched_setaffinity: { args: [FFIType.i32, FFIType.u64, FFIType.ptr], returns: FFIType.i32 },
  }).symbols
}

function withLibc<T>(
  use: (symbols: ReturnType<typeof openLibc>) => T | { error: string },
): T | { error: string } {
  if (process.platform !== 'linux') return { error: `not on Linux (${process.platform})` }
  try {
    libc ??= openLibc()
    return use(libc)
  } catch (error) {
    return { error: (error as Error).message }
  }
}

/** Lowers the calling thread's CPU priority to `nice` (19 is the lowest). */
export function lowerThisThreadsPriority(nice: number): Lowered {
  return withLibc((c) => {
    const tid = c.gettid()
    return c.setpriority(PRIO_PROCESS, tid, nice) === 0 ? { tid, nice } : { error: 'setpriority refused' }
  })
}

/** The CPUs the calling thread may run on (its affinity, which a container's cpuset bounds). */
export function cpusOfThisThread(): { cpus: number[] } | { error: string } {
  return withLibc((c) => {
    const mask = new Uint8Array(cpuSetBytes)
    if (c.sched_getaffinity(0, cpuSetBytes, ptr(mask)) !== 0) return { error: 'sched_getaffinity refused' }
    const cpus: number[] = []
    for (let cpu = 0; cpu < cpuSetBytes * 8; cpu++)
      if (((mask[cpu >> 3] ?? 0) >> (cpu & 7)) & 1) cpus.push(cpu)
    return { cpus }
  })
}

/** Restricts the calling thread, and the threads it starts from now on, to `cpus`. */
export function pinThisThread(cpus: readonly number[]): Pinned {
  return withLibc((c) => {
    const mask = new Uint8Array(cpuSetBytes)
    for (const cpu of cpus) mask[cpu >> 3] = (mask[cpu >> 3] ?? 0) | (1 << (cpu & 7))
    return c.sched_setaffinity(0, cpuSetBytes, ptr(mask)) === 0
      ? { cpus: [...cpus] }
      : { error: `sched_setaffinity refused CPUs ${cpus.join(',')}` }
  })
}

/**
 * The CPUs ledgerd may run on, split: the last `hashing` of them for sign-up hashing, the rest for the
 * API and writer threads. At least one CPU must be left to the API.
 */
export function splitCpus(
  allowed: readonly number[],
  hashing: number,
): { api: number[]; hashing: number[] } | { error: string } {
  if (hashing >= allowed.length)
    return {
      error: `--hashing-cpus ${hashing} leaves no CPU for the API: ledgerd may run on ${allowed.length} (${allowed.join(',')})`,
    }
  return { api: allowed.slice(0, allowed.length - hashing), hashing: allowed.slice(allowed.length - hashing) }
}

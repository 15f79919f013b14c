import { dlopen, FFIType, ptr, read } from 'bun:ffi'

// Linux schedules threads one by one: each can have its own niceness, scheduling policy and set of
// CPUs. Set through libc (glibc ≥ 2.30 for gettid: Debian 12 and distroless cc have 2.36); anywhere
// that is missing, the thread keeps what it had and the caller hears why. None needs a privilege.

/**
 * The thread that called, at its new niceness, and whether it is SCHED_IDLE too (why not, if not); or
 * why it could not be lowered at all.
 */
export type Lowered =
  | { tid: number; nice: number; idle: true }
  | { tid: number; nice: number; idle: false; idleError: string }
  | { error: string }
/** The CPUs the calling thread may now run on; or why they could not be set. */
export type Pinned = { cpus: number[] } | { error: string }

// setpriority(2)'s PRIO_PROCESS: with a thread id (gettid) as `who`, Linux sets that one thread's nice.
const PRIO_PROCESS = 0
// sched(7)'s SCHED_IDLE, and its sched_param: one int, sched_priority, which must be 0 for it.
const SCHED_IDLE = 5
// A cpu_set_t of 1024 CPUs, glibc's size; pid 0 in sched_*affinity means the calling thread.
const cpuSetBytes = 128

let libc: ReturnType<typeof openLibc> | undefined
function openLibc() {
  return dlopen('libc.so.6', {
    gettid: { args: [], returns: FFIType.i32 },
    setpriority: { args: [FFIType.i32, FFIType.u32, FFIType.i32], returns: FFIType.i32 },
    sched_setscheduler: { args: [FFIType.i32, FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
    __errno_location: { args: [], returns: FFIType.ptr },
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

/**
 * Lowers the calling thread's CPU priority to `nice` (19 is the lowest), then makes it SCHED_IDLE.
 * nice 19 alone still cost the ledger a median 27 % of its throughput beside a busy loop on two CPUs,
 * SCHED_IDLE about 10 % (5 rounds each, Linux 6.18): a CPU that runs only SCHED_IDLE threads counts as
 * idle when a woken thread is placed, and a woken normal thread preempts a SCHED_IDLE one at once,
 * where a nice 19 thread keeps its slice. Any thread may become SCHED_IDLE (sched(7)), and container
 * runtimes' default seccomp profiles allow it; where it is refused all the same, nice 19 still holds.
 */
export function lowerThisThreadsPriority(nice: number): Lowered {
  return withLibc((c): Lowered => {
    const tid = c.gettid()
    if (c.setpriority(PRIO_PROCESS, tid, nice) !== 0) return { error: 'setpriority refused' }
    const param = new Int32Array(1)
    if (c.sched_setscheduler(tid, SCHED_IDLE, ptr(param)) === 0) return { tid, nice, idle: true }
    const errno = c.__errno_location()
    const code = errno === null ? 'unknown' : read.i32(errno, 0)
    return { tid, nice, idle: false, idleError: `sched_setscheduler SCHED_IDLE refused (errno ${code})` }
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

import { dlopen, FFIType } from 'bun:ffi'

/** The thread that called, at its new niceness; or why it could not be lowered. */
export type Lowered = { tid: number; nice: number } | { error: string }

// setpriority(2)'s PRIO_PROCESS: with a thread id (gettid) as `who`, Linux sets that one thread's nice.
const PRIO_PROCESS = 0

/**
 * Lowers the calling thread's CPU priority to `nice` (19 is the lowest). Linux schedules threads one by
 * one, so one thread of a process can run on whatever CPU the others leave idle. Raising niceness needs
 * no privilege. Through libc (glibc ≥ 2.30 for gettid: Debian 12 and distroless cc have 2.36); anywhere
 * that is missing, the thread keeps its priority and the caller hears why.
 */
export function lowerThisThreadsPriority(nice: number): Lowered {
  if (process.platform !== 'linux') return { error: `not on Linux (${process.platform})` }
  try {
    const libc = dlopen('libc.so.6', {
      gettid: { args: [], returns: FFIType.i32 },
      setpriority: { args: [FFIType.i32, FFIType.u32, FFIType.i32], returns: FFIType.i32 },
    })
    try {
      const tid = libc.symbols.gettid()
      if (libc.symbols.setpriority(PRIO_PROCESS, tid, nice) !== 0) return { error: 'setpriority refused' }
      return { tid, nice }
    } finally {
      libc.close()
    }
  } catch (error) {
    return { error: (error as Error).message }
  }
}

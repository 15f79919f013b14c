import { readdirSync, readFileSync } from 'node:fs'

// What the kernel says of a process's threads, from /proc: how ledgerd's hashing threads were lowered
// and pinned is read there, not taken from ledgerd's own word.

/** A thread's nice value: field 19 of its stat, counted from after the parenthesised name. */
export function niceOf(pid: number | 'self', tid: number | string = pid): number {
  const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])
}

/** The CPUs a thread may run on: its Cpus_allowed_list, e.g. "0-1" or "1". */
export function cpusAllowed(pid: number | 'self', tid: number | string = pid): string | undefined {
  return readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8').match(/^Cpus_allowed_list:\s*(\S+)$/m)?.[1]
}

/** Every thread of a process, with its nice value and CPUs. */
export function threadsOf(pid: number): { nice: number; cpus: string | undefined }[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => ({
    nice: niceOf(pid, tid),
    cpus: cpusAllowed(pid, tid),
  }))
}

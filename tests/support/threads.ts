import { readdirSync, readFileSync } from 'node:fs'

// What the kernel says of a process's threads, from /proc: how ledgerd's hashing threads were lowered
// and pinned is read there, not taken from ledgerd's own word.

/** Where /proc keeps a file of a process (its main thread), or of one of its threads. */
const procFile = (pid: number | 'self', tid: number | string | undefined, file: string) =>
  tid === undefined ? `/proc/${pid}/${file}` : `/proc/${pid}/task/${tid}/${file}`

/** A thread's nice value: field 19 of its stat, counted from after the parenthesised name. */
export function niceOf(pid: number | 'self', tid?: number | string): number {
  const stat = readFileSync(procFile(pid, tid, 'stat'), 'utf8')
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])
}

/** The CPUs a thread may run on: its Cpus_allowed_list, e.g. "0-1" or "1". */
export function cpusAllowed(pid: number | 'self', tid?: number | string): string | undefined {
  return readFileSync(procFile(pid, tid, 'status'), 'utf8').match(/^Cpus_allowed_list:\s*(\S+)$/m)?.[1]
}

/** Every thread of a process, with its nice value and CPUs. */
export function threadsOf(pid: number): { nice: number; cpus: string | undefined }[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => ({
    nice: niceOf(pid, tid),
    cpus: cpusAllowed(pid, tid),
  }))
}

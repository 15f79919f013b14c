import { readdirSync, readFileSync } from 'node:fs'

// What the kernel says of a process's threads, from /proc: how ledgerd's hashing threads were lowered
// and pinned, and how many pages it faulted in, is read there, not taken from ledgerd's own word.

/** Where /proc keeps a file of a process (its main thread), or of one of its threads. */
const procFile = (pid: number | 'self', tid: number | string | undefined, file: string) =>
  tid === undefined ? `/proc/${pid}/${file}` : `/proc/${pid}/task/${tid}/${file}`

/** A field of a thread's stat (proc(5) numbers them from 1), counted from after the parenthesised name. */
function statField(pid: number | 'self', tid: number | string | undefined, field: number): number {
  const stat = readFileSync(procFile(pid, tid, 'stat'), 'utf8')
  // The name may hold spaces and parentheses: what follows the last ')' starts at field 3.
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[field - 3])
}

/** Minor page faults of a process (all its threads) or of one thread so far: field 10 of its stat. */
export const minorFaultsOf = (pid: number | 'self', tid?: number | string): number => statField(pid, tid, 10)

/** A thread's nice value: field 19 of its stat. */
export const niceOf = (pid: number | 'self', tid?: number | string): number => statField(pid, tid, 19)

/** SCHED_OTHER and SCHED_IDLE, as sched(7) and a stat's policy field number them. */
export const SCHED_OTHER = 0
export const SCHED_IDLE = 5

/** A thread's scheduling policy: field 41 of its stat (SCHED_OTHER, SCHED_IDLE, ...). */
export const policyOf = (pid: number | 'self', tid?: number | string): number => statField(pid, tid, 41)

/** The CPUs a thread may run on: its Cpus_allowed_list, e.g. "0-1" or "1". */
export function cpusAllowed(pid: number | 'self', tid?: number | string): string | undefined {
  return readFileSync(procFile(pid, tid, 'status'), 'utf8').match(/^Cpus_allowed_list:\s*(\S+)$/m)?.[1]
}

/** Every thread of a process, with its nice value, scheduling policy and CPUs. */
export function threadsOf(pid: number): { nice: number; policy: number; cpus: string | undefined }[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => ({
    nice: niceOf(pid, tid),
    policy: policyOf(pid, tid),
    cpus: cpusAllowed(pid, tid),
  }))
}

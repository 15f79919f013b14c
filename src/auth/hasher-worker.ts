import { type Lowered, lowerThisThreadsPriority, type Pinned, pinThisThread } from '../lib/thread-scheduling'
import { argon2Options } from './argon2'

// A background hashing thread (background-hasher.ts): argon2 for sign-ups and new passwords, at the
// lowest CPU priority (nice 19 and SCHED_IDLE: thread-scheduling.ts), so the hashing only ever gets the
// CPU that requests leave idle, and, with --hashing-cpus, only on the CPUs set aside for it. The hash
// runs on this thread itself (hashSync): Bun's asynchronous hash would run it on a shared pool thread at
// the process's priority.

declare const self: Worker

export type ToHasher = { type: 'start'; cpus: number[] } | { type: 'hash'; password: string }
export type FromHasher =
  | { type: 'started'; lowered: Lowered; pinned?: Pinned }
  | { type: 'hashed'; hash: string }
  | { type: 'failed'; message: string }

const send = (message: FromHasher) => self.postMessage(message)

self.onmessage = ({ data }: MessageEvent<ToHasher>) => {
  if (data.type === 'start') {
    const lowered = lowerThisThreadsPriority(19)
    send({ type: 'started', lowered, pinned: data.cpus.length > 0 ? pinThisThread(data.cpus) : undefined })
    return
  }
  try {
    send({ type: 'hashed', hash: Bun.password.hashSync(data.password, argon2Options) })
  } catch (error) {
    send({ type: 'failed', message: (error as Error).message })
  }
}

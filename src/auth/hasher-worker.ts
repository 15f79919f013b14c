import { lowerThisThreadsPriority } from '../lib/thread-priority'
import { argon2Options } from './argon2'

// A background hashing thread (background-hasher.ts): argon2 for sign-ups and new passwords, at the
// lowest CPU priority, so the hashing only ever gets the CPU that requests leave idle. The hash runs on
// this thread itself (hashSync): Bun's asynchronous hash would run it on a shared pool thread at the
// process's priority.

declare const self: Worker

export type ToHasher = { id: number; password: string }
export type FromHasher =
  | { type: 'started'; lowered: ReturnType<typeof lowerThisThreadsPriority> }
  | { type: 'hashed'; id: number; hash: string }
  | { type: 'failed'; id: number; message: string }

const send = (message: FromHasher) => self.postMessage(message)

send({ type: 'started', lowered: lowerThisThreadsPriority(19) })

self.onmessage = ({ data }: MessageEvent<ToHasher>) => {
  try {
    send({ type: 'hashed', id: data.id, hash: Bun.password.hashSync(data.password, argon2Options) })
  } catch (error) {
    send({ type: 'failed', id: data.id, message: (error as Error).message })
  }
}

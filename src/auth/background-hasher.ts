import type { Lowered, Pinned } from '../lib/thread-scheduling'
import { hasherThreadUrl } from '../writer-thread-url'
import type { FromHasher, ToHasher } from './hasher-worker'

/**
 * What the pool reports of each thread as it starts: its thread id, niceness and whether it is
 * SCHED_IDLE, and its CPUs when it was given some; or why not.
 */
export type HasherStarted = (started: { lowered: Lowered; pinned?: Pinned }) => void

type Job = { password: string; resolve(hash: string): void; reject(error: Error): void }

/**
 * argon2 on `threads` threads of their own at the lowest CPU priority (hasher-worker.ts), and only on
 * `cpus` when given: a sign-up flood then takes only CPU that requests leave idle, instead of a core per
 * hash in flight. Jobs past the idle threads wait here in order (the caller bounds how many:
 * passwords.ts). A thread that dies fails its job and is replaced.
 */
export class BackgroundHasher {
  readonly #idle: Worker[] = []
  readonly #busy = new Map<Worker, Job>()
  readonly #waiting: Job[] = []
  #closed = false

  constructor(
    threads: number,
    private readonly started: HasherStarted = () => {},
    private readonly cpus: readonly number[] = [],
  ) {
    for (let i = 0; i < threads; i++) this.#start()
  }

  get closed(): boolean {
    return this.#closed
  }

  hash(password: string): Promise<string> {
    if (this.#closed) return Promise.reject(new Error('the hasher is closed'))
    return new Promise((resolve, reject) => {
      this.#waiting.push({ password, resolve, reject })
      this.#dispatch()
    })
  }

  close(): void {
    this.#closed = true
    for (const job of [...this.#waiting, ...this.#busy.values()])
      job.reject(new Error('the hasher is closed'))
    for (const worker of [...this.#idle, ...this.#busy.keys()]) worker.terminate()
    this.#idle.length = 0
    this.#waiting.length = 0
    this.#busy.clear()
  }

  #start(): void {
    const worker = new Worker(hasherThreadUrl)
    // Idle threads must not keep a process alive that has nothing else to do (the CLI, tests).
    worker.unref()
    worker.onmessage = ({ data }: MessageEvent<FromHasher>) => {
      if (data.type === 'started') return this.started({ lowered: data.lowered, pinned: data.pinned })
      const job = this.#busy.get(worker)
      this.#busy.delete(worker)
      this.#idle.push(worker)
      if (data.type === 'hashed') job?.resolve(data.hash)
      else job?.reject(new Error(`argon2 failed: ${data.message}`))
      this.#dispatch()
    }
    worker.onerror = (event) => {
      const job = this.#busy.get(worker)
      this.#busy.delete(worker)
      const idleAt = this.#idle.indexOf(worker)
      if (idleAt >= 0) this.#idle.splice(idleAt, 1)
      worker.terminate()
      job?.reject(new Error(`a hashing thread died: ${event.message}`))
      if (!this.#closed) {
        this.#start()
        this.#dispatch()
      }
    }
    // Messages are handled in order: the thread is lowered (and pinned) before its first hash.
    worker.postMessage({ type: 'start', cpus: [...this.cpus] } satisfies ToHasher)
    this.#idle.push(worker)
  }

  #dispatch(): void {
    while (this.#idle.length > 0 && this.#waiting.length > 0) {
      const worker = this.#idle.pop() as Worker
      const job = this.#waiting.shift() as Job
      this.#busy.set(worker, job)
      worker.postMessage({ type: 'hash', password: job.password } satisfies ToHasher)
    }
  }
}

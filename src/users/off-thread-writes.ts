import type { DatabaseConfig } from '../db/open'
import { usersWriterThreadUrl } from '../writer-thread-url'
import type { DeleteOutcome, UsersRepository } from './repository'
import type { FromUsersWriter, ToUsersWriter, UserWrite } from './sqlite-writer-worker'

/** An error the writer thread threw, with its SQLite code, so faults are classified as before. */
class UsersWriteError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message)
    this.name = 'SQLiteError'
  }
}

/**
 * The SQLite users repository with its writes on a thread of their own (sqlite-writer-worker.ts): reads
 * stay on the API thread's connection (point queries, answered from the page cache), while a write that
 * waits for the disk or for SQLite's write lock waits there, so /healthz and every other request go on.
 */
export async function withOffThreadWrites(
  users: UsersRepository & { forgetLive(id: string): void },
  config: DatabaseConfig,
): Promise<UsersRepository & { close(): void }> {
  const worker = new Worker(usersWriterThreadUrl)
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>()
  let nextId = 0
  let opened: ((message: FromUsersWriter) => void) | undefined
  const post = (message: ToUsersWriter) => worker.postMessage(JSON.stringify(message))

  worker.onmessage = (event: MessageEvent<string>) => {
    const message = JSON.parse(event.data) as FromUsersWriter
    if (message.type === 'written') pending.get(message.id)?.resolve(message.result ?? undefined)
    else if (message.type === 'write-failed')
      pending.get(message.id)?.reject(new UsersWriteError(message.message, message.code))
    else opened?.(message)
    if ('id' in message) pending.delete(message.id)
  }
  worker.onerror = (event) => {
    opened?.({ type: 'open-failed', message: event.message })
    for (const waiting of pending.values())
      waiting.reject(new Error(`the users writer died: ${event.message}`))
    pending.clear()
  }
  const answer = await new Promise<FromUsersWriter>((resolve) => {
    opened = resolve
    post({ type: 'open', config })
  })
  if (answer.type !== 'opened') {
    worker.terminate()
    throw new Error(
      `the users writer could not open the database: ${(answer as { message?: string }).message}`,
    )
  }

  const write = <T>(method: UserWrite, ...args: unknown[]) =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject })
      post({ type: 'write', id, method, args })
    })

  return {
    ...users,
    create: (user) => write('create', user),
    updateName: (id, name) => write('updateName', id, name),
    async delete(id) {
      // This thread's cache of live users: forgotten before, as the repository's own delete does, and
      // again after, in case a request read the user as live while the write was on its way.
      users.forgetLive(id)
      const deleted = await write<DeleteOutcome>('delete', id)
      users.forgetLive(id)
      return deleted
    },
    findOrCreateExternal: (identity) => write('findOrCreateExternal', identity),
    close: () => worker.terminate(),
  }
}

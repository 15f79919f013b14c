import { type DatabaseConfig, openDatabase } from '../db/open'
import { sqliteUsersRepository, type UsersRepository } from './repository'

// The users writer thread: its own SQLite connection for sign-up, rename, delete and first sight of an
// external user. A write waiting on the disk or on SQLite's lock (up to the busy timeout) waits here,
// never on the API thread's event loop. Messages are JSON text, as the ledger's writer thread's.

declare const self: Worker

export type UserWrite = 'create' | 'updateName' | 'delete' | 'findOrCreateExternal'
export type ToUsersWriter =
  | { type: 'open'; config: DatabaseConfig }
  | { type: 'write'; id: number; method: UserWrite; args: unknown[] }
export type FromUsersWriter =
  | { type: 'opened' }
  | { type: 'open-failed'; message: string }
  | { type: 'written'; id: number; result: unknown }
  | { type: 'write-failed'; id: number; message: string; code?: string }

let users: UsersRepository | undefined
const send = (message: FromUsersWriter) => self.postMessage(JSON.stringify(message))

self.onmessage = async (event: MessageEvent<string>) => {
  const message = JSON.parse(event.data) as ToUsersWriter
  if (message.type === 'open') {
    try {
      users = sqliteUsersRepository(await openDatabase(message.config))
      send({ type: 'opened' })
    } catch (error) {
      send({ type: 'open-failed', message: (error as Error).message })
    }
    return
  }
  try {
    const write = (users as UsersRepository)[message.method] as (...args: unknown[]) => Promise<unknown>
    send({ type: 'written', id: message.id, result: (await write(...message.args)) ?? null })
  } catch (error) {
    const code = (error as { code?: unknown }).code
    send({
      type: 'write-failed',
      id: message.id,
      message: (error as Error).message,
      ...(typeof code === 'string' ? { code } : {}),
    })
  }
}

import type { Command, Transaction } from '../engine'

// An Idempotency-Key's earlier use is "the same command" by content, exactly as on SQLite
// (src/ledger/sqlite/writer-core.ts): a stored transaction is compared field by field with the command,
// a stored refusal by the command's canonical JSON.

/** Canonical JSON of a command: how a refused command is compared with a retry of its key. */
export const commandText = (command: Command) => JSON.stringify(command, Object.keys(command).sort())

export const sameMovement = (stored: Transaction, command: { amount: number; description?: string }) =>
  stored.amount === command.amount && stored.description === (command.description ?? null)

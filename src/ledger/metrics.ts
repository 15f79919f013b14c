import { Counter, Histogram, type Registry } from 'prom-client'
import type { RefusalCode, TransactionKind } from './engine'

export const transactionKinds: readonly TransactionKind[] = ['deposit', 'withdrawal', 'transfer', 'reversal']

const refusalCodes: readonly RefusalCode[] = [
  'not-found',
  'destination-not-found',
  'same-account',
  'currency-mismatch',
  'insufficient-funds',
  'already-reversed',
  'balance-limit',
  'idempotency-key-reused',
  'idempotency-key-in-use',
]

/** A refusal as the `outcome` label shows it: `insufficient_funds` for `insufficient-funds`. */
export const outcomeOf = (code: RefusalCode) => code.replaceAll('-', '_')

/** Every value of `outcome`: `committed`, or a refusal. */
export const ledgerOutcomes = ['committed', ...refusalCodes.map(outcomeOf)]

export function createLedgerMetrics(registry: Registry) {
  return {
    transactions: new Counter({
      name: 'ledger_transactions_total',
      help: 'Ledger mutations by kind, outcome (committed, or the refusal) and currency.',
      labelNames: ['kind', 'outcome', 'currency'] as const,
      registers: [registry],
    }),
    amount: new Counter({
      name: 'ledger_amount_minor_units_total',
      help: 'Minor units (cents, for USD) moved by committed mutations, by kind and currency.',
      labelNames: ['kind', 'currency'] as const,
      registers: [registry],
    }),
    replays: new Counter({
      name: 'ledger_idempotent_replays_total',
      help: 'Requests answered from a stored response because their Idempotency-Key was seen before.',
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: 'ledger_commit_batch_size',
      help: 'Writes committed together by one group commit (one fsync).',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers: [registry],
    }),
    commitDuration: new Histogram({
      name: 'ledger_commit_duration_seconds',
      help: 'Time to run and commit one group-commit batch, fsync included.',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
      registers: [registry],
    }),
  }
}

export type LedgerMetrics = ReturnType<typeof createLedgerMetrics>

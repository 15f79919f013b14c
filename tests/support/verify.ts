import { expect } from 'bun:test'
import { runLedgerd } from './ledgerd-process'

/** `ledgerd verify` on a data dir must exit 0 with its "ok" line; returns the counts that line gives. */
export async function expectVerified(dataDir: string): Promise<{ accounts: number; transactions: number }> {
  const result = await runLedgerd(['verify', '--data-dir', dataDir])
  expect({ exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr }).toMatchObject({
    exitCode: 0,
    stdout: expect.stringMatching(/^ok: \d+ accounts, \d+ transactions checked$/m),
  })
  const [, accounts, transactions] = /^ok: (\d+) accounts, (\d+) transactions checked$/m.exec(
    result.stdout,
  ) as RegExpExecArray
  return { accounts: Number(accounts), transactions: Number(transactions) }
}

/** What a command may touch of the outside world; tests pass their own. */
export interface CommandIO {
  env: Record<string, string | undefined>
  out(text: string): void
  err(text: string): void
}

export const processIO: CommandIO = {
  env: process.env,
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
}

export const exitCodes = { ok: 0, failure: 1, usage: 2 } as const

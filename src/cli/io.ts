/** What a command may touch of the outside world; tests pass their own. */
export interface CommandIO {
  env: Record<string, string | undefined>
  out(text: string): void
  err(text: string): void
  /** Everything piped to standard input; undefined when it is a terminal (nothing to read). */
  readStdin(): Promise<string | undefined>
}

export const processIO: CommandIO = {
  env: process.env,
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  readStdin: async () => (process.stdin.isTTY ? undefined : await Bun.stdin.text()),
}

export const exitCodes = { ok: 0, failure: 1, usage: 2 } as const

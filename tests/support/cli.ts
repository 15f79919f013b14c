import type { CommandIO } from '../../src/cli/io'

/** A CommandIO that records what a command prints; stdin is what it reads, if given. */
export function captureIO(env: Record<string, string> = {}, stdin?: string) {
  const out: string[] = []
  const err: string[] = []
  const io: CommandIO = {
    env,
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    readStdin: async () => stdin,
  }
  return { io, stdout: () => out.join(''), stderr: () => err.join('') }
}

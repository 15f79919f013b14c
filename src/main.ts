import { restartWithResidentHeap } from './server/resident-heap'

const args = process.argv.slice(2)
// The server, before it opens, binds or starts anything, restarts itself in place so that password
// hashing finds its memory still mapped (src/server/resident-heap.ts). Here, not in the serve command:
// only the process's own entry may replace the process. The rest of ledgerd is loaded after it, so that
// the process which is replaced has not loaded it for nothing.
if (args[0] === 'serve') restartWithResidentHeap(process.env)
const { processIO } = await import('./cli/io')
const { run } = await import('./cli/main')

try {
  process.exitCode = await run(args, processIO)
} catch (error) {
  // A failure no command anticipated (disk full, permission denied on the data dir...): say what, exit 1.
  process.stderr.write(`ledgerd: ${(error as Error).message ?? error}\n`)
  process.exitCode = 1
}

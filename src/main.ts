import { processIO } from './cli/io'
import { run } from './cli/main'

try {
  process.exitCode = await run(process.argv.slice(2), processIO)
} catch (error) {
  // A failure no command anticipated (disk full, permission denied on the data dir...): say what, exit 1.
  process.stderr.write(`ledgerd: ${(error as Error).message ?? error}\n`)
  process.exitCode = 1
}

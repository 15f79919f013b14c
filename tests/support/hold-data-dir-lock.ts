// Run as its own process by tests: takes the data dir's lock, keeps no reference to it, forces a garbage
// collection, says "held" and waits to be killed. Usage: bun tests/support/hold-data-dir-lock.ts DIR
import { acquireDataDirLock } from '../../src/db/data-dir-lock'

const dataDir = process.argv[2]
if (!dataDir) throw new Error('usage: hold-data-dir-lock.ts DIR')
acquireDataDirLock(dataDir)
Bun.gc(true)
process.stdout.write('held\n')
setInterval(() => Bun.gc(true), 50)

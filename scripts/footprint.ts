// Measures what a user of the binary notices first: its size, how long `serve` takes from exec to a 200
// on /readyz, and its resident memory once idle. Run: bun scripts/footprint.ts [runs]
import { rmSync, statSync } from 'node:fs'
import { binaryPath, startLedgerd } from '../tests/support/ledgerd-process'

const runs = Number(process.argv[2] ?? 15)
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number

function rssKiB(pid: number): number {
  const status = require('node:fs').readFileSync(`/proc/${pid}/status`, 'utf8') as string
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1])
}

console.log(`binary: ${binaryPath}`)
console.log(`size: ${(statSync(binaryPath).size / 1024 / 1024).toFixed(1)} MiB`)

const readyMs: number[] = []
const idleRss: number[] = []
for (let i = 0; i < runs; i++) {
  const server = await startLedgerd()
  for (;;) {
    const response = await fetch(`${server.adminUrl}/readyz`).catch(() => undefined)
    if (response?.status === 200) break
    await Bun.sleep(2)
  }
  readyMs.push(performance.now() - server.startedAt)
  await Bun.sleep(1000)
  idleRss.push(rssKiB(server.process.pid))
  await server.stop()
  rmSync(server.dataDir, { recursive: true, force: true })
}
console.log(
  `start to /readyz 200: median ${median(readyMs).toFixed(0)} ms, max ${Math.max(...readyMs).toFixed(0)} ms (${runs} runs, fresh data dir each)`,
)
console.log(`idle RSS after 1 s: median ${(median(idleRss) / 1024).toFixed(1)} MiB`)

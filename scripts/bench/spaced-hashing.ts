import { readFileSync } from 'node:fs'

// Password hashing on a server that is not flooded: sign-ups, then logins of the same users, one at a
// time with a pause between them, the way they arrive most of the day. For each it measures the latency
// the client sees and, from /proc, the CPU time and minor page faults ledgerd spent. Used by
// spaced-hashing.sh; prints one RESULT line.
// Usage: bun scripts/bench/spaced-hashing.ts <api url> <ledgerd pid> <count> <gap ms> <label>

const [api, pidText, countText, gapText, label] = process.argv.slice(2)
if (!api || !pidText || !countText || !gapText || !label) {
  console.error('usage: spaced-hashing.ts <api url> <ledgerd pid> <count> <gap ms> <label>')
  process.exit(2)
}
const pid = Number(pidText)
const count = Number(countText)
const gapMs = Number(gapText)
const password = 'spaced hashing password'
const ticksPerSecond = 100

/** The process's CPU time (ms) and minor faults so far, from /proc/<pid>/stat. */
function usage(): { cpuMs: number; faults: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(fields[11]) + Number(fields[12])
  return { cpuMs: (ticks * 1000) / ticksPerSecond, faults: Number(fields[7]) }
}
const residentMiB = () =>
  Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s*(\d+)/m)?.[1]) / 1024

async function timed(path: string, body: unknown, expected: number): Promise<number> {
  const started = performance.now()
  const response = await fetch(`${api}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  })
  await response.arrayBuffer()
  if (response.status !== expected) throw new Error(`${path} answered ${response.status}`)
  return performance.now() - started
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN
const email = (n: number) => `spaced-${label}-${n}@example.com`

const before = usage()
const signUps: number[] = []
for (let n = 0; n < count; n++) {
  signUps.push(await timed('/v1/users', { email: email(n), name: 'Spaced', password }, 201))
  await Bun.sleep(gapMs)
}
const logins: number[] = []
for (let n = 0; n < count; n++) {
  logins.push(await timed('/v1/auth/token', { email: email(n), password }, 200))
  await Bun.sleep(gapMs)
}
const after = usage()
const hashes = 2 * count
console.log(
  `RESULT label=${label} signup_ms=${median(signUps).toFixed(1)} login_ms=${median(logins).toFixed(1)}` +
    ` cpu_ms_per_hash=${((after.cpuMs - before.cpuMs) / hashes).toFixed(1)}` +
    ` faults_per_hash=${((after.faults - before.faults) / hashes).toFixed(0)} rss_mib=${residentMiB().toFixed(0)}`,
)

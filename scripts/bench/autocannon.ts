// Fallback load generator for scripts/bench.sh when wrk cannot be installed: the same mixes, keys and
// counting as mixed.lua (read that file for the arguments), on npm autocannon. One Bun process is a
// weaker client than wrk's two threads in C, so numbers from the two clients are not comparable.
// Usage: bun scripts/bench/autocannon.ts <url> <seconds> <connections> <accounts file|-> <run tag> <mix>
// AUTOCANNON names the module's entry file: bench.sh installs it outside the project's dependencies.
export {} // a module: top-level await, and names not shared with the other scripts

type BenchRequest = { method?: string; path?: string; headers?: Record<string, string>; body?: string }
type Options = {
  url: string
  connections: number
  duration: number
  requests: {
    setupRequest: (req: BenchRequest) => BenchRequest
    onResponse: (status: number, body: string) => void
  }[]
}
type Result = { latency: { p50: number; p99: number }; errors: number; timeouts: number }
const autocannon: (options: Options) => Promise<Result> = (await import(Bun.env.AUTOCANNON ?? 'autocannon'))
  .default

const [url, seconds, connections, accountsFile, tag, mix] = Bun.argv.slice(2)
const shares: Record<string, [number, number]> = {
  mixed: [70, 20],
  deposits: [100, 0],
  withdrawals: [0, 100],
  reads: [0, 0],
  hello: [0, 0],
}
if (!mix || !shares[mix]) throw new Error(`unknown mix ${mix}`)
const [depositPct, withdrawalPct] = shares[mix]
const accounts =
  mix === 'hello'
    ? [['-', 'x'.repeat(200)]]
    : (await Bun.file(accountsFile as string).text())
        .trim()
        .split('\n')
        .map((line) => line.split(' '))
const pick = <T>(items: T[]) => items[Math.floor(Math.random() * items.length)] as T
const count = { ok: 0, insufficient: 0, http4xx: 0, http5xx: 0, other: 0 }
let counter = 0

const result = await autocannon({
  url: url as string,
  connections: Number(connections),
  duration: Number(seconds),
  requests: [
    {
      setupRequest: (req) => {
        const [id, token] = pick(accounts) as [string, string]
        const headers: Record<string, string> = { authorization: `Bearer ${token}` }
        if (mix === 'hello') return { ...req, method: 'GET', path: '/', headers }
        const roll = Math.floor(Math.random() * 100) + 1
        if (roll > depositPct + withdrawalPct)
          return { ...req, method: 'GET', path: `/v1/accounts/${id}`, headers }
        const kind = roll <= depositPct ? 'deposits' : 'withdrawals'
        headers['content-type'] = 'application/json'
        headers['idempotency-key'] = `${tag}-${++counter}`
        const body = JSON.stringify({ amount: Math.floor(Math.random() * 10000) + 1 })
        return { ...req, method: 'POST', path: `/v1/accounts/${id}/${kind}`, headers, body }
      },
      onResponse: (status, body) => {
        if (status >= 200 && status < 300) count.ok++
        else if (status === 409 && body.includes('insufficient-funds')) count.insufficient++
        else if (status >= 500) count.http5xx++
        else if (status >= 400) count.http4xx++
        else count.other++
      },
    },
  ],
})
const total = Object.values(count).reduce((a, b) => a + b, 0)
console.log(
  `${total} requests in ${seconds} s (autocannon), p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms`,
)
console.log(
  `RESULT rps=${Math.round(total / Number(seconds))} p50_ms=${result.latency.p50} p99_ms=${result.latency.p99} ` +
    `ok=${count.ok} insufficient=${count.insufficient} http4xx=${count.http4xx} http5xx=${count.http5xx} ` +
    `other=${count.other} socket=${result.errors - result.timeouts} timeout=${result.timeouts}`,
)

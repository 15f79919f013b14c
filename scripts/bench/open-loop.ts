// An open-loop load for scripts/bench.sh: requests start on a fixed schedule (the offered rate), whether
// or not earlier ones have been answered, and each latency counts from the moment its request was due,
// not from when it was sent, so a stall is charged to every request it delayed (no coordinated
// omission, as wrk2 measures). The same mix as mixed.lua: 70 % deposits, 20 % withdrawals, 10 % balance
// reads, random accounts, a fresh Idempotency-Key on each mutation.
// Prints one "RESULT k=v ..." line like mixed.lua's, plus offered= and late= (requests that could not
// start within 100 ms of their time because max_in_flight were already waiting: the rate is not held).
// The first 2 s (a quarter of a shorter run) warm the client up (JIT, connections) and are not counted.
// Usage: bun scripts/bench/open-loop.ts <base url> <accounts file> <offered req/s> <seconds> <run tag>
export {} // a module: top-level await, and names not shared with the other scripts

const [base, accountsFile, rateArg, secondsArg, tag] = Bun.argv.slice(2)
if (!base || !accountsFile || !tag) {
  throw new Error('usage: open-loop.ts <base url> <accounts file> <offered req/s> <seconds> <run tag>')
}
const rate = Number(rateArg)
const seconds = Number(secondsArg)
const maxInFlight = 512
const warmupMs = Math.min(2000, (seconds * 1000) / 4)
const lateAfterMs = 100

const accounts = (await Bun.file(accountsFile).text())
  .split('\n')
  .filter(Boolean)
  .map((line) => {
    const [id, token] = line.split(' ')
    return { id: id as string, token: token as string }
  })

const counts = { ok: 0, insufficient: 0, http4xx: 0, http5xx: 0, socket: 0, late: 0 }
const latencies: number[] = []
let inFlight = 0
let counter = 0

async function send(due: number, counted: boolean) {
  const account = accounts[Math.floor(Math.random() * accounts.length)] as (typeof accounts)[number]
  const headers: Record<string, string> = { authorization: `Bearer ${account.token}` }
  const roll = Math.random() * 100
  let request: Promise<Response>
  if (roll >= 90) {
    request = fetch(`${base}/v1/accounts/${account.id}`, { headers })
  } else {
    headers['content-type'] = 'application/json'
    headers['idempotency-key'] = `${tag}-${counter++}`
    const kind = roll < 70 ? 'deposits' : 'withdrawals'
    request = fetch(`${base}/v1/accounts/${account.id}/${kind}`, {
      method: 'POST',
      headers,
      body: `{"amount":${1 + Math.floor(Math.random() * 10_000)}}`,
    })
  }
  inFlight++
  try {
    const response = await request
    const body = await response.text()
    if (!counted) return
    latencies.push(performance.now() - due)
    if (response.status < 300) counts.ok++
    else if (response.status === 409 && body.includes('insufficient-funds')) counts.insufficient++
    else if (response.status >= 500) counts.http5xx++
    else counts.http4xx++
  } catch {
    if (counted) counts.socket++
  } finally {
    inFlight--
  }
}

const interval = 1000 / rate
const started = performance.now()
const total = Math.floor((rate * (warmupMs + seconds * 1000)) / 1000)
let next = 0
const pending: Promise<void>[] = []
while (next < total) {
  const now = performance.now()
  // Start every request whose time has come; the event loop turns between batches of them.
  while (next < total && started + next * interval <= now) {
    const due = started + next * interval
    next++
    const counted = due >= started + warmupMs
    if (inFlight >= maxInFlight || now - due > lateAfterMs) {
      if (counted) counts.late++
      continue
    }
    pending.push(send(due, counted))
  }
  // A whole millisecond: shorter sleeps spin, and the client would take a core from the server.
  await Bun.sleep(1)
}
await Promise.all(pending)
const elapsed = (performance.now() - started - warmupMs) / 1000

latencies.sort((a, b) => a - b)
const quantile = (q: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0
console.log(
  `RESULT rps=${(latencies.length / elapsed).toFixed(0)} p50_ms=${quantile(0.5).toFixed(2)} ` +
    `p99_ms=${quantile(0.99).toFixed(2)} ok=${counts.ok} insufficient=${counts.insufficient} ` +
    `http4xx=${counts.http4xx} http5xx=${counts.http5xx} other=0 socket=${counts.socket} timeout=0 ` +
    `offered=${rate} late=${counts.late}`,
)

// A sign-up flood for scripts/bench/signup-flood.sh: `concurrency` sign-ups in flight at all times for
// `seconds`, each from its own address (X-Forwarded-For; ledgerd runs with --forwarded-for-hops 1), so
// the per-address limit never applies and every one reaches the argon2 queue. Prints one line:
// FLOOD sent=N created=N busy503=N limited429=N other=N
const [base, secondsArg, concurrencyArg, tag] = Bun.argv.slice(2)
if (!base || !secondsArg || !concurrencyArg)
  throw new Error('usage: signup-flood.ts URL SECONDS CONCURRENCY [TAG]')
const until = performance.now() + Number(secondsArg) * 1000
const counts = { sent: 0, created: 0, busy503: 0, limited429: 0, other: 0 }
let serial = 0

async function flooder(): Promise<void> {
  while (performance.now() < until) {
    const n = serial++
    counts.sent++
    const response = await fetch(`${base}/v1/users`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-forwarded-for': `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`,
      },
      body: JSON.stringify({
        email: `flood-${tag ?? 'x'}-${n}@example.com`,
        name: 'Flood',
        password: 'flood password 1',
      }),
      signal: AbortSignal.timeout(10_000),
    }).catch(() => undefined)
    const status = response?.status
    await response?.arrayBuffer().catch(() => undefined)
    if (status === 201) counts.created++
    else if (status === 503) counts.busy503++
    else if (status === 429) counts.limited429++
    else counts.other++
    // A 503 says Retry-After: 1; a flood ignores it, but yields so it does not spin on refusals alone.
    if (status === 503) await Bun.sleep(5)
  }
}

await Promise.all(Array.from({ length: Number(concurrencyArg) }, flooder))
console.log(
  `FLOOD sent=${counts.sent} created=${counts.created} busy503=${counts.busy503} ` +
    `limited429=${counts.limited429} other=${counts.other}`,
)

// A module, so that the top-level await above is allowed.
export {}

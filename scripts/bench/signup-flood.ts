// A sign-up flood for scripts/bench/signup-flood.sh, for `seconds`, each sign-up from its own address
// (X-Forwarded-For; ledgerd runs with --forwarded-for-hops 1), so the per-address limit never applies and
// every one reaches the hashing queue.
// - rate > 0: open loop, `rate` sign-ups started a second whatever the answers, at most `inFlight` at
//   once (a start that finds them all busy is counted as skipped): the attacker of the finding, whose
//   requests arrive at their own pace.
// - rate 0: closed loop, `inFlight` sign-ups in flight at all times, each sent as soon as the last is
//   answered: a request flood limited only by how fast ledgerd answers, on the same cores.
// Prints one line: FLOOD sent=N created=N busy503=N limited429=N other=N skipped=N
const [base, secondsArg, rateArg, inFlightArg, tag] = Bun.argv.slice(2)
if (!base || !secondsArg || !rateArg || !inFlightArg)
  throw new Error('usage: signup-flood.ts URL SECONDS RATE IN_FLIGHT [TAG]')
const rate = Number(rateArg)
const maxInFlight = Number(inFlightArg)
const until = performance.now() + Number(secondsArg) * 1000
const counts = { sent: 0, created: 0, busy503: 0, limited429: 0, other: 0, skipped: 0 }
let serial = 0
let inFlight = 0

async function signUp(): Promise<number | undefined> {
  const n = serial++
  counts.sent++
  inFlight++
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
  inFlight--
  if (status === 201) counts.created++
  else if (status === 503) counts.busy503++
  else if (status === 429) counts.limited429++
  else counts.other++
  return status
}

if (rate > 0) {
  // Started on a 10 ms tick, owed starts carried over, so the rate holds whatever the timer's jitter.
  const started = performance.now()
  const answers: Promise<unknown>[] = []
  while (performance.now() < until) {
    const owed = Math.floor(((performance.now() - started) / 1000) * rate) - counts.sent - counts.skipped
    for (let i = 0; i < owed; i++) {
      if (inFlight < maxInFlight) answers.push(signUp())
      else counts.skipped++
    }
    await Bun.sleep(10)
  }
  await Promise.all(answers)
} else {
  const flooder = async () => {
    while (performance.now() < until) {
      // A 503 says Retry-After: 1; a flood ignores it, but yields so it does not spin on refusals alone.
      if ((await signUp()) === 503) await Bun.sleep(5)
    }
  }
  await Promise.all(Array.from({ length: maxInFlight }, flooder))
}
console.log(
  `FLOOD sent=${counts.sent} created=${counts.created} busy503=${counts.busy503} ` +
    `limited429=${counts.limited429} other=${counts.other} skipped=${counts.skipped}`,
)

// A module, so that the top-level await above is allowed.
export {}

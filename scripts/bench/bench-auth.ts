// Measures what the cache of verified tokens saves: (a) one verify() call with and without the cache,
// built from the real src/auth parts (builtinVerifier, cachedVerifier, an EdDSA key from loadSigningKeys);
// (b) GET /v1/users/me through the whole in-process API (platform, auth plugin, user look-up), with
// --token-cache-size 0 against the default. Rounds are interleaved and medians reported; read the ratios,
// not the absolute numbers, which depend on the machine.
// Usage: bun scripts/bench/bench-auth.ts [--quick]

import { rmSync } from 'node:fs'
import { createTokenIssuer } from '../../src/auth/issuer'
import { loadSigningKeys } from '../../src/auth/keys'
import { cachedVerifier } from '../../src/auth/token-cache'
import { builtinVerifier, type TokenVerifier } from '../../src/auth/verifier'
import { settings } from '../../src/config/settings'
import { type InProcessLedgerd, inProcessLedgerd } from '../../tests/support/app'
import { tempDir } from '../../tests/support/ledgerd-process'

const usage = 'usage: bun scripts/bench/bench-auth.ts [--quick]'
const args = process.argv.slice(2)
if (args.some((arg) => arg !== '--quick')) {
  console.error(usage)
  process.exit(2)
}
// Odd round counts give a true median; short samples, many rounds, so a noisy neighbour spoils few.
const plan = args.includes('--quick') ? { rounds: 5, sampleMs: 150 } : { rounds: 11, sampleMs: 400 }
const defaultCacheSize = settings.find((setting) => setting.key === 'tokenCacheSize')?.default as number

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number

/** Runs op repeatedly for about sampleMs; returns operations per second. */
async function sample(op: () => Promise<unknown>, sampleMs: number): Promise<number> {
  let ops = 0
  const started = performance.now()
  let elapsed = 0
  while (elapsed < sampleMs) {
    // Clock read every 16 operations: a read per call would show in the cached verify's cost.
    for (let i = 0; i < 16; i++) await op()
    ops += 16
    elapsed = performance.now() - started
  }
  return (ops / elapsed) * 1000
}

/** Interleaves the variants round by round; returns each variant's median ops/s. */
async function compare(variants: Record<string, () => Promise<unknown>>): Promise<Record<string, number>> {
  const results: Record<string, number[]> = {}
  for (const [name, op] of Object.entries(variants)) {
    await sample(op, plan.sampleMs / 2) // warm-up: JIT, caches, prepared statements
    results[name] = []
  }
  for (let round = 0; round < plan.rounds; round++) {
    const order = Object.entries(variants)
    if (round % 2 === 1) order.reverse()
    for (const [name, op] of order) results[name]?.push(await sample(op, plan.sampleMs))
  }
  return Object.fromEntries(Object.entries(results).map(([name, values]) => [name, median(values)]))
}

async function verifyCost() {
  const dataDir = tempDir('ledgerd-bench-auth-')
  try {
    const keys = await loadSigningKeys({ dataDir, jwtSigningKeyFile: '', jwtPublicKeysFile: '' })
    const issue = createTokenIssuer({ keys, issuer: 'ledgerd', audience: 'ledgerd', ttlMs: 15 * 60_000 })
    const { accessToken } = await issue('01900000-0000-7000-8000-000000000000', ['user'])
    const uncached: TokenVerifier = builtinVerifier({
      keys: keys.keySet,
      issuer: 'ledgerd',
      audience: 'ledgerd',
      clockSkewMs: 30_000,
    })
    const cached = cachedVerifier(uncached, defaultCacheSize)
    const perSecond = await compare({
      uncached: () => uncached(accessToken),
      cached: () => cached(accessToken),
    })
    const micros = (name: string) => 1e6 / (perSecond[name] as number)
    console.log('(a) verify() of one EdDSA token, µs per call (median of rounds)')
    console.log(`    uncached  ${micros('uncached').toFixed(2).padStart(8)} µs`)
    console.log(`    cached    ${micros('cached').toFixed(2).padStart(8)} µs`)
    console.log(`    uncached / cached: ${(micros('uncached') / micros('cached')).toFixed(1)}x`)
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
}

async function signedInLedgerd(cacheSize: string): Promise<{ ledgerd: InProcessLedgerd; token: string }> {
  const ledgerd = await inProcessLedgerd({ 'token-cache-size': cacheSize })
  const credentials = { email: 'bench@example.com', password: 'correct horse battery staple' }
  const created = await ledgerd.request('POST', '/v1/users', { body: { ...credentials, name: 'Bench' } })
  if (created.status !== 201) throw new Error(`sign-up answered ${created.status}`)
  const issued = await ledgerd.request('POST', '/v1/auth/token', { body: credentials })
  const { access_token: token } = (await issued.json()) as { access_token: string }
  return { ledgerd, token }
}

async function requestCost() {
  const off = await signedInLedgerd('0')
  const on = await signedInLedgerd(String(defaultCacheSize))
  try {
    const me =
      ({ ledgerd, token }: typeof off) =>
      async () => {
        const response = await ledgerd.request('GET', '/v1/users/me', { token })
        if (response.status !== 200) throw new Error(`GET /v1/users/me answered ${response.status}`)
        await response.arrayBuffer()
        // The capture logger keeps every line; dropping them keeps memory flat over the run.
        ledgerd.log.lines.length = 0
      }
    const perSecond = await compare({ off: me(off), on: me(on) })
    console.log('(b) GET /v1/users/me in process (app.handle, no socket), requests/s (median of rounds)')
    console.log(
      `    --token-cache-size 0      ${Math.round(perSecond.off as number)
        .toLocaleString('en')
        .padStart(8)}`,
    )
    console.log(
      `    --token-cache-size ${defaultCacheSize}  ${Math.round(perSecond.on as number)
        .toLocaleString('en')
        .padStart(8)}`,
    )
    console.log(
      `    cached / uncached: ${((perSecond.on as number) / (perSecond.off as number)).toFixed(2)}x`,
    )
  } finally {
    off.ledgerd.dispose()
    on.ledgerd.dispose()
  }
}

console.log(
  `bench-auth: ${plan.rounds} interleaved rounds of ~${plan.sampleMs} ms per variant, Bun ${Bun.version}`,
)
await verifyCost()
await requestCost()

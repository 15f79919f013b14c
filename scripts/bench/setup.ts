// Creates the benchmark's users and funded accounts through the public API, and writes one line per
// account, "<account id> <owner's bearer token>", for mixed.lua and check.ts to read.
// Usage: bun scripts/bench/setup.ts <base url> <users> <accounts per user> <initial deposit> <out file>
export {} // a module: top-level await, and names not shared with the other scripts

const [base, usersArg, perUserArg, depositArg, outFile] = Bun.argv.slice(2)
if (!outFile)
  throw new Error('usage: setup.ts <base url> <users> <accounts per user> <initial deposit> <out file>')
const users = Number(usersArg)
const perUser = Number(perUserArg)
const deposit = Number(depositArg)

async function call(method: string, path: string, body: unknown, token?: string, key?: string) {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (token) headers.authorization = `Bearer ${token}`
  if (key) headers['idempotency-key'] = key
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  })
  const text = await res.text()
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text}`)
  return JSON.parse(text)
}

const run = Date.now().toString(36)
async function setUpUser(u: number): Promise<string[]> {
  const email = `bench-${run}-${u}@example.com`
  const password = `bench password ${run} ${u}`
  await call('POST', '/v1/users', { email, name: `Bench ${u}`, password })
  const { access_token: token } = await call('POST', '/v1/auth/token', { email, password })
  const lines: string[] = []
  for (let a = 0; a < perUser; a++) {
    const account = await call('POST', '/v1/accounts', { currency: 'USD' }, token, `setup-open-${u}-${a}`)
    await call(
      'POST',
      `/v1/accounts/${account.id}/deposits`,
      { amount: deposit },
      token,
      `setup-fund-${u}-${a}`,
    )
    lines.push(`${account.id} ${token}`)
  }
  return lines
}

const lines = (await Promise.all(Array.from({ length: users }, (_, u) => setUpUser(u)))).flat()
await Bun.write(outFile, `${lines.join('\n')}\n`)
console.log(`${users} users, ${lines.length} USD accounts, each funded with ${deposit}`)

// Consistency through the API: for each account written by setup.ts, its balance must equal the sum of
// its postings over the whole transaction list (every page) and the newest transaction's balanceAfter.
// Usage: bun scripts/bench/check.ts <base url> <accounts file> [sample size]; exits 1 on any mismatch.
export {} // a module: top-level await, and names not shared with the other scripts

const [base, accountsFile, sampleArg] = Bun.argv.slice(2)
if (!accountsFile) throw new Error('usage: check.ts <base url> <accounts file> [sample size]')

type Posting = { accountId: string; amount: number }
type Transaction = { id: string; postings: Posting[]; balanceAfter: number }

async function get<T>(path: string, token: string): Promise<T> {
  const res = await fetch(`${base}${path}`, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(10_000),
  })
  if (!res.ok) throw new Error(`GET ${path} answered ${res.status}: ${await res.text()}`)
  return (await res.json()) as T
}

async function check(id: string, token: string): Promise<{ transactions: number; problem?: string }> {
  const { balance } = await get<{ balance: number }>(`/v1/accounts/${id}`, token)
  let sum = 0
  let transactions = 0
  let newestBalanceAfter: number | undefined
  const seen = new Set<string>()
  let cursor: string | null = null
  do {
    const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''
    const page: { items: Transaction[]; nextCursor: string | null } = await get(
      `/v1/accounts/${id}/transactions?limit=200${query}`,
      token,
    )
    for (const tx of page.items) {
      if (seen.has(tx.id)) return { transactions, problem: `transaction ${tx.id} listed twice` }
      seen.add(tx.id)
      newestBalanceAfter ??= tx.balanceAfter
      for (const p of tx.postings) if (p.accountId === id) sum += p.amount
      transactions++
    }
    cursor = page.nextCursor
  } while (cursor)
  if (sum !== balance) return { transactions, problem: `balance ${balance}, postings sum to ${sum}` }
  if (newestBalanceAfter !== balance)
    return { transactions, problem: `balance ${balance}, newest balanceAfter ${newestBalanceAfter}` }
  return { transactions }
}

const all = (await Bun.file(accountsFile).text())
  .trim()
  .split('\n')
  .map((line) => line.split(' '))
const sample = sampleArg ? all.sort(() => Math.random() - 0.5).slice(0, Number(sampleArg)) : all
const started = performance.now()
let transactions = 0
let failures = 0
const queue = [...sample]
await Promise.all(
  Array.from({ length: 8 }, async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const [id, token] = next as [string, string]
      const result = await check(id, token)
      transactions += result.transactions
      if (result.problem) {
        failures++
        console.log(`INCONSISTENT account ${id}: ${result.problem}`)
      }
    }
  }),
)
const seconds = ((performance.now() - started) / 1000).toFixed(1)
console.log(
  `${failures === 0 ? 'consistent' : 'INCONSISTENT'}: ${sample.length} of ${all.length} accounts, ` +
    `${transactions} transactions walked in ${seconds} s, ${failures} mismatches`,
)
process.exit(failures === 0 ? 0 : 1)

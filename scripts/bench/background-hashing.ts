// What nice 19 buys (NOTES.md, "Password hashing bounded, and in the background"): a busy API thread
// (slices of arithmetic, yielding between them) for `seconds`, while two hashes at a time run flat out,
// alternately on Bun's pool at the process's priority (before) and on ledgerd's background threads at
// nice 19 (src/auth/background-hasher.ts). Prints the API thread's slices and the hashes done, per run.
// Usage: bun scripts/bench/background-hashing.ts [seconds=3] [rounds=2]
import { argon2Options } from '../../src/auth/argon2'
import { BackgroundHasher } from '../../src/auth/background-hasher'

const seconds = Number(Bun.argv[2] ?? 3)
const rounds = Number(Bun.argv[3] ?? 2)

async function run(label: string, hash: () => Promise<unknown>) {
  const until = performance.now() + seconds * 1000
  let hashes = 0
  const hashing = async () => {
    while (performance.now() < until) {
      await hash()
      hashes++
    }
  }
  const hashers = [hashing(), hashing()]
  let slices = 0
  while (performance.now() < until) {
    let sink = 0
    for (let i = 0; i < 100_000; i++) sink += Math.sqrt(i)
    if (sink < 0) throw new Error('unreachable')
    slices++
    await new Promise((resolve) => setImmediate(resolve))
  }
  await Promise.all(hashers)
  console.log(`${label}: API thread ${slices} slices, ${hashes} hashes`)
}

const background = new BackgroundHasher(2)
for (let round = 1; round <= rounds; round++) {
  await run('Bun pool, nice 0     ', () => Bun.password.hash('a password', argon2Options))
  await run('background, nice 19  ', () => background.hash('a password'))
}
background.close()

// argon2id at OWASP's recommended minimum (19 MiB, two passes, one lane): about 20 ms here, which keeps
// login cheap for us and guessing expensive for anyone holding a copy of the database.
const options = { algorithm: 'argon2id', memoryCost: 19_456, timeCost: 2 } as const

export const hashPassword = (password: string) => Bun.password.hash(password, options)

let dummyHash: Promise<string> | undefined

/**
 * Checks a password against a hash, or against a throwaway hash when there is none (no such user, or a
 * user from an external identity provider), so both answers take the same time and timing cannot tell
 * which emails have accounts.
 */
export async function verifyPassword(password: string, hash: string | null): Promise<boolean> {
  if (hash) return Bun.password.verify(password, hash)
  dummyHash ??= hashPassword(crypto.randomUUID())
  await Bun.password.verify(password, await dummyHash)
  return false
}

// argon2id at OWASP's recommended minimum (19 MiB, two passes, one lane): about 20 ms here, which keeps
// login cheap for us and guessing expensive for anyone holding a copy of the database.
export const argon2Options = { algorithm: 'argon2id', memoryCost: 19_456, timeCost: 2 } as const

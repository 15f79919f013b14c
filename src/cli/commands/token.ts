import { createTokenIssuer } from '../../auth/issuer'
import { loadSigningKeys } from '../../auth/keys'
import { loadConfig } from '../../config/load'
import { parseDuration, ValueError } from '../../config/values'
import { emailKey, type Role } from '../../users/user'
import { parseArgs, UsageError } from '../args'
import { openMigratedStorage } from '../database'
import { type CommandIO, exitCodes } from '../io'

/**
 * Prints an access token signed with the local key, for bootstrap and operations (the first admin call,
 * a smoke test after a deploy). Whoever can read the signing key can do this anyway; the command only
 * saves them writing the JWT by hand.
 */
export async function tokenCommand(argv: readonly string[], io: CommandIO): Promise<number> {
  const args = parseArgs(argv, { settings: true, options: ['sub', 'role', 'ttl'] })
  const { config } = loadConfig(args.settings, io.env)
  const sub = args.options.get('sub')
  if (!sub) throw new UsageError('--sub <user id or email> is required')
  const role = args.options.get('role') ?? 'user'
  if (role !== 'user' && role !== 'admin') throw new UsageError('--role must be user or admin')
  let ttlMs = config.tokenTtlMs
  const rawTtl = args.options.get('ttl')
  if (rawTtl !== undefined) {
    try {
      ttlMs = parseDuration(rawTtl, 60_000, 30 * 24 * 3_600_000)
    } catch (error) {
      if (error instanceof ValueError) throw new UsageError(`invalid value for --ttl: ${error.message}`)
      throw error
    }
  }
  if (config.oidcIssuer) {
    io.err(`ledgerd token: tokens are issued by the identity provider ${config.oidcIssuer}\n`)
    return exitCodes.failure
  }

  const storage = await openMigratedStorage(config)
  try {
    const { users } = storage
    const user = (await users.findById(sub)) ?? (await users.findCredentials(emailKey(sub)))?.user
    if (!user) {
      io.err(`ledgerd token: no user with id or email "${sub}"\n`)
      return exitCodes.failure
    }
    const roles: Role[] = role === 'admin' || user.role === 'admin' ? ['user', 'admin'] : ['user']
    const keys = await loadSigningKeys(config, storage.secrets)
    const issue = createTokenIssuer({
      keys,
      issuer: config.tokenIssuer,
      audience: config.tokenAudience,
      ttlMs,
    })
    io.out(`${(await issue(user.id, roles)).accessToken}\n`)
    return exitCodes.ok
  } finally {
    await storage.close()
  }
}

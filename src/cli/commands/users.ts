import { loadConfig } from '../../config/load'
import { HttpProblem } from '../../http/problem'
import { nameBounds, passwordViolation, textViolation } from '../../http/text'
import { createUser } from '../../users/service'
import { parseArgs, UsageError } from '../args'
import { openMigratedStorage } from '../database'
import { type CommandIO, exitCodes } from '../io'

/** 24 random bytes, base64url: 32 characters, far beyond any guessing. */
const generatePassword = () => Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString('base64url')

/** `ledgerd users create --email E --name N [--admin]`: the password comes from stdin, or is generated. */
export async function usersCommand(argv: readonly string[], io: CommandIO): Promise<number> {
  const [action, ...rest] = argv
  if (action !== 'create') throw new UsageError('usage: ledgerd users create --email E --name N [--admin]')
  const args = parseArgs(rest, { settings: true, options: ['email', 'name'], switches: ['admin'] })
  const { config } = loadConfig(args.settings, io.env)
  const email = args.options.get('email')?.trim()
  const name = args.options.get('name')?.trim()
  if (!email || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email))
    throw new UsageError('--email must be an email address')
  if (!name) throw new UsageError('--name is required')
  const badName = textViolation(name, nameBounds)
  if (badName) throw new UsageError(`--name ${badName}`)

  const piped = (await io.readStdin())?.replace(/\r?\n$/, '')
  const password = piped || generatePassword()
  const badPassword = passwordViolation(password)
  if (badPassword) throw new UsageError(`the password on stdin ${badPassword}`)

  const storage = await openMigratedStorage(config)
  try {
    const user = await createUser(
      storage.users,
      { email, name, password },
      args.switches.has('admin') ? 'admin' : 'user',
    )
    io.out(`created ${user.role} ${user.id} <${user.email}>\n`)
    if (!piped) io.out(`password: ${password}\n`)
    return exitCodes.ok
  } catch (error) {
    if (error instanceof HttpProblem && error.type === 'email-taken') {
      io.err(`ledgerd users create: a user with email ${email} exists\n`)
      return exitCodes.failure
    }
    throw error
  } finally {
    await storage.close()
  }
}

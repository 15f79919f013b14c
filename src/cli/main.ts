import { ConfigError } from '../config/load'
import { UsageError } from './args'
import { copyCommand } from './commands/copy'
import { healthcheckCommand } from './commands/healthcheck'
import { helpCommand, helpText } from './commands/help'
import { migrateCommand } from './commands/migrate'
import { serveCommand } from './commands/serve'
import { tokenCommand } from './commands/token'
import { usersCommand } from './commands/users'
import { verifyCommand } from './commands/verify'
import { versionCommand } from './commands/version'
import { NoDatabaseError } from './database'
import { type CommandIO, exitCodes } from './io'

type Command = (argv: readonly string[], io: CommandIO) => number | Promise<number>

const commands: Record<string, Command> = {
  serve: serveCommand,
  migrate: migrateCommand,
  copy: copyCommand,
  healthcheck: healthcheckCommand,
  token: tokenCommand,
  users: usersCommand,
  verify: verifyCommand,
  version: versionCommand,
  help: helpCommand,
}

/** Runs one command line and returns the process exit code. */
export async function run(argv: readonly string[], io: CommandIO): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined) {
    io.err(helpText())
    return exitCodes.usage
  }
  if (name === '--help' || name === '-h' || rest.includes('--help') || rest.includes('-h'))
    return helpCommand([], io)
  if (name === '--version') return versionCommand([], io)
  const command = commands[name]
  if (!command) {
    io.err(`ledgerd: unknown command "${name}"; run "ledgerd help" for the list\n`)
    return exitCodes.usage
  }
  try {
    return await command(rest, io)
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError) {
      io.err(`ledgerd ${name}: ${error.message}\n`)
      return exitCodes.usage
    }
    if (error instanceof NoDatabaseError) {
      io.err(`ledgerd ${name}: ${error.message}\n`)
      return exitCodes.failure
    }
    throw error
  }
}

import { describeDefault, envName, type Setting, settings } from '../../config/settings'
import { type CommandIO, exitCodes } from '../io'

const commands = [
  ['serve', 'Run the API and admin listeners (migrates the database first).'],
  [
    'migrate',
    'Apply pending database migrations (refused while a server runs); --status lists applied and pending ones.',
  ],
  [
    'copy',
    'copy --to <postgres-url>: move the SQLite ledger in the data dir into an empty PostgreSQL, then verify both.',
  ],
  ['healthcheck', 'Exit 0 if the local server answers ready on its admin port (for images without curl).'],
  [
    'token',
    'Print an access token signed with the local key: --sub <id or email> [--role admin] [--ttl 1h].',
  ],
  ['users', 'users create --email E --name N [--admin]: password from stdin, or generated and printed.'],
  ['verify', 'Check every ledger invariant (balanced postings, balances, no overdraft); exit 1 naming each.'],
  ['version', 'Print version, git commit and platform; --json for machines.'],
  ['help', 'Print this help.'],
] as const

export function helpText(): string {
  const rows = (settings as readonly Setting[]).map((s) => {
    const flag = `--${s.name} <value>`
    return `  ${flag.padEnd(30)} ${envName(s).padEnd(28)} ${s.description} (default: ${describeDefault(s)})`
  })
  return [
    'ledgerd: a money ledger and user API.',
    '',
    'Usage: ledgerd <command> [flags]',
    '',
    'Commands:',
    ...commands.map(([name, text]) => `  ${name.padEnd(12)} ${text}`),
    '',
    'Settings (for every command but version and help; a flag wins over its environment variable):',
    ...rows,
    '',
    'Other flags:',
    '  serve --print-config            Print the effective configuration (secrets redacted) and exit.',
    '  migrate --status                List migrations without applying any.',
    '  healthcheck --timeout <dur>     How long to wait for /readyz (default 2s).',
    '',
    'Exit codes: 0 success, 1 failure, 2 bad command line or configuration.',
    '',
  ].join('\n')
}

export function helpCommand(_argv: readonly string[], io: CommandIO): number {
  io.out(helpText())
  return exitCodes.ok
}

import { settings } from '../config/settings'

/** The command line is malformed: message for the user, exit code 2. */
export class UsageError extends Error {}

export interface ArgsSpec {
  /** Whether the command reads configuration (every setting flag is then accepted). */
  settings: boolean
  /** The command's own flags without a value, e.g. "print-config". */
  switches?: readonly string[]
  /** The command's own flags with a value, e.g. "timeout". */
  options?: readonly string[]
}

export interface ParsedArgs {
  /** Setting flags with their raw values, for loadConfig. */
  settings: Map<string, string>
  switches: Set<string>
  options: Map<string, string>
}

const settingNames = new Set<string>(settings.map((s) => s.name))

/**
 * Accepts `--name value` and `--name=value`, and bare `--switch`. Anything else is an error rather than
 * ignored: a mistyped flag silently falling back to a default is how a service ends up on the wrong port
 * or data dir.
 */
export function parseArgs(argv: readonly string[], spec: ArgsSpec): ParsedArgs {
  const parsed: ParsedArgs = { settings: new Map(), switches: new Set(), options: new Map() }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (!arg.startsWith('--') || arg === '--') throw new UsageError(`unexpected argument "${arg}"`)
    const eq = arg.indexOf('=')
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq)
    if (spec.switches?.includes(name)) {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`)
      parsed.switches.add(name)
      continue
    }
    const target = spec.options?.includes(name)
      ? parsed.options
      : spec.settings && settingNames.has(name)
        ? parsed.settings
        : undefined
    if (!target) throw new UsageError(`unknown flag --${name}`)
    if (target.has(name)) throw new UsageError(`--${name} given more than once`)
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1)
    if (value === undefined || (eq === -1 && value.startsWith('--')))
      throw new UsageError(`--${name} needs a value`)
    target.set(name, value)
  }
  return parsed
}

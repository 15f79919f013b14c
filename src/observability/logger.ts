import type { LogLevel } from '../config/settings'

export type LogFields = Record<string, unknown>

export interface Logger {
  debug(msg: string, fields?: LogFields): void
  info(msg: string, fields?: LogFields): void
  warn(msg: string, fields?: LogFields): void
  error(msg: string, fields?: LogFields): void
  /** Logged at info level whatever the configured level: start-up facts an operator always needs. */
  announce(msg: string, fields?: LogFields): void
  child(fields: LogFields): Logger
}

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }

export type LineWriter = (line: string) => void

// Lines are written once per turn of the event loop, not one write per line: under load the access log
// alone was about 8 % of the CPU. What is pending is written before the process exits.
let pending: string[] = []
const flush = () => {
  if (pending.length === 0) return
  const text = pending.join('')
  pending = []
  process.stdout.write(text)
}
process.on('exit', flush)

const stdoutWriter: LineWriter = (line) => {
  if (pending.length === 0) setImmediate(flush)
  pending.push(line)
}

/** Errors become plain objects: JSON.stringify drops an Error's message and stack. */
function serialize(value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack }
  return value
}

/** One JSON object per line on stdout, for whatever collects container logs. */
export function createLogger(
  level: LogLevel,
  write: LineWriter = stdoutWriter,
  bound: LogFields = {},
): Logger {
  const min = rank[level]
  const log =
    (lvl: LogLevel, always = false) =>
    (msg: string, fields?: LogFields) => {
      if (rank[lvl] < min && !always) return
      const entry: LogFields = { time: new Date().toISOString(), level: lvl, msg, ...bound }
      if (fields) for (const key in fields) entry[key] = serialize(fields[key])
      write(`${JSON.stringify(entry)}\n`)
    }
  return {
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    announce: log('info', true),
    child: (fields) => createLogger(level, write, { ...bound, ...fields }),
  }
}

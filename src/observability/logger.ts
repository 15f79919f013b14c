import type { LogLevel } from '../config/settings'
import { requestLogContext } from './log-context'

export type LogFields = Record<string, unknown>

export interface Logger {
  debug(msg: string, fields?: LogFields): void
  info(msg: string, fields?: LogFields): void
  warn(msg: string, fields?: LogFields): void
  error(msg: string, fields?: LogFields): void
  /** Logged at info level whatever the configured level: start-up facts an operator always needs. */
  announce(msg: string, fields?: LogFields): void
  child(fields: LogFields): Logger
  /** Whether lines at this level are written: a hot path asks before building one. */
  enabled(level: LogLevel): boolean
  /**
   * Writes a line whose fields are already JSON object members (`"status":200,"route":"/x"`), after
   * time, level, msg and the bound fields; the same line `info(msg, fields)` would write, for a hot path
   * that builds it as one string. The fields must not repeat a bound field's name.
   */
  json(level: LogLevel, msg: string, fieldsJson: string): void
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

// Formatting an ISO timestamp costs about as much as the rest of an access-log line; lines written in
// the same millisecond share one.
let stampedAt = Number.NaN
let stamp = ''
function timestamp(): string {
  const now = Date.now()
  if (now !== stampedAt) {
    stampedAt = now
    stamp = new Date(now).toISOString()
  }
  return stamp
}

/** Errors become plain objects: JSON.stringify drops an Error's message and stack. */
function serialize(value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack }
  return value
}

/**
 * One JSON object per line on stdout, for whatever collects container logs. A line written while a
 * request is handled carries its `trace_id`.
 */
export function createLogger(
  level: LogLevel,
  write: LineWriter = stdoutWriter,
  bound: LogFields = {},
): Logger {
  const min = rank[level]
  const boundJson = JSON.stringify(bound).slice(1, -1)
  const log =
    (lvl: LogLevel, always = false) =>
    (msg: string, fields?: LogFields) => {
      if (rank[lvl] < min && !always) return
      const entry: LogFields = { time: timestamp(), level: lvl, msg, ...bound }
      const request = requestLogContext.getStore()
      if (request !== undefined) entry.trace_id = request.traceId
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
    enabled: (lvl) => rank[lvl] >= min,
    json(lvl, msg, fieldsJson) {
      if (rank[lvl] < min) return
      const boundPart = boundJson && `,${boundJson}`
      const fieldsPart = fieldsJson && `,${fieldsJson}`
      // Trace ids are hex (src/observability/trace.ts): nothing to escape.
      const traceId = requestLogContext.getStore()?.traceId
      const tracePart = traceId === undefined ? '' : `,"trace_id":"${traceId}"`
      write(
        `{"time":"${timestamp()}","level":"${lvl}","msg":${JSON.stringify(msg)}${tracePart}${boundPart}${fieldsPart}}\n`,
      )
    },
  }
}

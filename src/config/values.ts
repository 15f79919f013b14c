// Parsers for the value types settings use. Each returns the value or throws a ValueError whose message
// says what was expected; the caller adds which setting it was.

export class ValueError extends Error {}

export function parseInteger(raw: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(raw.trim())) throw new ValueError(`expected an integer from ${min} to ${max}`)
  const value = Number(raw.trim())
  if (value < min || value > max) throw new ValueError(`expected an integer from ${min} to ${max}`)
  return value
}

const durationUnits: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** Go-style durations ("250ms", "10s", "1m30s"); a bare number is refused because its unit would be a guess. */
export function parseDuration(raw: string, minMs: number, maxMs: number): number {
  const text = raw.trim()
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)]
  if (text === '' || parts.map((p) => p[0]).join('') !== text) {
    throw new ValueError('expected a duration such as 500ms, 10s or 1m')
  }
  const ms = parts.reduce((sum, [, n, unit]) => sum + Number(n) * (durationUnits[unit as string] ?? 0), 0)
  if (ms < minMs || ms > maxMs) {
    throw new ValueError(`expected a duration from ${formatDuration(minMs)} to ${formatDuration(maxMs)}`)
  }
  return Math.round(ms)
}

export function formatDuration(ms: number): string {
  if (ms === 0) return '0s'
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`
  if (ms % 60_000 === 0) return `${ms / 60_000}m`
  if (ms % 1000 === 0) return `${ms / 1000}s`
  return `${ms}ms`
}

const sizeUnits: Record<string, number> = {
  '': 1,
  b: 1,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
}

/** Byte sizes: "1048576", "512KiB", "1MiB", "2MB". */
export function parseSize(raw: string, min: number, max: number): number {
  const match = /^(\d+)\s*([a-z]*)$/i.exec(raw.trim())
  const unit = sizeUnits[(match?.[2] ?? '').toLowerCase()]
  if (!match || unit === undefined) throw new ValueError('expected a size such as 65536, 512KiB or 1MiB')
  const bytes = Number(match[1]) * unit
  if (bytes < min || bytes > max)
    throw new ValueError(`expected a size from ${formatSize(min)} to ${formatSize(max)}`)
  return bytes
}

export function formatSize(bytes: number): string {
  for (const [unit, factor] of [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const) {
    if (bytes >= factor && bytes % factor === 0) return `${bytes / factor}${unit}`
  }
  return String(bytes)
}

export function parseChoice<T extends string>(raw: string, choices: readonly T[]): T {
  const value = raw.trim() as T
  if (!choices.includes(value)) throw new ValueError(`expected one of: ${choices.join(', ')}`)
  return value
}

export function parseNonEmpty(raw: string): string {
  if (raw.trim() === '') throw new ValueError('expected a non-empty value')
  return raw
}

export function parseBoolean(raw: string): boolean {
  const value = raw.trim().toLowerCase()
  if (['true', '1', 'yes', 'on'].includes(value)) return true
  if (['false', '0', 'no', 'off'].includes(value)) return false
  throw new ValueError('expected true or false')
}

/** An optional setting: the empty string means "not set"; anything else must pass `parse`. */
export function parseOptional(raw: string, parse: (raw: string) => string): string {
  return raw.trim() === '' ? '' : parse(raw)
}

export function parseHttpUrl(raw: string): string {
  let url: URL
  try {
    url = new URL(raw.trim())
  } catch {
    throw new ValueError('expected an http:// or https:// URL')
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ValueError('expected an http:// or https:// URL')
  return url.toString().replace(/\/$/, '')
}

/**
 * A postgres:// or postgresql:// URL. TLS is set by --db-ssl-mode alone, so an `sslmode` in the URL is
 * refused rather than silently overridden (or silently winning).
 */
export function parsePostgresUrl(raw: string): string {
  let url: URL
  try {
    url = new URL(raw.trim())
  } catch {
    throw new ValueError('expected a postgres:// URL')
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')
    throw new ValueError('expected a postgres:// URL')
  if (!url.hostname) throw new ValueError('expected a postgres:// URL with a host')
  if (url.pathname.length <= 1) throw new ValueError('expected a postgres:// URL naming a database')
  if (url.searchParams.has('sslmode') || url.searchParams.has('ssl'))
    throw new ValueError('set TLS with --db-ssl-mode (LEDGERD_DB_SSL_MODE), not in the URL')
  return raw.trim()
}

/** A comma-separated list whose every item is one of `choices`. */
export function parseList(raw: string, choices: readonly string[]): string[] {
  const items = raw
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
  if (items.length === 0) throw new ValueError(`expected a comma-separated list of: ${choices.join(', ')}`)
  for (const item of items) {
    if (!choices.includes(item)) throw new ValueError(`"${item}" is not one of: ${choices.join(', ')}`)
  }
  return items
}

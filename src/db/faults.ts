import type { DatabaseUnavailableError } from './unavailable'

/**
 * What kind of fault made the database unavailable to a request: a fixed set, so that it can label a
 * metric. Read from the SQLite or PostgreSQL error code in the reason (or the cause's code); a reason
 * that names none is `other`.
 */
export const databaseFaultKinds = [
  'unavailable',
  'timeout',
  'disk_full',
  'io',
  'busy',
  'read_only',
  'other',
] as const
export type DatabaseFaultKind = (typeof databaseFaultKinds)[number]

// First match wins: a commit whose outcome is unknown because the disk filled up is `disk_full`.
const patterns: [DatabaseFaultKind, RegExp][] = [
  ['disk_full', /SQLITE_FULL|disk is full|ENOSPC|\b53100\b|no space left/i],
  ['read_only', /SQLITE_READONLY|EROFS|\b25006\b|read-only/i],
  ['io', /SQLITE_IOERR|disk I\/O error|\bEIO\b|\b58\d{3}\b/i],
  ['busy', /SQLITE_BUSY|database is locked|\b55P03\b|\b40001\b|\b40P01\b|too many conflicts|\b53300\b/i],
  ['timeout', /\b57014\b|ETIMEDOUT|CONNECT_TIMEOUT|did not answer|statement timeout|canceling statement/i],
  [
    'unavailable',
    /ECONNREFUSED|ECONNRESET|EPIPE|EHOSTUNREACH|ENOTFOUND|CONNECTION_|\b57P0\d\b|\b08\d{3}\b|closed|stopped/i,
  ],
]

export function databaseFaultKind(error: DatabaseUnavailableError): DatabaseFaultKind {
  const code = (error.cause as { code?: unknown } | undefined)?.code
  const text = `${typeof code === 'string' ? code : ''} ${error.reason}`
  for (const [kind, pattern] of patterns) if (pattern.test(text)) return kind
  return 'other'
}

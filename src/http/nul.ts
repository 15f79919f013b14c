// U+0000 (NUL): SQLite stores it in text, PostgreSQL refuses it (SQLSTATE 22021, a 500 if it got that
// far). So that a request gets the same answer on both engines, no text a client sends may hold one; it
// is refused at the edge, naming the field, before any engine sees it.

export const nulMessage = 'must not contain the character U+0000 (NUL)'

/** For TypeBox string schemas (path parameters): a string without U+0000. */
export const withoutNul = '^[^\\u0000]*$'

/**
 * Body fields allowed to hold U+0000 anyway: a password is only hashed and compared, never stored as
 * text, and refusing it now could lock out a user who chose one before this rule.
 */
const exempt = new Set(['/password'])

/** The JSON pointer ("/owner/email") of the first string in a parsed body that holds U+0000, if any. */
export function pointerToNul(value: unknown, pointer = ''): string | undefined {
  if (typeof value === 'string') return value.includes('\0') && !exempt.has(pointer) ? pointer : undefined
  if (value === null || typeof value !== 'object') return undefined
  for (const [key, item] of Object.entries(value)) {
    const found = pointerToNul(item, `${pointer}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`)
    if (found !== undefined) return found
  }
  return undefined
}

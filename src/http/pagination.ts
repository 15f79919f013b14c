import { t } from 'elysia'
import { HttpProblem } from './problem'

export const defaultPageSize = 50
export const maxPageSize = 200

/**
 * The range is checked here rather than in the schema: Elysia reports a coerced query integer that is out
 * of range without its name, and a problem must name the field.
 */
export const pageQuery = t.Object({
  limit: t.Optional(
    t.Integer({ description: `Items per page, 1 to ${maxPageSize} (default ${defaultPageSize}).` }),
  ),
  cursor: t.Optional(t.String({ maxLength: 200, description: 'nextCursor from the previous page.' })),
})

const invalid = (field: string, message: string) =>
  new HttpProblem('invalid-parameter', `${field}: ${message}`, { errors: [{ field, in: 'query', message }] })

export function pageLimit(limit: number | undefined): number {
  if (limit === undefined) return defaultPageSize
  if (limit < 1 || limit > maxPageSize) throw invalid('limit', `must be from 1 to ${maxPageSize}`)
  return limit
}

// Cursors are opaque to clients (base64url of a position) so their encoding can change later.
export const encodeCursor = (position: string) => Buffer.from(position).toString('base64url')

export const invalidCursor = () => invalid('cursor', 'not a cursor this API returned')

export function decodeCursor(cursor: string | undefined, valid: RegExp): string | undefined {
  if (cursor === undefined) return undefined
  const position = Buffer.from(cursor, 'base64url').toString()
  if (!valid.test(position)) throw invalidCursor()
  return position
}

/**
 * A keyset page from the rows fetched for `limit + 1`: the extra row only says that there is a next
 * page, whose cursor is the position of the last row shown. Built in the route, for every feature:
 * cursors are part of the HTTP contract, not of a service.
 */
export function page<Row>(
  rows: readonly Row[],
  limit: number,
  cursorOf: (row: Row) => string,
): { items: Row[]; nextCursor: string | null } {
  const items = rows.slice(0, limit)
  const last = items.at(-1)
  return {
    items,
    nextCursor: rows.length > limit && last !== undefined ? encodeCursor(cursorOf(last)) : null,
  }
}

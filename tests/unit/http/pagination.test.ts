import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { decodeCursor, page } from '../../../src/http/pagination'

describe('page', () => {
  test('shows at most limit rows; a next cursor only when limit + 1 came back, at the last row shown', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.nat(6), (limit, extra) => {
        const rows = Array.from({ length: Math.min(extra, limit + 1) }, (_, i) => ({ id: `row-${i}` }))
        const { items, nextCursor } = page(rows, limit, (row) => row.id)
        expect(items).toEqual(rows.slice(0, limit))
        if (rows.length <= limit) expect(nextCursor).toBeNull()
        else expect(decodeCursor(nextCursor as string, /^row-\d+$/)).toBe(`row-${limit - 1}`)
      }),
    )
  })
})

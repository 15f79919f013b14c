import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { BoundedMap, type EvictionOrder } from '../../../src/lib/bounded-map'

type Operation =
  | { op: 'set'; key: number; value: number }
  | { op: 'get'; key: number }
  | { op: 'has'; key: number }
  | { op: 'delete'; key: number }

const key = fc.integer({ min: 0, max: 7 })
const operation: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), key, value: fc.integer() }),
  fc.record({ op: fc.constant('get' as const), key }),
  fc.record({ op: fc.constant('has' as const), key }),
  fc.record({ op: fc.constant('delete' as const), key }),
)

/** The specification, as plainly as it can be written: entries from oldest to newest. */
function model(maxSize: number, order: EvictionOrder) {
  let entries: [number, number][] = []
  const find = (k: number) => entries.findIndex(([candidate]) => candidate === k)
  const toNewest = (k: number) => {
    const at = find(k)
    entries = [...entries.slice(0, at), ...entries.slice(at + 1), entries[at] as [number, number]]
  }
  return {
    keys: () => entries.map(([k]) => k),
    apply(operation: Operation): unknown {
      const at = find(operation.key)
      switch (operation.op) {
        case 'get': {
          if (at === -1) return undefined
          const value = entries[at]?.[1]
          if (order === 'use') toNewest(operation.key)
          return value
        }
        case 'has':
          return at !== -1
        case 'delete':
          if (at === -1) return false
          entries.splice(at, 1)
          return true
        case 'set':
          if (at !== -1) {
            ;(entries[at] as [number, number])[1] = operation.value
            if (order === 'use') toNewest(operation.key)
          } else {
            if (entries.length === maxSize) entries.shift()
            entries.push([operation.key, operation.value])
          }
          return undefined
      }
    },
  }
}

function apply(map: BoundedMap<number, number>, operation: Operation): unknown {
  if (operation.op !== 'set') return map[operation.op](operation.key)
  map.set(operation.key, operation.value)
  return undefined
}

describe('BoundedMap', () => {
  for (const order of ['insertion', 'use'] as const) {
    test(`behaves as its specification, evicting by ${order}, and never holds more than maxSize`, () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 5 }), fc.array(operation, { maxLength: 60 }), (max, ops) => {
          const map = new BoundedMap<number, number>(max, order)
          const spec = model(max, order)
          for (const operation of ops) {
            const expected = spec.apply(operation)
            expect(apply(map, operation)).toEqual(expected)
            expect([...map.keys()]).toEqual(spec.keys())
            expect(map.size).toBeLessThanOrEqual(max)
          }
        }),
        { numRuns: 500 },
      )
    })
  }

  test('by use, a key read recently outlives one added later but not read since', () => {
    const map = new BoundedMap<string, number>(2, 'use')
    map.set('a', 1).set('b', 2)
    map.get('a')
    map.set('c', 3)
    expect([...map.keys()]).toEqual(['a', 'c'])
  })

  test('by insertion, reading or setting a key again does not save it', () => {
    const map = new BoundedMap<string, number>(2)
    map.set('a', 1).set('b', 2)
    map.get('a')
    map.set('a', 10)
    map.set('c', 3)
    expect([...map.keys()]).toEqual(['b', 'c'])
  })

  test('a size below one is refused', () => {
    expect(() => new BoundedMap(0)).toThrow(RangeError)
  })
})

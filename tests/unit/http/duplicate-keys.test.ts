import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { pointerToDuplicateKey } from '../../../src/http/duplicate-keys'

describe('pointerToDuplicateKey', () => {
  test.each([
    ['{"amount":1,"amount":2}', '/amount'],
    ['{"a\\u0062":1,"ab":2}', '/ab'],
    ['{"ab":1,"\\u0061b":2}', '/ab'],
    ['{"owner":{"email":"a","email":"b"}}', '/owner/email'],
    ['[{"x":1},{"y":[{"z":1,"z":2}]}]', '/1/y/0/z'],
    ['{"a/b~":1, "a/b~" :2}', '/a~1b~0'],
    ['{"q\\"":1,"q\\"":2}', '/q"'],
  ])('%s has a duplicate at %s', (text, pointer) => {
    expect(pointerToDuplicateKey(text)).toBe(pointer)
  })

  test.each([
    '{"amount":1}',
    '{"a":{"a":{"a":1}},"b":{"a":2}}',
    '[{"a":1},{"a":2}]',
    '{"a":"b:\\"a\\":1,\\"a\\"","b":["a","a"]}',
    '{"a\\\\":1,"a":2}',
    '{"A":1,"a":2}',
    '"a:b:c"',
    '{"x":{},"a":1,"y":[],"b":2}',
  ])('%s has none', (text) => {
    expect(pointerToDuplicateKey(text)).toBeUndefined()
  })

  test('any JSON text without duplicate names is accepted', () => {
    fc.assert(
      fc.property(fc.json(), (text) => {
        expect(pointerToDuplicateKey(text)).toBeUndefined()
      }),
      { numRuns: 2000 },
    )
  })

  test('a member repeated in any object, however written, is refused and found', () => {
    const names = fc.string({ unit: 'binary', maxLength: 6 })
    fc.assert(
      fc.property(
        fc.dictionary(names, fc.jsonValue(), { minKeys: 1, maxKeys: 6 }),
        fc.nat(),
        fc.boolean(),
        fc.jsonValue(),
        (object, pick, escapeAll, value) => {
          const keys = Object.keys(object)
          const name = keys[pick % keys.length] as string
          // The repeat spelled differently when escapeAll: every UTF-16 unit as \\uXXXX.
          const spelled = escapeAll
            ? `"${[...Array(name.length).keys()].map((i) => `\\u${name.charCodeAt(i).toString(16).padStart(4, '0')}`).join('')}"`
            : JSON.stringify(name)
          const body = JSON.stringify(object)
          const text = `{"outer":[1,${body.slice(0, -1)},${spelled}:${JSON.stringify(value)}}]}`
          JSON.parse(text)
          const escaped = name.replaceAll('~', '~0').replaceAll('/', '~1')
          expect(pointerToDuplicateKey(text)).toBe(`/outer/1/${escaped}`)
        },
      ),
      { numRuns: 2000 },
    )
  })
})

import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import type { Sql } from '../../../src/db/postgres/connection'
import {
  descriptionBounds,
  nameBounds,
  passwordViolation,
  type TextBounds,
  textViolation,
} from '../../../src/http/text'
import { postgresUsersRepository } from '../../../src/users/postgres-repository'
import { sqliteUsersRepository, type UsersRepository } from '../../../src/users/repository'
import { type InProcessLedgerd, inProcessLedgerd } from '../../support/app'
import { migratedDatabase, openTestPool } from '../../support/postgres-pools'

// The free-text rule (src/http/text.ts): what it refuses, and that whatever it accepts both engines store
// and give back unchanged.

const codePoints = (value: string) => [...value].length
const utf8Bytes = (value: string) => Buffer.byteLength(value, 'utf8')
const onlyWhiteSpace = /^[\t-\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$/

/** Any UTF-16 string, lone surrogates and controls included, weighted towards the edges the rule cares about. */
const anyText = (bounds: TextBounds) =>
  fc.oneof(
    fc.string({ unit: 'binary', maxLength: bounds.maxCodePoints + 5 }),
    fc.string({ unit: 'grapheme', maxLength: bounds.maxCodePoints + 5 }),
    fc.string({
      unit: fc.constantFrom(
        'a',
        ' ',
        '\u00A0',
        '\u3000',
        '\u0000',
        '\n',
        '\u007F',
        '\u0085',
        '\uD800',
        '\uDC00',
        '😀',
        '€',
      ),
      maxLength: bounds.maxCodePoints + 5,
    }),
  )

describe('textViolation', () => {
  const refused: [string, string, string][] = [
    ['empty', '', 'must not be empty'],
    ['NUL', 'a\u0000', 'control characters (found U+0000)'],
    ['line feed', 'a\nb', 'control characters (found U+000A)'],
    ['DEL', '\u007F', 'control characters (found U+007F)'],
    ['C1', 'x\u009F', 'control characters (found U+009F)'],
    ['lone high surrogate', 'a\uD83D', 'lone surrogate'],
    ['lone low surrogate', '\uDE00a', 'lone surrogate'],
    ['whitespace only', '\u2003 \u3000', 'only whitespace'],
    ['one code point too many', 'é'.repeat(201), 'at most 200 characters'],
    ['one byte too many', `${'😀'.repeat(150)}a`, 'at most 600 bytes'],
  ]
  for (const [kind, value, message] of refused) {
    test(`refuses ${kind}`, () => expect(textViolation(value, nameBounds)).toContain(message))
  }

  test('accepts text with inner and outer spaces, accents, CJK, emoji and a BOM', () => {
    for (const value of [' a ', 'Zoë', '山田', '👩‍💻', '\uFEFFx', 'é'.repeat(200), '😀'.repeat(150)]) {
      expect(textViolation(value, nameBounds)).toBeUndefined()
    }
  })

  test('whatever it accepts has no control character or lone surrogate, is not blank, and is within bounds', () => {
    for (const bounds of [nameBounds, descriptionBounds]) {
      fc.assert(
        fc.property(anyText(bounds), (value) => {
          if (textViolation(value, bounds) !== undefined) return
          expect(value.isWellFormed()).toBe(true)
          // biome-ignore lint/suspicious/noControlCharactersInRegex: the property is about them.
          expect(/[\u0000-\u001F\u007F-\u009F]/.test(value)).toBe(false)
          expect(onlyWhiteSpace.test(value)).toBe(false)
          expect(codePoints(value)).toBeLessThanOrEqual(bounds.maxCodePoints)
          expect(utf8Bytes(value)).toBeLessThanOrEqual(bounds.maxBytes)
        }),
        { numRuns: 2000 },
      )
    }
  })
})

describe('passwordViolation', () => {
  test('counts code points, not UTF-16 units', () => {
    expect(passwordViolation('😀'.repeat(11))).toContain('at least 12')
    expect(passwordViolation('😀'.repeat(12))).toBeUndefined()
  })
  test('refuses whitespace only, more than 1024 UTF-8 bytes, and lone surrogates', () => {
    expect(passwordViolation(' '.repeat(20))).toContain('only whitespace')
    expect(passwordViolation('\u3000'.repeat(20))).toContain('only whitespace')
    expect(passwordViolation('€'.repeat(342))).toContain('1024 bytes')
    expect(passwordViolation('€'.repeat(341))).toBeUndefined()
    expect(passwordViolation(`${'a'.repeat(12)}\uDC00`)).toContain('lone surrogate')
  })
  test('allows what is only hashed: NUL, controls, inner spaces', () => {
    expect(passwordViolation('correct\u0000horse\tbattery')).toBeUndefined()
  })
})

describe('accepted text round-trips through both engines', () => {
  let sqlite: InProcessLedgerd
  let sql: Sql
  const engines: [string, () => UsersRepository][] = [
    ['SQLite', () => sqliteUsersRepository(sqlite.db)],
    ['PostgreSQL', () => postgresUsersRepository(sql)],
  ]

  beforeAll(async () => {
    sqlite = await inProcessLedgerd()
    sql = openTestPool(await migratedDatabase('text'))
  }, 60_000)
  afterAll(async () => {
    sqlite?.dispose()
    await sql?.end()
  })

  for (const [engine, repository] of engines) {
    test(`${engine}: any name the rule accepts is stored and read back unchanged`, async () => {
      const users = repository()
      let n = 0
      await fc.assert(
        fc.asyncProperty(
          anyText(nameBounds).filter((value) => textViolation(value, nameBounds) === undefined),
          async (name) => {
            const email = `round-trip-${++n}@example.com`
            const created = await users.create({
              email,
              emailKey: email,
              name,
              passwordHash: null,
              role: 'user',
            })
            if (!created) throw new Error('not created')
            expect((await users.findById(created.id))?.name).toBe(name)
          },
        ),
        { numRuns: 300 },
      )
    }, 60_000)
  }
})

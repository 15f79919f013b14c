import { describe, expect, test } from 'bun:test'
import { emailViolation, nameFromClaims, subjectViolation, unnamed } from '../../../src/auth/claims'
import { fitToBounds, nameBounds, textViolation } from '../../../src/http/text'

describe('the name a user from an identity provider gets', () => {
  test.each([
    ['a name that keeps the rule', ['Ada Lovelace', 'ada'], 'Ada Lovelace'],
    ['no name: preferred_username', [undefined, 'ada'], 'ada'],
    ['a name with NUL: preferred_username', ['Ada\u0000', 'ada'], 'ada'],
    ['a name with a line break: preferred_username', ['Ada\nLovelace', 'ada'], 'ada'],
    ['a name with C1 U+0085: preferred_username', ['Ada\u0085', 'ada'], 'ada'],
    ['a name with a lone surrogate: preferred_username', ['Ada\uD800', 'ada'], 'ada'],
    ['a blank name: preferred_username', [' \u3000 ', 'ada'], 'ada'],
    ['an empty name: preferred_username', ['', 'ada'], 'ada'],
    ['a name that is not a string: preferred_username', [{ first: 'Ada' }, 'ada'], 'ada'],
    ['nothing usable: the subject', ['\u0007', '\uDC00'], 'kc-ada'],
  ])('%s', (_, candidates, name) => {
    expect(nameFromClaims(candidates, 'kc-ada')).toBe(name)
  })

  test('a name past its bounds is cut between graphemes, not dropped', () => {
    expect(nameFromClaims(['a'.repeat(10_000)], 'kc-ada')).toBe('a'.repeat(200))
    // 4 bytes each: the byte bound (600) is reached after 150.
    expect(nameFromClaims(['😀'.repeat(1000)], 'kc-ada')).toBe('😀'.repeat(150))
    // A family emoji is 7 code points and 25 bytes: cutting inside one would leave a lone person.
    const family = '👨‍👩‍👧‍👦'
    const fitted = nameFromClaims([family.repeat(100)], 'kc-ada')
    expect(fitted).toBe(family.repeat(24))
  })

  test('a name that is one enormous grapheme falls back, and a subject cut to blank gives a fixed name', () => {
    expect(nameFromClaims([`a${'\u0301'.repeat(300)}`], 'kc-ada')).toBe('kc-ada')
    expect(nameFromClaims([undefined], `${' '.repeat(200)}x`)).toBe(unnamed)
  })

  test('whatever is chosen keeps the API text rule', () => {
    for (const candidate of ['x'.repeat(201), '中'.repeat(201), '😀'.repeat(151), 'a\u0000', '\uD83D']) {
      expect(textViolation(nameFromClaims([candidate], 's'), nameBounds)).toBeUndefined()
    }
  })
})

describe('fitToBounds', () => {
  test('leaves text within bounds alone and never splits a surrogate pair', () => {
    expect(fitToBounds('Ada', nameBounds)).toBe('Ada')
    expect(fitToBounds(`a${'😀'}`, { maxCodePoints: 10, maxBytes: 4 })).toBe('a')
  })
})

describe('sub and email are refused, not altered', () => {
  test.each([
    ['\u0000', 'must not contain control characters (found U+0000)'],
    ['a\tb', 'must not contain control characters (found U+0009)'],
    ['a\uD800', 'must not contain a lone surrogate (text that is not valid Unicode)'],
    ['   ', 'must not be only whitespace'],
    ['s'.repeat(256), 'must be at most 255 characters (code points)'],
    ['é'.repeat(128), 'must be at most 255 bytes in UTF-8'],
  ])('sub %j', (subject, message) => {
    expect(subjectViolation(subject)).toBe(message)
  })

  test('a sub of 255 ASCII characters (OpenID Connect’s bound) is accepted', () => {
    expect(subjectViolation('s'.repeat(255))).toBeUndefined()
  })

  test('no email is fine; a bad one is refused', () => {
    expect(emailViolation('')).toBeUndefined()
    expect(emailViolation('ada@example.org')).toBeUndefined()
    expect(emailViolation('ada\r\n@example.org')).toBe('must not contain control characters (found U+000D)')
    expect(emailViolation(' ')).toBe('must not be only whitespace')
    expect(emailViolation(`${'a'.repeat(243)}@example.org`)).toBe(
      'must be at most 254 characters (code points)',
    )
  })
})

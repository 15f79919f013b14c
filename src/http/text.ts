import { FormatRegistry } from '@sinclair/typebox'
import { t } from 'elysia'

// One rule for every free-text field a client sends (names, descriptions): text both engines store
// and every screen shows the same way. Refused: C0 controls (NUL and line breaks included: every free-text
// field is a single line), DEL, C1 controls, lone surrogates (not text: PostgreSQL and UTF-8 cannot hold
// them), text that is empty or only White_Space, and text past its bound in code points or UTF-8 bytes.

export interface TextBounds {
  /** At most this many Unicode code points (what a person counts as characters, roughly). */
  maxCodePoints: number
  /** At most this many bytes in UTF-8 (what the database stores and indexes). */
  maxBytes: number
}

/** Unicode's White_Space property (not JavaScript's \s, which adds U+FEFF and is not the standard). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: tab to carriage return are White_Space.
const whiteSpace = /^[\u0009-\u000D\u0020\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$/
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const control = /[\u0000-\u001F\u007F-\u009F]/

const hex = (code: number) => `U+${code.toString(16).toUpperCase().padStart(4, '0')}`

/** Why `value` breaks the text rule, in words for a problem's errors[].message; undefined when it keeps it. */
export function textViolation(value: string, bounds: TextBounds): string | undefined {
  if (value.length === 0) return 'must not be empty'
  const bad = control.exec(value)
  if (bad) return `must not contain control characters (found ${hex(bad[0].charCodeAt(0))})`
  if (!value.isWellFormed()) return 'must not contain a lone surrogate (text that is not valid Unicode)'
  if (whiteSpace.test(value)) return 'must not be only whitespace'
  let codePoints = 0
  for (const _ of value) codePoints++
  if (codePoints > bounds.maxCodePoints)
    return `must be at most ${bounds.maxCodePoints} characters (code points)`
  if (Buffer.byteLength(value, 'utf8') > bounds.maxBytes)
    return `must be at most ${bounds.maxBytes} bytes in UTF-8`
  return undefined
}

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' })

/**
 * The longest start of `value` within `bounds`, cut between graphemes: never inside a surrogate pair, an
 * emoji sequence or a letter and its combining marks. For text we must store but did not write (an
 * identity provider's name); text a client sends is refused instead, so the client knows.
 */
export function fitToBounds(value: string, bounds: TextBounds): string {
  let codePoints = 0
  let bytes = 0
  let end = 0
  for (const { segment, index } of graphemes.segment(value)) {
    for (const _ of segment) codePoints++
    bytes += Buffer.byteLength(segment, 'utf8')
    if (codePoints > bounds.maxCodePoints || bytes > bounds.maxBytes) break
    end = index + segment.length
  }
  return value.slice(0, end)
}

/** String formats with a rule that explains itself: validation.ts asks for the words instead of TypeBox's. */
const rules = new Map<string, (value: string) => string | undefined>()

/** Registers a string format whose check is `violation(value) === undefined`; returns its name. */
export function stringRule(format: string, violation: (value: string) => string | undefined): string {
  if (!rules.has(format)) {
    rules.set(format, violation)
    FormatRegistry.Set(format, (value) => violation(value) === undefined)
  }
  return format
}

/** Why `value` breaks the rule of `format`, if that is one of ours and it does. */
export function ruleViolation(format: unknown, value: unknown): string | undefined {
  const violation = typeof format === 'string' ? rules.get(format) : undefined
  return violation && typeof value === 'string' ? violation(value) : undefined
}

/**
 * A TypeBox string schema holding the text rule. A format, not pattern and maxLength: a pattern cannot
 * count bytes, and maxLength counts UTF-16 units (an emoji is two).
 */
export function freeText(bounds: TextBounds, description?: string) {
  const format = stringRule(`ledgerd-text-${bounds.maxCodePoints}-${bounds.maxBytes}`, (value) =>
    textViolation(value, bounds),
  )
  const rule = `1 to ${bounds.maxCodePoints} characters (code points) and at most ${bounds.maxBytes} bytes in UTF-8; one line, no control characters, not only whitespace.`
  return t.String({ format, description: description ? `${description} ${rule}` : rule })
}

/** Names of users. */
export const nameBounds: TextBounds = { maxCodePoints: 200, maxBytes: 600 }
/** Descriptions of deposits, withdrawals and transfers. */
export const descriptionBounds: TextBounds = { maxCodePoints: 500, maxBytes: 1500 }

export const passwordBounds = { minCodePoints: 12, maxBytes: 1024 }

/**
 * A new password: at least 12 code points (an emoji counts once, as a person would count it), at most
 * 1024 bytes in UTF-8 (what argon2 is fed, so the work per request is bounded), not only whitespace.
 * Anything else is allowed, NUL and controls included: a password is hashed, never stored or shown.
 */
export function passwordViolation(value: string): string | undefined {
  let codePoints = 0
  for (const _ of value) codePoints++
  if (codePoints < passwordBounds.minCodePoints)
    return `must be at least ${passwordBounds.minCodePoints} characters (code points)`
  if (Buffer.byteLength(value, 'utf8') > passwordBounds.maxBytes)
    return `must be at most ${passwordBounds.maxBytes} bytes in UTF-8`
  if (whiteSpace.test(value)) return 'must not be only whitespace'
  // UTF-8 would turn it into U+FFFD, so two different passwords would hash alike.
  if (!value.isWellFormed()) return 'must not contain a lone surrogate (text that is not valid Unicode)'
  return undefined
}

export const newPassword = () =>
  t.String({
    format: stringRule('ledgerd-new-password', passwordViolation),
    description: `At least ${passwordBounds.minCodePoints} characters (code points), at most ${passwordBounds.maxBytes} bytes in UTF-8, not only whitespace.`,
  })

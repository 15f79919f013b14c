// JSON objects with duplicate member names: JSON.parse keeps the last, a proxy, a WAF or a signature
// check in front may read the first (`{"amount":1,"amount":2}` withdrew 2). RFC 8259 leaves the meaning
// open, so ledgerd refuses them outright, for every body.

const quote = 34
const backslash = 92

interface Level {
  object: boolean
  /** Member names seen so far, from the second one on (most objects here have few members). */
  names: Set<string> | undefined
  /** How many names this object has had. */
  count: number
  /** The last member name, in an object. */
  last: string
  /** The index of the current element, in an array. */
  index: number
}

const escapePointer = (name: string) => name.replaceAll('~', '~0').replaceAll('/', '~1')

/** Index of the quote that closes the string whose opening quote is at `open`. */
function closingQuote(text: string, open: number): number {
  let end = text.indexOf('"', open + 1)
  for (;;) {
    let slashes = 0
    while (text.charCodeAt(end - 1 - slashes) === backslash) slashes++
    if (slashes % 2 === 0) return end
    end = text.indexOf('"', end + 1)
  }
}

/** True if `name` was seen before in this object (and notes it). */
function repeats(level: Level, name: string): boolean {
  level.count++
  if (level.count === 2) level.names = new Set([level.last])
  if (level.names?.has(name)) return true
  level.names?.add(name)
  level.last = name
  return false
}

const pointerOf = (levels: Level[], name: string) =>
  levels.map((level) => `/${level.object ? escapePointer(level.last) : level.index}`).join('') +
  `/${escapePointer(name)}`

/**
 * The JSON pointer ("/owner/email") of the first member whose name repeats one before it in the same
 * object, names compared after unescaping ("a\u0062" is "ab"); undefined if there is none. `text` must be
 * valid JSON (JSON.parse accepted it): the scan relies on that and does not validate.
 */
export function pointerToDuplicateKey(text: string): string | undefined {
  // Only an object can hold a duplicate, and one member cannot repeat itself: most bodies stop here.
  if (text.indexOf(':') === text.lastIndexOf(':')) return undefined
  const stack: Level[] = []
  let top: Level | undefined
  let expectName = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === quote) {
      const end = closingQuote(text, i)
      if (expectName && top?.object) {
        const literal = text.slice(i + 1, end)
        const name = literal.includes('\\') ? (JSON.parse(`"${literal}"`) as string) : literal
        if (repeats(top, name)) return pointerOf(stack, name)
        expectName = false
      }
      i = end
    } else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (top) stack.push(top)
      top = { object: c === 123, names: undefined, count: 0, last: '', index: 0 }
      expectName = c === 123
    } else if (c === 125 /* } */ || c === 93 /* ] */) {
      top = stack.pop()
    } else if (c === 44 /* , */ && top) {
      if (top.object) expectName = true
      else top.index++
    }
  }
  return undefined
}

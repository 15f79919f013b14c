// Just enough PromQL reading for the dashboards' policies: the selectors in an expression and the
// range functions' arguments. Not a parser: the real check is Prometheus running every query (end-to-end).

export interface Selector {
  metric: string
  matchers: string[]
}

const stringLiteral = /"(?:[^"\\]|\\.)*"/g
const grouping = /\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g
const keywords = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan'])

/** Every `metric{...}` and every bare metric name in the expression. */
export function selectors(expr: string): Selector[] {
  const found: Selector[] = []
  for (const match of expr.matchAll(/([a-zA-Z_:][\w:]*)\s*\{([^}]*)\}/g)) {
    const matchers = (match[2] ?? '')
      .split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/)
      .map((m) => m.trim())
      .filter(Boolean)
    found.push({ metric: match[1] ?? '', matchers })
  }
  const rest = expr
    .replace(/\{[^}]*\}/g, ' ')
    .replace(stringLiteral, ' ')
    .replace(grouping, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
  for (const match of rest.matchAll(/(?<![\w:.])([a-zA-Z_:][\w:]*)(?![\w:])(\s*\()?/g)) {
    const name = match[1] ?? ''
    if (match[2] || keywords.has(name.toLowerCase())) continue
    // A name followed by `{` was reported above with its matchers; here it is bare, unless it was removed.
    if (!found.some((s) => s.metric === name)) found.push({ metric: name, matchers: [] })
  }
  return found
}

/** The text inside each `fn(...)` call of the given functions, brackets balanced. */
export function callArguments(expr: string, functions: string[]): { fn: string; args: string }[] {
  const calls: { fn: string; args: string }[] = []
  const pattern = new RegExp(`(?<![\\w:])(${functions.join('|')})\\s*\\(`, 'g')
  for (const match of expr.matchAll(pattern)) {
    const start = (match.index ?? 0) + match[0].length
    let depth = 1
    let end = start
    while (end < expr.length && depth > 0) {
      if (expr[end] === '(') depth++
      if (expr[end] === ')') depth--
      end++
    }
    calls.push({ fn: match[1] ?? '', args: expr.slice(start, end - 1) })
  }
  return calls
}

// Which methods each known path answers, for 405 Method Not Allowed and OPTIONS (RFC 9110 §15.5.6,
// §9.3.7): both must send `Allow`. Elysia answers a known path with the wrong method as NOT_FOUND, and
// has no OPTIONS routes; the error handler asks this index before answering 404.

interface Template {
  pattern: RegExp
  methods: Set<string>
}

const escapeRegExp = (text: string) => text.replace(/[.+?^${}()|[\]\\]/g, '\\$&')

/** "/v1/accounts/:id" → a RegExp for the paths it matches (one segment per parameter, "*" the rest). */
function patternOf(template: string): RegExp {
  const source = template
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment === '*' ? '.*' : escapeRegExp(segment)))
    .join('/')
  return new RegExp(`^${source}$`)
}

export class AllowedMethods {
  private readonly templates = new Map<string, Template>()

  /** Learns the app's routes: call once the app has all of them (app.routes). */
  load(routes: readonly { method: string; path: string }[]): void {
    for (const { method, path } of routes) {
      let template = this.templates.get(path)
      if (!template) {
        template = { pattern: patternOf(path), methods: new Set() }
        this.templates.set(path, template)
      }
      template.methods.add(method.toUpperCase())
    }
  }

  /**
   * The `Allow` value for a path, or undefined when no route has it. Bun answers HEAD for every GET, and
   * OPTIONS is answered for every known path.
   */
  allowFor(path: string): { allow: string; route: string } | undefined {
    const methods = new Set<string>()
    let route: string | undefined
    for (const [template, { pattern, methods: answered }] of this.templates) {
      if (!pattern.test(path)) continue
      route ??= template
      for (const method of answered) methods.add(method)
    }
    if (route === undefined) return undefined
    if (methods.has('GET')) methods.add('HEAD')
    methods.add('OPTIONS')
    return { allow: [...methods].sort().join(', '), route }
  }
}

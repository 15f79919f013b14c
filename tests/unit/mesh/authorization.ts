import type { Manifest } from './manifests'

// Istio's AuthorizationPolicy semantics for the fields the components use, so the tests can ask "would
// this request get through?" rather than compare YAML: DENY policies first, then, if any ALLOW policy
// applies, a request must match one of its rules. A field outside this subset throws, so a policy can
// never pass because the evaluator skipped what it did not understand.

export interface MeshRequest {
  port: number
  method: string
  path: string
  /** The caller's namespace and principal from its mTLS certificate. */
  namespace: string
  principal: string
  /** iss/sub of a JWT that RequestAuthentication accepted; absent without a token. */
  requestPrincipal?: string
}

const sourceFields = new Set([
  'namespaces',
  'notNamespaces',
  'principals',
  'notPrincipals',
  'requestPrincipals',
])
const operationFields = new Set(['ports', 'methods', 'paths', 'notPaths'])

/** Istio's string match: exact, "prefix*", "*suffix", or "*". */
export function istioMatch(pattern: string, value: string): boolean {
  if (pattern === '*') return true
  if (pattern.endsWith('*')) return value.startsWith(pattern.slice(0, -1))
  if (pattern.startsWith('*')) return value.endsWith(pattern.slice(1))
  return pattern === value
}

const anyMatch = (patterns: string[], value: string | undefined) =>
  value !== undefined && patterns.some((p) => istioMatch(p, value))

function sourceMatches(source: Record<string, string[]>, request: MeshRequest): boolean {
  for (const [field, values] of Object.entries(source)) {
    if (!sourceFields.has(field)) throw new Error(`evaluator does not know source.${field}`)
    const ok = {
      namespaces: () => anyMatch(values, request.namespace),
      notNamespaces: () => !anyMatch(values, request.namespace),
      principals: () => anyMatch(values, request.principal),
      notPrincipals: () => !anyMatch(values, request.principal),
      requestPrincipals: () => anyMatch(values, request.requestPrincipal),
    }[field as 'namespaces']()
    if (!ok) return false
  }
  return true
}

function operationMatches(operation: Record<string, string[]>, request: MeshRequest): boolean {
  for (const [field, values] of Object.entries(operation)) {
    if (!operationFields.has(field)) throw new Error(`evaluator does not know operation.${field}`)
    const ok = {
      ports: () => values.includes(String(request.port)),
      methods: () => values.includes(request.method),
      paths: () => anyMatch(values, request.path),
      notPaths: () => !anyMatch(values, request.path),
    }[field as 'ports']()
    if (!ok) return false
  }
  return true
}

interface Rule {
  from?: { source: Record<string, string[]> }[]
  to?: { operation: Record<string, string[]> }[]
  when?: unknown
}

function ruleMatches(rule: Rule, request: MeshRequest): boolean {
  for (const key of Object.keys(rule)) if (key !== 'from' && key !== 'to') throw new Error(`rule.${key}`)
  const from = rule.from === undefined || rule.from.some((f) => sourceMatches(f.source, request))
  const to = rule.to === undefined || rule.to.some((t) => operationMatches(t.operation, request))
  return from && to
}

/** The verdict of these policies (all applying to the same proxy) on one request. */
export function allowed(policies: Manifest[], request: MeshRequest): boolean {
  const withAction = (action: string) => policies.filter((p) => (p.spec.action ?? 'ALLOW') === action)
  for (const policy of policies) {
    if (!['ALLOW', 'DENY'].includes(policy.spec.action ?? 'ALLOW')) throw new Error(`${policy.spec.action}`)
  }
  if (withAction('DENY').some((p) => (p.spec.rules as Rule[]).some((r) => ruleMatches(r, request))))
    return false
  const allow = withAction('ALLOW')
  return (
    allow.length === 0 || allow.some((p) => (p.spec.rules as Rule[]).some((r) => ruleMatches(r, request)))
  )
}

/** "METHOD path" for every operation an ALLOW rule opens to any caller (a rule without `from`). */
export function openOperations(policies: Manifest[], port: number): string[] {
  const open: string[] = []
  for (const policy of policies.filter((p) => (p.spec.action ?? 'ALLOW') === 'ALLOW')) {
    for (const rule of policy.spec.rules as Rule[]) {
      if (rule.from !== undefined) continue
      for (const { operation } of rule.to ?? []) {
        if (operation.ports && !operation.ports.includes(String(port))) continue
        for (const method of operation.methods ?? ['*'])
          for (const path of operation.paths ?? ['*']) open.push(`${method} ${path}`)
      }
    }
  }
  return open.sort()
}

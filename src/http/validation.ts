import type { ValidationError } from 'elysia'
import { nulMessage, withoutNul } from './nul'
import { type FieldError, HttpProblem } from './problem'
import { ruleViolation } from './text'

/** "/owner/email" → "owner.email", "/items/2/price" → "items[2].price", "" → "(body)". */
export function fieldName(pointer: string, location: string): string {
  const parts = pointer.split('/').slice(1)
  if (parts.length === 0) return `(${location})`
  return parts
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce((name, part) => (/^\d+$/.test(part) ? `${name}[${part}]` : name ? `${name}.${part}` : part), '')
}

/** One error per field (TypeBox reports a missing field twice: missing, then wrong type), in schema order. */
export function fieldErrors(error: ValidationError): FieldError[] {
  const seen = new Set<string>()
  const errors: FieldError[] = []
  for (const issue of error.all) {
    const path = 'path' in issue && typeof issue.path === 'string' ? issue.path : ''
    const field = fieldName(path, error.type)
    if (seen.has(field)) continue
    seen.add(field)
    // TypeBox would say "Expected string to match '^[^\u0000]*$'"; the rule in words is clearer.
    const schema = 'schema' in issue ? (issue.schema as { pattern?: string; format?: string }) : {}
    const nul = schema.pattern === withoutNul
    const rule = ruleViolation(schema.format, 'value' in issue ? issue.value : undefined)
    errors.push({ field, in: error.type, message: nul ? nulMessage : (rule ?? issue.message) })
  }
  return errors
}

export function validationProblem(error: ValidationError): HttpProblem {
  const errors = fieldErrors(error)
  const detail = errors.map((e) => `${e.field}: ${e.message}`).join('; ')
  const type = error.type === 'body' ? 'validation-failed' : 'invalid-parameter'
  return new HttpProblem(type, detail, { errors })
}

import { Validator } from '@seriousme/openapi-schema-validator'

/** Validates a document against the official OpenAPI 3.1 JSON schema; returns the errors, or []. */
export async function openApiErrors(document: unknown): Promise<unknown[]> {
  const validator = new Validator()
  const result = await validator.validate(document as Parameters<Validator['validate']>[0])
  if (validator.version !== '3.1') return [`expected an OpenAPI 3.1 document, got ${validator.version}`]
  return result.valid ? [] : ((result.errors as unknown[]) ?? ['invalid'])
}

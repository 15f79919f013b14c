import { nulMessage, pointerToNul } from './nul'
import { HttpProblem } from './problem'
import { fieldName } from './validation'

export function isJsonMediaType(contentType: string | null): boolean {
  if (!contentType) return false
  const mediaType = contentType.split(';', 1)[0]?.trim().toLowerCase() ?? ''
  return (
    mediaType === 'application/json' || (mediaType.startsWith('application/') && mediaType.endsWith('+json'))
  )
}

export function tooLarge(limit: number): HttpProblem {
  return new HttpProblem('payload-too-large', `The request body must be at most ${limit} bytes.`, { limit })
}

/**
 * Reads the body as text, stopping as soon as it passes the limit. Content-Length is checked before this
 * runs; the streaming check covers chunked uploads that declare no length.
 */
export async function readBodyText(request: Request, limit: number): Promise<string> {
  if (!request.body) return ''
  // A declared length was checked against the limit before routing, and the server reads exactly that
  // many bytes: one read, no stream to walk.
  if (request.headers.get('content-length') !== null) {
    const text = await request.text()
    if (Buffer.byteLength(text) > limit) throw tooLarge(limit)
    return text
  }
  const chunks: Uint8Array[] = []
  let size = 0
  for await (const chunk of request.body) {
    size += chunk.byteLength
    if (size > limit) throw tooLarge(limit)
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/**
 * Parses a JSON body; anything but JSON is refused, so handlers only ever see parsed, size-checked input,
 * without U+0000 in its strings (src/http/nul.ts).
 * A request without a body (a DELETE, say) parses to undefined: routes that need one then fail validation
 * naming the missing fields.
 */
export async function parseJsonBody(request: Request, limit: number): Promise<unknown> {
  if (request.body === null) return undefined
  if (!isJsonMediaType(request.headers.get('content-type'))) {
    throw new HttpProblem(
      'unsupported-media-type',
      'Send the body as JSON with Content-Type: application/json.',
    )
  }
  const text = await readBodyText(request, limit)
  if (text.trim() === '') throw new HttpProblem('malformed-body', 'The request body is empty.')
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch (error) {
    throw new HttpProblem('malformed-body', `The request body is not valid JSON: ${(error as Error).message}`)
  }
  // JSON can only carry U+0000 escaped, so bodies without the escape (nearly all) are not walked.
  const pointer = text.includes('\\u0000') ? pointerToNul(body) : undefined
  if (pointer !== undefined) {
    const field = fieldName(pointer, 'body')
    throw new HttpProblem('validation-failed', `${field}: ${nulMessage}`, {
      errors: [{ field, in: 'body', message: nulMessage }],
    })
  }
  return body
}

import { pointerToDuplicateKey } from './duplicate-keys'
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

const duplicateMessage = 'is given more than once in the same object; send each member once'

/** The charset parameter of a media type, lower-cased and unquoted; undefined if none is given. */
export function declaredCharset(contentType: string): string | undefined {
  if (!contentType.includes('=')) return undefined
  for (const parameter of contentType.split(';').slice(1)) {
    const equals = parameter.indexOf('=')
    if (parameter.slice(0, equals).trim().toLowerCase() !== 'charset') continue
    return parameter
      .slice(equals + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1')
      .toLowerCase()
  }
  return undefined
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
 * without U+0000 in its strings (src/http/nul.ts) and without an object naming a member twice
 * (src/http/duplicate-keys.ts; checked once JSON.parse has said the text is JSON, which the scan relies on).
 * A request without a body (a DELETE, say) parses to undefined: routes that need one then fail validation
 * naming the missing fields.
 */
export async function parseJsonBody(request: Request, limit: number): Promise<unknown> {
  if (request.body === null) return undefined
  const contentType = request.headers.get('content-type')
  if (!isJsonMediaType(contentType)) {
    throw new HttpProblem(
      'unsupported-media-type',
      'Send the body as JSON with Content-Type: application/json.',
    )
  }
  const charset = declaredCharset(contentType as string)
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    // Decoding it as UTF-8 anyway would turn its text into U+FFFD without a word.
    throw new HttpProblem(
      'unsupported-media-type',
      `The body is declared as charset=${charset}; JSON is read as UTF-8 only (RFC 8259): send UTF-8, with no charset or charset=utf-8.`,
      {
        errors: [
          { field: 'Content-Type', in: 'headers', message: `charset ${charset} is not supported; use utf-8` },
        ],
      },
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
  const duplicate = pointerToDuplicateKey(text)
  if (duplicate !== undefined) {
    const field = fieldName(duplicate, 'body')
    throw new HttpProblem('malformed-body', `${field}: ${duplicateMessage}`, {
      errors: [{ field, in: 'body', message: duplicateMessage }],
    })
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

import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { open, readFile, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { createFileOnce } from '../files/create-once'
import { HttpProblem } from '../http/problem'
import { type AvatarContentType, avatarContentTypes } from './model'
import { type AvatarStore, type AvatarUploadSpec, type PresignedUpload, uploadHeaders } from './store'

export const urlKeyFileName = 'avatar-url-key'
/** Where the signed URLs point; answered by the routes in ./index.ts, only when this store is in use. */
export const avatarFilesPath = '/v1/avatar-files'

const keyBytes = 32
// User ids are UUIDs; anything else never reaches the file system, so a name cannot climb out of the dir.
const safeName = /^[A-Za-z0-9-]{1,64}$/
const longestContentType = Math.max(...avatarContentTypes.map((type) => type.length))

/** The HMAC key for signed URLs: random, created once in the data dir with mode 0600. */
export function loadUrlKey(dataDir: string): Buffer {
  const path = join(dataDir, urlKeyFileName)
  if (!existsSync(path)) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 })
    createFileOnce(path, randomBytes(keyBytes), 0o600)
  }
  const key = readFileSync(path)
  if (key.length !== keyBytes)
    throw new Error(`${path}: expected a ${keyBytes}-byte key, found ${key.length}`)
  return key
}

const invalidSignature = () => new HttpProblem('invalid-signature', 'Ask the API for a new URL.')
const mismatch = (detail: string) => new HttpProblem('upload-mismatch', detail)

/**
 * Avatars in `<dataDir>/avatars/<userId>`, behind URLs that ledgerd signs (HMAC-SHA256) and answers
 * itself: the same flow as S3 presigned URLs, with no other service to run. Each file starts with its
 * content type and a newline, so type and bytes are replaced together by one rename.
 */
export class LocalAvatarStore implements AvatarStore {
  readonly dir: string

  constructor(
    dataDir: string,
    private readonly key: Buffer,
    private readonly urlTtlMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.dir = join(dataDir, 'avatars')
    mkdirSync(this.dir, { recursive: true, mode: 0o700 })
  }

  async presignUpload(
    userId: string,
    upload: AvatarUploadSpec,
    { baseUrl }: { baseUrl: string },
  ): Promise<PresignedUpload> {
    const expires = this.expiry()
    const query = new URLSearchParams({
      type: upload.contentType,
      length: String(upload.contentLength),
      expires: String(expires),
      signature: this.sign([
        'PUT',
        userId,
        upload.contentType,
        String(upload.contentLength),
        String(expires),
      ]),
    })
    return {
      url: `${this.fileUrl(baseUrl, userId)}?${query}`,
      method: 'PUT',
      headers: uploadHeaders(upload),
      expiresAt: new Date(expires * 1000),
    }
  }

  async presignDownload(userId: string, { baseUrl }: { baseUrl: string }): Promise<string | undefined> {
    if (!safeName.test(userId)) return undefined
    const exists = await stat(join(this.dir, userId)).then(
      () => true,
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return false
        throw error
      },
    )
    if (!exists) return undefined
    const expires = this.expiry()
    const query = new URLSearchParams({
      expires: String(expires),
      signature: this.sign(['GET', userId, String(expires)]),
    })
    return `${this.fileUrl(baseUrl, userId)}?${query}`
  }

  /**
   * Stores the body of a signed PUT. The signature covers user, type, length and expiry; the request must
   * declare exactly that type and length. The bytes go to a temp file that is renamed over the avatar
   * only once complete, so a reader never sees a partial image.
   */
  async acceptUpload(userId: string, query: URLSearchParams, request: Request): Promise<void> {
    const type = query.get('type')
    const length = query.get('length')
    this.verify(['PUT', userId, type ?? '', length ?? '', query.get('expires') ?? ''], query)
    const size = Number(length)
    if (request.headers.get('content-type') !== type) {
      throw mismatch(`Send Content-Type: ${type}, as signed.`)
    }
    if (request.headers.get('content-length') !== length) {
      throw mismatch(`Send exactly ${size} bytes with Content-Length: ${size}, as signed.`)
    }
    const temp = join(this.dir, `.upload-${randomUUID()}`)
    const file = await open(temp, 'wx', 0o600)
    try {
      await file.write(`${type}\n`)
      let received = 0
      for await (const chunk of request.body ?? []) {
        received += chunk.byteLength
        if (received > size) throw mismatch(`The body is longer than the ${size} bytes signed.`)
        await file.write(chunk)
      }
      if (received !== size) throw mismatch(`The body has ${received} bytes, not the ${size} signed.`)
      // Flushed before the rename: after a crash the avatar is the old image or the new one, never empty.
      await file.sync()
      await file.close()
      await rename(temp, join(this.dir, userId))
    } catch (error) {
      await file.close().catch(() => undefined)
      await rm(temp, { force: true })
      throw error
    }
  }

  /** Answers a signed GET with the stored bytes and the type they were uploaded with. */
  async serve(userId: string, query: URLSearchParams): Promise<Response> {
    const expires = this.verify(['GET', userId, query.get('expires') ?? ''], query)
    // One read of the whole file (at most avatar-max-bytes): type and bytes from the same upload, even if a
    // new one is renamed into place meanwhile.
    const data = await readFile(join(this.dir, userId)).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') throw new HttpProblem('not-found', 'No avatar has been uploaded.')
      throw error
    })
    const newline = data.subarray(0, longestContentType + 1).indexOf(0x0a)
    const contentType = data.subarray(0, Math.max(newline, 0)).toString() as AvatarContentType
    if (!avatarContentTypes.includes(contentType)) throw new Error(`avatar file of ${userId} is corrupt`)
    const maxAge = Math.max(0, expires - Math.ceil(this.now() / 1000))
    return new Response(data.subarray(newline + 1), {
      headers: {
        'content-type': contentType,
        'cache-control': `private, max-age=${maxAge}`,
        // Served from the API's origin: the browser must treat it as nothing but an image.
        'x-content-type-options': 'nosniff',
        'content-security-policy': "default-src 'none'",
      },
    })
  }

  private fileUrl(baseUrl: string, userId: string): string {
    return `${baseUrl}${avatarFilesPath}/${encodeURIComponent(userId)}`
  }

  /** Seconds since the epoch, as the URL carries it. */
  private expiry(): number {
    return Math.floor((this.now() + this.urlTtlMs) / 1000)
  }

  private sign(fields: string[]): string {
    return createHmac('sha256', this.key).update(fields.join('\n')).digest('base64url')
  }

  /** Checks name, signature and expiry; returns the expiry. Every failure looks the same to the caller. */
  private verify(fields: string[], query: URLSearchParams): number {
    const name = fields[1] ?? ''
    const expected = Buffer.from(this.sign(fields))
    const offered = Buffer.from(query.get('signature') ?? '')
    const expires = Number(query.get('expires'))
    const valid =
      safeName.test(name) &&
      offered.length === expected.length &&
      timingSafeEqual(offered, expected) &&
      Number.isSafeInteger(expires) &&
      expires * 1000 >= this.now()
    if (!valid) throw invalidSignature()
    return expires
  }
}

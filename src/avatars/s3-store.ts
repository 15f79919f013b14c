import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { type AvatarStore, type AvatarUploadSpec, type PresignedUpload, uploadHeaders } from './store'

export interface S3StoreOptions {
  bucket: string
  /** Empty: AWS itself. */
  endpoint: string
  region: string
  forcePathStyle: boolean
  urlTtlMs: number
  /** Per HTTP attempt; the service bounds the whole call (credentials included) separately. */
  timeoutMs: number
}

const connectTimeoutMs = 1000

export const avatarKey = (userId: string) => `avatars/${userId}`

const notFound = (error: unknown) =>
  (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404

/**
 * Avatars as S3 objects, read and written by clients through presigned URLs. Credentials come only from
 * the AWS SDK's default chain (environment, profile, web identity, container or instance metadata).
 */
export function s3AvatarStore(options: S3StoreOptions): AvatarStore {
  const client = new S3Client({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    forcePathStyle: options.forcePathStyle,
    // A slow store should answer 503 within the store timeout; retries with backoff would outlast it.
    maxAttempts: 2,
    // The SDK leaves a refused connection's connect timer running, which holds up exit on shutdown for
    // that long; a connection that takes over a second is a failure anyway.
    requestHandler: {
      connectionTimeout: Math.min(options.timeoutMs, connectTimeoutMs),
      requestTimeout: options.timeoutMs,
    },
    // Since 3.729 the SDK adds a CRC32 of the body to PutObject by default; in a presigned URL that is the
    // checksum of an empty body, so every upload would be refused. Checksums only where S3 requires them.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  })
  const expiresIn = Math.floor(options.urlTtlMs / 1000)

  return {
    async presignUpload(userId: string, upload: AvatarUploadSpec): Promise<PresignedUpload> {
      const signingDate = new Date()
      const command = new PutObjectCommand({
        Bucket: options.bucket,
        Key: avatarKey(userId),
        ContentType: upload.contentType,
        ContentLength: upload.contentLength,
      })
      // The presigner leaves Content-Type unsigned unless told otherwise; signed, S3 refuses a PUT whose
      // type or length differs from what the API checked.
      const url = await getSignedUrl(client, command, {
        expiresIn,
        signingDate,
        signableHeaders: new Set(['content-type', 'content-length']),
      })
      return {
        url,
        method: 'PUT',
        headers: uploadHeaders(upload),
        expiresAt: new Date(signingDate.getTime() + expiresIn * 1000),
      }
    },

    async presignDownload(userId: string, { signal }: { signal: AbortSignal }): Promise<string | undefined> {
      const target = { Bucket: options.bucket, Key: avatarKey(userId) }
      try {
        await client.send(new HeadObjectCommand(target), { abortSignal: signal })
      } catch (error) {
        if (notFound(error)) return undefined
        throw error
      }
      return getSignedUrl(client, new GetObjectCommand(target), { expiresIn })
    },
  }
}

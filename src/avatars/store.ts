import type { AvatarContentType } from './model'

export interface AvatarUploadSpec {
  contentType: AvatarContentType
  contentLength: number
}

/** A request the client makes itself, straight to the store: ledgerd hands out URLs, not bytes. */
export interface PresignedUpload {
  url: string
  method: 'PUT'
  /** The headers that were signed: the store refuses a PUT without exactly these. */
  headers: Record<string, string>
  expiresAt: Date
}

export interface StoreCall {
  /** Absolute base URL of the API, for stores whose URLs point back at ledgerd. */
  baseUrl: string
  /** Aborted when the call has taken longer than the store timeout. */
  signal: AbortSignal
}

/**
 * Where avatars live: one object per user, replaced by each upload. Every method may be slow or fail
 * (network, credentials, permissions); callers bound it with a timeout.
 */
export interface AvatarStore {
  presignUpload(userId: string, upload: AvatarUploadSpec, call: StoreCall): Promise<PresignedUpload>
  /** A short-lived URL that reads the avatar, or undefined when none has been uploaded. */
  presignDownload(userId: string, call: StoreCall): Promise<string | undefined>
}

/** The headers both stores sign into an upload, named as clients send them. */
export const uploadHeaders = (upload: AvatarUploadSpec) => ({
  'Content-Type': upload.contentType,
  'Content-Length': String(upload.contentLength),
})

import { type Principal, requireSelfOrAdmin } from '../auth/principal'
import { uuidPattern } from '../http/ids'
import { HttpProblem } from '../http/problem'
import type { Logger } from '../observability/logger'
import type { AvatarStore, AvatarUploadSpec, PresignedUpload, StoreCall } from './store'

/** The store operations, as the failure metric labels them (`ledgerd_avatar_store_errors_total`). */
export const avatarStoreOperations = ['presign_upload', 'presign_download'] as const
export type AvatarStoreOperation = (typeof avatarStoreOperations)[number]

export interface AvatarStoreAccess {
  store: AvatarStore
  timeoutMs: number
  logger: Logger
  /** Told of every store call that failed or timed out (and was answered 503). */
  failed?: (operation: AvatarStoreOperation) => void
}

const retryAfterSeconds = 5

class StoreTimeout extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`)
    this.name = 'StoreTimeout'
  }
}

/**
 * Runs one store operation within the timeout, credential lookup and retries included: a slow, unreachable
 * or refusing store answers 503 with Retry-After, never a hang and never a 500. An HttpProblem from the
 * store (a local-store decision) passes through unchanged.
 */
async function callStore<T>(
  { timeoutMs, logger, failed }: AvatarStoreAccess,
  operation: AvatarStoreOperation,
  baseUrl: string,
  run: (call: StoreCall) => Promise<T>,
): Promise<T> {
  const controller = new AbortController()
  let timer: Timer | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort()
      reject(new StoreTimeout(timeoutMs))
    }, timeoutMs)
  })
  try {
    return await Promise.race([run({ baseUrl, signal: controller.signal }), timeout])
  } catch (error) {
    if (error instanceof HttpProblem) throw error
    failed?.(operation)
    logger.warn('avatar store unavailable', { operation, error })
    throw new HttpProblem(
      'service-unavailable',
      'The avatar store is unavailable; try again shortly.',
      {},
      { 'retry-after': String(retryAfterSeconds) },
    )
  } finally {
    clearTimeout(timer)
  }
}

/** A URL the caller PUTs their new avatar to; it replaces the old one once the upload completes. */
export function requestUpload(
  access: AvatarStoreAccess,
  principal: Principal,
  upload: AvatarUploadSpec,
  baseUrl: string,
): Promise<PresignedUpload> {
  return callStore(access, 'presign_upload', baseUrl, (call) =>
    access.store.presignUpload(principal.userId, upload, call),
  )
}

/** A short-lived URL of the user's avatar; someone else's answers 404 like a missing one. */
export async function downloadUrl(
  access: AvatarStoreAccess,
  principal: Principal,
  userId: string,
  baseUrl: string,
): Promise<string> {
  requireSelfOrAdmin(principal, userId)
  // User ids are UUIDs; another string names no user, and never reaches the store as part of a key.
  const url = uuidPattern.test(userId)
    ? await callStore(access, 'presign_download', baseUrl, (call) =>
        access.store.presignDownload(userId, call),
      )
    : undefined
  if (!url) throw new HttpProblem('not-found', 'No avatar has been uploaded.')
  return url
}

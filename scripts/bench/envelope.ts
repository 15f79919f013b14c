import type { JobEnvelope } from '../../src/ledger/jobs'

/**
 * A write job as the API hands it to the writer: the fingerprint is a SHA-256 in hex, as the API
 * computes it, so the stored idempotency row is the size it is in production.
 */
export function benchEnvelope(
  ownerId: string,
  job: JobEnvelope['job'],
  idempotencyKey: string,
  path: string,
): JobEnvelope {
  return {
    job,
    ownerId,
    idempotencyKey,
    fingerprint: new Bun.CryptoHasher('sha256').update(path).digest('hex'),
    path,
    requestId: crypto.randomUUID(),
  }
}

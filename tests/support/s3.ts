import { createHash, createHmac } from 'node:crypto'
import { rmSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tempDir } from './ledgerd-process'

// An S3-protocol server for tests: s3rver (in this process, on 127.0.0.1 and a kernel-chosen port) with
// a SigV4 check of presigned URLs in front. s3rver 3.7 accepts any V4 signature unchecked
// (lib/middleware/authentication.js: "Signature version 4 calculation is unimplemented"), so on its own
// it would take a PUT of any type and size; AWS refuses those, and the tests must see that.

/** s3rver's built-in account: well-known test values, not secrets. */
export const s3rverCredentials = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' }

interface KoaContext {
  method: string
  path: string
  querystring: string
  headers: Record<string, string | string[] | undefined>
  status: number
  type: string
  body: unknown
}

type Middleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>

interface S3rverInstance {
  middleware: Middleware[]
  run(): Promise<AddressInfo>
  close(): Promise<void>
}

type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance

// s3rver ships no type declarations; this is the part of its API the tests use.
const S3rver = require('s3rver') as S3rverClass

export interface TestS3 {
  endpoint: string
  bucket: string
  /** Presigned requests refused by the signature check, with the reason. */
  refused: string[]
  close(): Promise<void>
}

/** RFC 3986 encoding, as SigV4 canonicalises query strings. */
const encode = (value: string) =>
  encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)

const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest()

/** Why a presigned (query-authenticated) SigV4 request is invalid, or undefined when it is valid. */
export function presignedRequestProblem(
  method: string,
  path: string,
  query: string,
  header: (name: string) => string | undefined,
  secret: string,
  now = new Date(),
): string | undefined {
  const params = [...new URLSearchParams(query)]
  const get = (name: string) => params.find(([key]) => key === name)?.[1] ?? ''
  const [, day, region, service] = get('X-Amz-Credential').split('/')
  const amzDate = get('X-Amz-Date')
  const signedHeaders = get('X-Amz-SignedHeaders').split(';')
  const signedAt = Date.parse(
    amzDate.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'),
  )
  if (!(signedAt + Number(get('X-Amz-Expires')) * 1000 >= now.getTime())) return 'expired'
  const canonicalRequest = [
    method,
    path,
    params
      .filter(([key]) => key !== 'X-Amz-Signature')
      .map(([key, value]) => `${encode(key)}=${encode(value)}`)
      .sort()
      .join('&'),
    ...signedHeaders.map((name) => `${name}:${(header(name) ?? '').trim().replace(/\s+/g, ' ')}`),
    '',
    signedHeaders.join(';'),
    'UNSIGNED-PAYLOAD',
  ].join('\n')
  const scope = `${day}/${region}/${service}/aws4_request`
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    amzDate,
    scope,
    createHash('sha256').update(canonicalRequest).digest('hex'),
  ].join('\n')
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day ?? ''), region ?? ''), service ?? ''), 'aws4_request')
  const expected = createHmac('sha256', key).update(stringToSign).digest('hex')
  return expected === get('X-Amz-Signature') ? undefined : `signature mismatch for ${method} ${path}`
}

/** s3rver with the bucket created and presigned URLs checked as S3 checks them. */
export async function startS3(bucket = 'avatars'): Promise<TestS3> {
  const directory = tempDir('ledgerd-s3-')
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket }],
  })
  const refused: string[] = []
  server.middleware.unshift(async (ctx, next) => {
    if (!ctx.querystring.includes('X-Amz-Signature=')) return next()
    const header = (name: string) => {
      const value = ctx.headers[name]
      return Array.isArray(value) ? value.join(',') : value
    }
    const problem = presignedRequestProblem(
      ctx.method,
      ctx.path,
      ctx.querystring,
      header,
      s3rverCredentials.AWS_SECRET_ACCESS_KEY,
    )
    if (!problem) return next()
    refused.push(problem)
    ctx.status = 403
    ctx.type = 'application/xml'
    ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SignatureDoesNotMatch</Code></Error>`
  })
  const address = await server.run()
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    bucket,
    refused,
    async close() {
      await server.close()
      rmSync(directory, { recursive: true, force: true })
    },
  }
}

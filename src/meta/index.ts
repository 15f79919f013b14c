import { Elysia } from 'elysia'
import { docsPath, openApiPath } from '../docs'
import { commit, version } from '../version'
import { metaModel } from './model'

/**
 * "1.4.2" → "1.4": the exact release and commit tell an attacker which known bug to try, so they are
 * shown only with --meta-exact-version (the admin listener and `ledgerd version` always know them).
 */
export const publicVersion = (exact: string) => /^\d+\.\d+/.exec(exact)?.[0] ?? exact

export function serviceInfo(exact: boolean) {
  return exact
    ? { name: 'ledgerd' as const, version, commit, docs: docsPath, openapi: openApiPath }
    : { name: 'ledgerd' as const, version: publicVersion(version), docs: docsPath, openapi: openApiPath }
}

export function meta(exactVersion: boolean) {
  const info = serviceInfo(exactVersion)
  return new Elysia({ name: 'meta' }).model(metaModel).get('/v1/meta', () => info, {
    response: 'ServiceInfo',
    detail: {
      tags: ['meta'],
      summary: 'Which ledgerd is answering',
      description:
        'Version of the running service: major.minor, or with --meta-exact-version the exact version and commit.',
    },
  })
}

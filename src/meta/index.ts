import { Elysia } from 'elysia'
import { docsPath, openApiPath } from '../docs'
import { commit, version } from '../version'
import { metaModel } from './model'

const serviceInfo = { name: 'ledgerd' as const, version, commit, docs: docsPath, openapi: openApiPath }

export const meta = new Elysia({ name: 'meta' }).model(metaModel).get('/v1/meta', () => serviceInfo, {
  response: 'ServiceInfo',
  detail: {
    tags: ['meta'],
    summary: 'Which ledgerd is answering',
    description: 'Version and build of the running service.',
  },
})

import { t } from 'elysia'

export const metaModel = {
  ServiceInfo: t.Object({
    name: t.Literal('ledgerd'),
    version: t.String({
      description: 'Release of the running binary: major.minor, exact with --meta-exact-version.',
    }),
    commit: t.Optional(
      t.String({ description: 'Git commit the binary was built from (--meta-exact-version).' }),
    ),
    docs: t.String({ description: 'Path of the interactive API reference.' }),
    openapi: t.String({ description: 'Path of the OpenAPI 3.1 document.' }),
  }),
}

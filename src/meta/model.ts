import { t } from 'elysia'

export const metaModel = {
  ServiceInfo: t.Object({
    name: t.Literal('ledgerd'),
    version: t.String({ description: 'Release version of the running binary.' }),
    commit: t.String({ description: 'Git commit the binary was built from.' }),
    docs: t.String({ description: 'Path of the interactive API reference.' }),
    openapi: t.String({ description: 'Path of the OpenAPI 3.1 document.' }),
  }),
}

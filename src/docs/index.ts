import { openapi } from '@elysiajs/openapi'
import { Elysia } from 'elysia'
import { version } from '../version'
import scalarBundle from './scalar-bundle.js'

export const docsPath = '/docs'
export const openApiPath = '/openapi.json'
const scalarAssetPath = `${docsPath}/assets/scalar-api-reference.js`

// `agent` is a per-document option that Scalar also reads from the top level; the plugin's type lacks it.
type ScalarOptions = NonNullable<Parameters<typeof openapi>[0]>['scalar'] & { agent?: { disabled?: boolean } }

let gzippedBundle: Uint8Array | undefined

/**
 * Serves the docs UI's script from the binary itself: clusters are often air-gapped, and a CDN script
 * would also let a third party run code on a page that holds a bearer token. Compressed once, on the
 * first request, so start-up does not pay for it.
 */
async function scalarAsset(request: Request): Promise<Response> {
  const headers: Record<string, string> = {
    'content-type': 'text/javascript; charset=utf-8',
    'cache-control': 'public, max-age=86400',
    vary: 'accept-encoding',
  }
  if (!request.headers.get('accept-encoding')?.includes('gzip')) {
    return new Response(Bun.file(scalarBundle), { headers })
  }
  gzippedBundle ??= Bun.gzipSync(new Uint8Array(await Bun.file(scalarBundle).arrayBuffer()))
  return new Response(gzippedBundle, { headers: { ...headers, 'content-encoding': 'gzip' } })
}

export const docs = new Elysia({ name: 'docs' })
  .use(
    openapi({
      path: docsPath,
      specPath: openApiPath,
      // By default paths containing a dot are left out as static files; /.well-known/jwks.json is API.
      exclude: { staticFile: false },
      documentation: {
        info: {
          title: 'ledgerd',
          version,
          description:
            'A money ledger and user API. Errors are RFC 9457 problem details (application/problem+json).',
        },
      },
      // The plugin's type wants Scalar's whole configuration; these are the only keys we change.
      scalar: {
        cdn: scalarAssetPath,
        // The default fonts come from Scalar's CDN; the page must not reach outside the cluster.
        withDefaultFonts: false,
        hideClientButton: true,
        // Each of these, one click away, POSTs the whole OpenAPI document to Scalar's servers (Share,
        // Generate MCP, VS Code/Cursor) or queries them (Ask AI). Scalar shows them when the page is on
        // localhost, which is how a port-forwarded cluster service is usually opened.
        showDeveloperTools: 'never',
        agent: { disabled: true },
        mcp: { disabled: true },
      } as ScalarOptions,
    }),
  )
  .get(scalarAssetPath, ({ request }) => scalarAsset(request), { detail: { hide: true } })

import { noteHostDependent } from './request-context'

/**
 * The base URL clients use to reach the API: the configured one, else the origin of the request (Host
 * header). Used for absolute URLs in responses, such as jwks_uri and signed avatar links. An answer built
 * from the Host header says so (Vary: Host), so that no cache hands it to a client that sent another.
 */
export function publicBaseUrl(configured: string, request: Request): string {
  if (configured) return configured
  noteHostDependent(request)
  return new URL(request.url).origin
}

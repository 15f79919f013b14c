/**
 * The base URL clients use to reach the API: the configured one, else the origin of the request (Host
 * header). Used for absolute URLs in responses, such as jwks_uri and signed avatar links.
 */
export function publicBaseUrl(configured: string, request: Request): string {
  return configured || new URL(request.url).origin
}

import { Elysia, t } from 'elysia'
import { type AuthPlugin, bearerSecurity } from '../auth/plugin'
import { idParams } from '../http/ids'
import { answerError } from '../http/platform'
import { publicBaseUrl } from '../http/public-url'
import { noteMatchedRoute } from '../http/request-context'
import type { Logger } from '../observability/logger'
import { avatarFilesPath, type LocalAvatarStore } from './local-store'
import { avatarsModel } from './model'
import { type AvatarStoreAccess, downloadUrl, requestUpload } from './service'

const tags = ['avatars']

const redirectResponses = {
  307: { description: 'Redirect to a short-lived URL of the image.' },
  404: { description: 'No avatar has been uploaded (or it is not yours to read).' },
  503: { description: 'The avatar store is unavailable; see Retry-After.' },
}

// The redirect is a credential that expires within minutes; no cache may keep it.
const redirectTo = (url: string) =>
  new Response(null, { status: 307, headers: { location: url, 'cache-control': 'no-store' } })

export function avatarsRoutes({
  auth,
  avatars: access,
  avatarMaxBytes,
  publicUrl,
}: {
  auth: AuthPlugin
  avatars: AvatarStoreAccess
  avatarMaxBytes: number
  publicUrl: string
}) {
  return new Elysia({ name: 'avatars' })
    .use(auth)
    .model(avatarsModel(avatarMaxBytes))
    .post(
      '/v1/users/me/avatar',
      async ({ principal, body, request, set }) => {
        const upload = await requestUpload(access, principal, body, publicBaseUrl(publicUrl, request))
        set.headers['cache-control'] = 'no-store'
        return { ...upload, expiresAt: upload.expiresAt.toISOString() }
      },
      {
        auth: 'user',
        body: 'AvatarUploadRequest',
        response: 'AvatarUpload',
        detail: {
          tags,
          summary: 'Get a URL to upload your avatar to',
          description:
            'Answers 200, not 201: nothing exists until the PUT. PUT the image to `url` with `headers` ' +
            'before `expiresAt`; it replaces your avatar when the upload completes.',
          security: bearerSecurity,
        },
      },
    )
    .get(
      '/v1/users/me/avatar',
      async ({ principal, request }) =>
        redirectTo(await downloadUrl(access, principal, principal.userId, publicBaseUrl(publicUrl, request))),
      {
        auth: 'user',
        detail: { tags, summary: 'Your avatar', responses: redirectResponses, security: bearerSecurity },
      },
    )
    .get(
      '/v1/users/:id/avatar',
      async ({ principal, params, request }) =>
        redirectTo(await downloadUrl(access, principal, params.id, publicBaseUrl(publicUrl, request))),
      {
        auth: 'user',
        params: idParams,
        detail: {
          tags,
          summary: "A user's avatar (admin, or yourself)",
          responses: redirectResponses,
          security: bearerSecurity,
        },
      },
    )
}

/**
 * The local store's signed URLs. No bearer token: the signature is the credential. Mounted before the
 * platform (see src/app.ts), whose parser takes JSON only, so they note their route and answer errors
 * with its handler themselves; there is no listing route, and they are left out of the API reference.
 */
export function avatarFilesRoutes(store: LocalAvatarStore | undefined, logger: Logger) {
  const files = new Elysia({ name: 'avatar-files' })
  if (!store) return files
  const fileParams = t.Object({ userId: t.String() })
  return files
    .onTransform(noteMatchedRoute)
    .onError(({ code, error, request, route, path }) =>
      answerError(logger, { code, error, request, route, path }),
    )
    .put(
      `${avatarFilesPath}/:userId`,
      async ({ params, request, set }) => {
        await store.acceptUpload(params.userId, new URL(request.url).searchParams, request)
        set.status = 204
      },
      { params: fileParams, detail: { hide: true } },
    )
    .get(
      `${avatarFilesPath}/:userId`,
      ({ params, request }) => store.serve(params.userId, new URL(request.url).searchParams),
      { params: fileParams, detail: { hide: true } },
    )
}

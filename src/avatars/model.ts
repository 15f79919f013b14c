import { t } from 'elysia'

/** What browsers render safely as an image; anything else (SVG, HTML) could carry script. */
export const avatarContentTypes = ['image/png', 'image/jpeg', 'image/webp'] as const
export type AvatarContentType = (typeof avatarContentTypes)[number]

export function avatarsModel(maxBytes: number) {
  return {
    AvatarUploadRequest: t.Object(
      {
        contentType: t.UnionEnum(avatarContentTypes, {
          description: 'The Content-Type the upload will have.',
        }),
        contentLength: t.Integer({
          minimum: 1,
          maximum: maxBytes,
          description: `The exact size of the upload in bytes, at most ${maxBytes}.`,
        }),
      },
      { additionalProperties: false },
    ),
    AvatarUpload: t.Object({
      url: t.String({ format: 'uri', description: 'Send the image here; short-lived, and a credential.' }),
      method: t.Literal('PUT'),
      headers: t.Record(t.String(), t.String(), {
        description: 'Send exactly these headers with the PUT; the store refuses any other type or size.',
      }),
      expiresAt: t.String({ format: 'date-time' }),
    }),
  }
}

export type Role = 'user' | 'admin'

export interface User {
  id: string
  email: string
  name: string
  role: Role
  createdAt: string
  updatedAt: string
}

/** What the API shows of a user: never the password hash, never the external identity. */
export function userView(user: User) {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    roles: user.role === 'admin' ? (['user', 'admin'] as Role[]) : (['user'] as Role[]),
    createdAt: user.createdAt,
    updatedAt: user.updatedAt,
  }
}

/** Emails are unique case-insensitively; the key is what uniqueness and look-ups compare. */
export const emailKey = (email: string) => email.trim().toLowerCase()

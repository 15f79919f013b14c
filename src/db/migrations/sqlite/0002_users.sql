-- Users. Ids are UUIDv7 (time-ordered), so listing by id is listing by creation and keyset pagination
-- needs no second column. Deleting a user keeps the row (accounts will reference it) and frees the email.
CREATE TABLE users (
  id TEXT PRIMARY KEY NOT NULL,
  email TEXT NOT NULL,
  -- Lower-cased email: uniqueness is case-insensitive, the address is shown as the user typed it.
  email_key TEXT NOT NULL,
  name TEXT NOT NULL,
  -- argon2id PHC string; NULL for users who sign in through an external identity provider.
  password_hash TEXT,
  role TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
  -- Set for users first seen in an external identity provider's token: its iss and sub.
  external_issuer TEXT,
  external_subject TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  deleted_at TEXT,
  CHECK ((external_issuer IS NULL) = (external_subject IS NULL))
);
CREATE UNIQUE INDEX users_email_key_live ON users (email_key) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX users_external_identity ON users (external_issuer, external_subject)
  WHERE external_issuer IS NOT NULL;

-- Users, as on SQLite: ids are UUIDv7 text and times ISO-8601 text, so `ledgerd copy` moves rows
-- unchanged and every API answer reads the same on both engines. COLLATE "C" compares bytes, as SQLite
-- does: the users list pages by id, and a locale's collation would order (and page) differently.
CREATE TABLE users (
  id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
  email TEXT NOT NULL,
  -- Lower-cased email: uniqueness is case-insensitive, the address is shown as the user typed it.
  email_key TEXT COLLATE "C" NOT NULL,
  name TEXT NOT NULL,
  -- argon2id PHC string; NULL for users who sign in through an external identity provider.
  password_hash TEXT,
  role TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
  -- Set for users first seen in an external identity provider's token: its iss and sub.
  external_issuer TEXT COLLATE "C",
  external_subject TEXT COLLATE "C",
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  deleted_at TEXT,
  CHECK ((external_issuer IS NULL) = (external_subject IS NULL))
);
CREATE UNIQUE INDEX users_email_key_live ON users (email_key) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX users_external_identity ON users (external_issuer, external_subject)
  WHERE external_issuer IS NOT NULL;

-- Failed logins, shared by every replica: the throttle must hold however a client spreads its guesses.
-- One row per failure; the throttle counts a key's rows inside its window and deletes older ones.
-- Keys are scoped ("email:...", "client:..."), so the two throttles never count each other's rows.
CREATE TABLE login_failures (
  key TEXT COLLATE "C" NOT NULL,
  at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX login_failures_key_at ON login_failures (key, at);
-- Finds rows that aged out of every window, whatever their key: each attempt deletes a few, so keys
-- never tried again (a sprayed list of emails) do not stay in the table for ever.
CREATE INDEX login_failures_at ON login_failures (at);

-- One row naming this ledgerd installation (the same table as on SQLite): `ledgerd copy` and support
-- bundles tell installations apart by it.
CREATE TABLE instance (
  id TEXT PRIMARY KEY NOT NULL,
  created_at TEXT NOT NULL
);
INSERT INTO instance (id, created_at)
VALUES (md5(random()::text || clock_timestamp()::text),
        to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'));

-- Secrets ledgerd generates for itself when none is configured (the token signing key): one row each,
-- inserted once by whichever replica gets there first, so every replica signs and verifies alike. As
-- sensitive as the password hashes beside them: production deployments should mount a key file instead.
CREATE TABLE generated_secrets (
  name TEXT COLLATE "C" PRIMARY KEY NOT NULL,
  value TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
);

-- One row naming this ledgerd installation (the same table as on SQLite): `ledgerd copy` and support
-- bundles tell installations apart by it.
CREATE TABLE instance (
  id TEXT PRIMARY KEY NOT NULL,
  created_at TEXT NOT NULL
);
INSERT INTO instance (id, created_at)
VALUES (md5(random()::text || clock_timestamp()::text),
        to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'));

-- One row naming this database, so logs and `ledgerd migrate --status` can tell which data a process uses
-- (two replicas pointed at different volumes show different ids).
CREATE TABLE instance (
  id TEXT PRIMARY KEY NOT NULL,
  created_at TEXT NOT NULL
);
INSERT INTO instance (id, created_at)
VALUES (lower(hex(randomblob(16))), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));

-- The ledger, version 2: one row per transaction carrying both legs, integer keys inside the database,
-- each account's history as a chain of links, and Idempotency-Keys kept on the rows they produced.
-- NOTES.md ("The ledger") has the measurements behind each choice. This migration rewrites the tables of
-- 0003 in place; `ledgerd verify` passes on the same data before and after (tests/unit/db/ledger-v2-
-- migration.test.ts upgrades a database made by the 0003 release).

CREATE TABLE accounts_v2 (
  -- Internal key: transactions refer to accounts by it. The public id stays an opaque UUID.
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL,
  -- NULL for the per-currency external account: the world outside, which deposits come from and
  -- withdrawals go to. Its balance is minus all the money users hold in that currency, so it needs more
  -- than 2^53 (one user may hold up to 2^53-1): it may use SQLite's whole 64-bit integer.
  owner_id TEXT REFERENCES users (id),
  currency TEXT NOT NULL CHECK (length(currency) = 3),
  balance INTEGER NOT NULL DEFAULT 0 CHECK (typeof(balance) = 'integer'),
  -- The account's newest transaction: the head of its history chain (NULL for the external account,
  -- whose history nobody pages through).
  head INTEGER,
  created_at INTEGER NOT NULL,
  -- The Idempotency-Key of the request that opened it, until purged.
  idem_key TEXT,
  -- The overdraft guard's last line: even a buggy writer cannot leave a user account below zero or past
  -- the largest amount a JSON number carries exactly.
  CHECK (owner_id IS NULL OR balance BETWEEN 0 AND 9007199254740991),
  CHECK (idem_key IS NULL OR owner_id IS NOT NULL)
);

CREATE TABLE transactions_v2 (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('deposit', 'withdrawal', 'transfer', 'reversal')),
  amount INTEGER NOT NULL CHECK (typeof(amount) = 'integer' AND amount BETWEEN 1 AND 9007199254740991),
  currency TEXT NOT NULL,
  -- Double entry in one row: `amount` leaves the debit account and arrives in the credit account. Each
  -- user side records its balance after the transaction and the link to its previous transaction; the
  -- external side records neither (NULL).
  debit_account INTEGER NOT NULL REFERENCES accounts_v2 (seq),
  debit_balance INTEGER CHECK (debit_balance BETWEEN 0 AND 9007199254740991),
  debit_prev INTEGER CHECK (debit_prev < seq),
  credit_account INTEGER NOT NULL REFERENCES accounts_v2 (seq),
  credit_balance INTEGER CHECK (credit_balance BETWEEN 0 AND 9007199254740991),
  credit_prev INTEGER CHECK (credit_prev < seq),
  description TEXT,
  -- A correction is a new transaction; a unique index makes "reversed at most once" a database fact.
  reverses INTEGER REFERENCES transactions_v2 (seq),
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  -- The caller's Idempotency-Key, until purged. The row itself is the request's fingerprint.
  idem_key TEXT,
  CHECK (debit_account <> credit_account),
  CHECK ((kind = 'reversal') = (reverses IS NOT NULL))
);

-- Commands refused for a business reason (insufficient funds, already reversed, balance limit) with an
-- Idempotency-Key: no row elsewhere records them, and a retry must get the same refusal.
CREATE TABLE refused_commands (
  owner_id TEXT NOT NULL,
  idem_key TEXT NOT NULL,
  -- The command as canonical JSON, compared with a retry's. NULL for refusals recorded by the 0003
  -- release, which kept only a hash of the HTTP request: those replay for any command with their key.
  command TEXT,
  code TEXT NOT NULL,
  detail TEXT,
  request_id TEXT,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (owner_id, idem_key)
);

-- Small facts the writer keeps: how far the key purge has got, and the row readiness probes write to.
CREATE TABLE ledger_meta (
  name TEXT PRIMARY KEY NOT NULL,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO ledger_meta (name, value) VALUES ('purged_through', 0), ('write_probe', 0);

-- ---- Copy the 0003 ledger -------------------------------------------------------------------------------

INSERT INTO accounts_v2 (seq, id, owner_id, currency, balance, created_at)
SELECT row_number() OVER (ORDER BY created_at, id), id, owner_id, currency, balance,
       CAST(round(unixepoch(created_at, 'subsec') * 1000) AS INTEGER)
FROM accounts;

-- Each 0003 transaction had one negative and one positive posting; its order is its first posting's id.
CREATE TEMP TABLE migrated_legs AS
SELECT row_number() OVER (ORDER BY min(p.id)) AS seq,
       t.id, t.kind, t.amount, t.currency, t.description, t.reverses_id, t.created_by, t.created_at,
       max(CASE WHEN p.amount < 0 THEN p.account_id END) AS debit_id,
       max(CASE WHEN p.amount < 0 THEN p.balance_after END) AS debit_after,
       max(CASE WHEN p.amount > 0 THEN p.account_id END) AS credit_id,
       max(CASE WHEN p.amount > 0 THEN p.balance_after END) AS credit_after
FROM transactions t JOIN postings p ON p.transaction_id = t.id
GROUP BY t.id;

CREATE TEMP TABLE migrated_links AS
SELECT seq, account_id, lag(seq) OVER (PARTITION BY account_id ORDER BY seq) AS prev
FROM (SELECT seq, debit_id AS account_id FROM migrated_legs
      UNION ALL SELECT seq, credit_id FROM migrated_legs);

INSERT INTO transactions_v2 (seq, id, kind, amount, currency, debit_account, debit_balance, debit_prev,
                             credit_account, credit_balance, credit_prev, description, reverses,
                             created_by, created_at, idem_key)
SELECT l.seq, l.id, l.kind, l.amount, l.currency,
       d.seq, CASE WHEN d.owner_id IS NOT NULL THEN l.debit_after END,
       CASE WHEN d.owner_id IS NOT NULL THEN dl.prev END,
       c.seq, CASE WHEN c.owner_id IS NOT NULL THEN l.credit_after END,
       CASE WHEN c.owner_id IS NOT NULL THEN cl.prev END,
       l.description, r.seq, l.created_by,
       CAST(round(unixepoch(l.created_at, 'subsec') * 1000) AS INTEGER),
       (SELECT k.key FROM idempotency_keys k WHERE k.transaction_id = l.id AND k.owner_id = l.created_by)
FROM migrated_legs l
JOIN accounts_v2 d ON d.id = l.debit_id
JOIN accounts_v2 c ON c.id = l.credit_id
JOIN migrated_links dl ON dl.seq = l.seq AND dl.account_id = l.debit_id
JOIN migrated_links cl ON cl.seq = l.seq AND cl.account_id = l.credit_id
LEFT JOIN migrated_legs r ON r.id = l.reverses_id
ORDER BY l.seq;

UPDATE accounts_v2 SET head = (SELECT max(seq) FROM migrated_links WHERE account_id = accounts_v2.id)
WHERE owner_id IS NOT NULL;

-- A 201 without a transaction opened an account: its key goes on the account row.
UPDATE accounts_v2 SET idem_key = (
  SELECT k.key FROM idempotency_keys k
  WHERE k.owner_id = accounts_v2.owner_id AND k.status = 201 AND k.transaction_id IS NULL
    AND json_extract(k.response, '$.id') = accounts_v2.id)
WHERE owner_id IS NOT NULL;

INSERT INTO refused_commands (owner_id, idem_key, command, code, detail, request_id, created_at)
SELECT owner_id, key, NULL, replace(json_extract(response, '$.type'), '/problems/', ''),
       json_extract(response, '$.detail'), json_extract(response, '$.requestId'),
       CAST(round(unixepoch(created_at, 'subsec') * 1000) AS INTEGER)
FROM idempotency_keys WHERE status >= 400;

DROP TABLE migrated_links;
DROP TABLE migrated_legs;
DROP TABLE idempotency_keys;
DROP TABLE postings;
DROP TABLE transactions;
DROP TABLE accounts;
ALTER TABLE accounts_v2 RENAME TO accounts;
ALTER TABLE transactions_v2 RENAME TO transactions;

-- ---- Indexes and rules ----------------------------------------------------------------------------------

CREATE UNIQUE INDEX accounts_public_id ON accounts (id);
CREATE INDEX accounts_by_owner ON accounts (owner_id, id);
CREATE UNIQUE INDEX accounts_external ON accounts (currency) WHERE owner_id IS NULL;
CREATE UNIQUE INDEX accounts_idempotency ON accounts (owner_id, idem_key) WHERE idem_key IS NOT NULL;
-- UUIDv7 ids are time-ordered: new entries land at the end of this index.
CREATE UNIQUE INDEX transactions_public_id ON transactions (id);
-- Keys are scoped to their caller. Partial: rows whose key was purged, or that had none, cost nothing here.
CREATE UNIQUE INDEX transactions_idempotency ON transactions (created_by, idem_key) WHERE idem_key IS NOT NULL;
CREATE UNIQUE INDEX transactions_reversal ON transactions (reverses) WHERE reverses IS NOT NULL;
CREATE INDEX refused_commands_created ON refused_commands (created_at);

-- Posted transactions never change, except that their Idempotency-Key may be forgotten (purged).
CREATE TRIGGER transactions_append_only_update
BEFORE UPDATE OF seq, id, kind, amount, currency, debit_account, debit_balance, debit_prev, credit_account,
                 credit_balance, credit_prev, description, reverses, created_by, created_at ON transactions
BEGIN SELECT RAISE(ABORT, 'transactions are append-only'); END;
CREATE TRIGGER transactions_key_only_forgotten BEFORE UPDATE OF idem_key ON transactions
WHEN NEW.idem_key IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'transactions are append-only'); END;
CREATE TRIGGER transactions_append_only_delete BEFORE DELETE ON transactions
BEGIN SELECT RAISE(ABORT, 'transactions are append-only'); END;
-- An account's identity never changes and accounts are never deleted; balance and head move.
CREATE TRIGGER accounts_identity_fixed BEFORE UPDATE OF seq, id, owner_id, currency, created_at ON accounts
BEGIN SELECT RAISE(ABORT, 'an account''s identity never changes'); END;
CREATE TRIGGER accounts_never_deleted BEFORE DELETE ON accounts
BEGIN SELECT RAISE(ABORT, 'accounts are never deleted'); END;

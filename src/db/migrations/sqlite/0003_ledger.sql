-- The ledger. Balances live on the account row, kept in the same transaction as the postings that move
-- them, so they always equal the sum of their postings (`ledgerd verify` checks it).
CREATE TABLE accounts (
  id TEXT PRIMARY KEY NOT NULL,
  -- NULL for the per-currency external account: the world outside, which deposits come from and
  -- withdrawals go to. It runs negative by design; user accounts never do.
  owner_id TEXT REFERENCES users (id),
  kind TEXT NOT NULL CHECK (kind IN ('user', 'external')),
  currency TEXT NOT NULL CHECK (length(currency) = 3),
  balance INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  CHECK ((kind = 'external') = (owner_id IS NULL)),
  -- The overdraft guard's last line: even a buggy write cannot leave a user account below zero.
  CHECK (kind = 'external' OR balance >= 0)
);
CREATE INDEX accounts_owner ON accounts (owner_id, id);
CREATE UNIQUE INDEX accounts_external_currency ON accounts (currency) WHERE kind = 'external';

CREATE TABLE transactions (
  id TEXT PRIMARY KEY NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('deposit', 'withdrawal', 'transfer', 'reversal')),
  amount INTEGER NOT NULL CHECK (amount > 0),
  currency TEXT NOT NULL,
  description TEXT,
  -- A correction is a new transaction; UNIQUE makes "reversed at most once" a database fact.
  reverses_id TEXT UNIQUE REFERENCES transactions (id),
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL
);

CREATE TABLE postings (
  -- Autoincrement: never reused, so it orders an account's history and keys its pages.
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  transaction_id TEXT NOT NULL REFERENCES transactions (id),
  account_id TEXT NOT NULL REFERENCES accounts (id),
  -- Signed: positive credits the account, negative debits it. A transaction's postings sum to zero.
  amount INTEGER NOT NULL CHECK (amount <> 0),
  balance_after INTEGER NOT NULL
);
CREATE INDEX postings_account ON postings (account_id, id);
CREATE INDEX postings_transaction ON postings (transaction_id);

-- Posted entries are never updated or deleted.
CREATE TRIGGER transactions_append_only_update BEFORE UPDATE ON transactions
BEGIN SELECT RAISE(ABORT, 'transactions are append-only'); END;
CREATE TRIGGER transactions_append_only_delete BEFORE DELETE ON transactions
BEGIN SELECT RAISE(ABORT, 'transactions are append-only'); END;
CREATE TRIGGER postings_append_only_update BEFORE UPDATE ON postings
BEGIN SELECT RAISE(ABORT, 'postings are append-only'); END;
CREATE TRIGGER postings_append_only_delete BEFORE DELETE ON postings
BEGIN SELECT RAISE(ABORT, 'postings are append-only'); END;

-- Stripe-style idempotency: the key, the request's fingerprint and the response, committed with the
-- postings they describe.
CREATE TABLE idempotency_keys (
  owner_id TEXT NOT NULL,
  key TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  status INTEGER NOT NULL,
  response TEXT NOT NULL,
  transaction_id TEXT,
  created_at TEXT NOT NULL,
  PRIMARY KEY (owner_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

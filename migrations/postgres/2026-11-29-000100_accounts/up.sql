-- Accounts people can live with (DESIGN.md §14): deactivation, a generation that every bearer
-- token and web session carries (bumped by deactivation, role change, password change or
-- reset, so older credentials stop working at the next request), address verification, and
-- invited accounts that have no password until their owner sets one.
ALTER TABLE users ADD COLUMN active BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE users ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN email_verified_at TIMESTAMP NULL;
-- Accounts made before verification existed were made by an admin or signed in already:
-- they keep submitting.
UPDATE users SET email_verified_at = created_at;

-- Single-use links sent by mail. Only a SHA-256 of the token is stored: a copy of the
-- database does not let anyone use a link still pending.
CREATE TABLE account_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    purpose TEXT NOT NULL CHECK (purpose IN ('verify_email', 'password_reset', 'invitation')),
    token_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP NULL
);
CREATE UNIQUE INDEX account_tokens_hash_key ON account_tokens (token_hash);
CREATE INDEX account_tokens_user_idx ON account_tokens (user_id, purpose);

-- Throttling shared by every instance: one row per counted attempt (a failed sign-in per
-- account and per client address, a registration or mail request per address), read back
-- over a sliding window.
CREATE TABLE throttle_events (
    id TEXT PRIMARY KEY,
    scope TEXT NOT NULL,
    subject TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX throttle_events_subject_idx ON throttle_events (scope, subject, at);
CREATE INDEX throttle_events_at_idx ON throttle_events (at);

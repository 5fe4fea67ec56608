-- A commune's account (role `commune`, DESIGN.md §16) reads the applications whose activity
-- takes place in its commune: which commune is its, by INSEE code (one of the MEL's 95; Lomme
-- and Hellemmes-Lille are stored as Lille's), set for that role and no other.
--
-- SQLite changes a CHECK by rebuilding the table. Other tables reference users: their checks
-- wait for the commit (defer_foreign_keys), when every referenced row is back; the sessions and
-- personal tokens, which cascade on a user's deletion, are kept aside and put back.
PRAGMA defer_foreign_keys = ON;
CREATE TEMP TABLE web_sessions_kept AS SELECT * FROM web_sessions;
CREATE TEMP TABLE personal_tokens_kept AS SELECT * FROM personal_tokens;
CREATE TABLE users_new (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    full_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('applicant', 'reviewer', 'staff', 'admin', 'commune')),
    created_at TIMESTAMP NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    generation INTEGER NOT NULL DEFAULT 0,
    email_verified_at TIMESTAMP NULL,
    erased_at TIMESTAMP NULL,
    commune_insee TEXT NULL,
    CHECK ((role = 'commune') = (commune_insee IS NOT NULL))
);
INSERT INTO users_new (id, email, password_hash, full_name, role, created_at, active, generation,
                       email_verified_at, erased_at)
SELECT id, email, password_hash, full_name, role, created_at, active, generation,
       email_verified_at, erased_at
FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE INDEX users_role_idx ON users (role, created_at);
CREATE INDEX users_commune_idx ON users (commune_insee) WHERE commune_insee IS NOT NULL;
INSERT INTO web_sessions SELECT * FROM web_sessions_kept;
INSERT INTO personal_tokens SELECT * FROM personal_tokens_kept;
DROP TABLE web_sessions_kept;
DROP TABLE personal_tokens_kept;

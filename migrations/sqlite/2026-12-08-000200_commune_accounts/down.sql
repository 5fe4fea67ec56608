-- Back to the four roles: refused (by the CHECK) while a commune account exists.
PRAGMA defer_foreign_keys = ON;
CREATE TEMP TABLE web_sessions_kept AS SELECT * FROM web_sessions;
CREATE TEMP TABLE personal_tokens_kept AS SELECT * FROM personal_tokens;
CREATE TABLE users_old (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    full_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('applicant', 'reviewer', 'staff', 'admin')),
    created_at TIMESTAMP NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    generation INTEGER NOT NULL DEFAULT 0,
    email_verified_at TIMESTAMP NULL,
    erased_at TIMESTAMP NULL
);
INSERT INTO users_old SELECT id, email, password_hash, full_name, role, created_at, active,
    generation, email_verified_at, erased_at FROM users;
DROP TABLE users;
ALTER TABLE users_old RENAME TO users;
CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE INDEX users_role_idx ON users (role, created_at);
INSERT INTO web_sessions SELECT * FROM web_sessions_kept;
INSERT INTO personal_tokens SELECT * FROM personal_tokens_kept;
DROP TABLE web_sessions_kept;
DROP TABLE personal_tokens_kept;

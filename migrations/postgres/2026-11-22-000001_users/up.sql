-- Accounts. IDs are UUID v7 kept as text so the same schema works on SQLite;
-- instants are UTC timestamps without zone (the application stores UTC only).
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    full_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('applicant', 'reviewer', 'staff', 'admin')),
    created_at TIMESTAMP NOT NULL
);
-- Emails are stored normalised (trimmed, lower-case): a plain unique index suffices.
CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE INDEX users_role_idx ON users (role, created_at);

-- Personal access tokens (DESIGN.md §14): a reviewer's or an agent's tool works with one instead
-- of a password. Only the SHA-256 of the secret is kept (the secret is random, 256 bits: no
-- slow hash needed), so a copy of the table opens nothing. `hint` is the secret's first
-- characters after the prefix, for the owner to tell tokens apart. `scopes` is space-separated.
-- `generation` is the owner's generation at creation: a deactivation, a role or a password
-- change ends the token, as it ends sessions. `last_used_at` is written at most once a minute.
CREATE TABLE personal_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    hint TEXT NOT NULL,
    scopes TEXT NOT NULL,
    generation INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE INDEX personal_tokens_user_idx ON personal_tokens (user_id);

-- Web sessions (DESIGN.md §13): a row per signed-in browser, named by an opaque random
-- cookie of which only the SHA-256 is kept, so a copy of the table signs no one in.
-- `csrf_token` is the synchronizer token the session's forms carry; `data` holds what the
-- pages keep between two requests (the steps of an application not yet created).
CREATE TABLE web_sessions (
    id_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{}',
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL
);
CREATE INDEX web_sessions_user_idx ON web_sessions (user_id);

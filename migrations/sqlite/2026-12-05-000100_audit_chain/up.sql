-- A tamper-evident audit trail (DESIGN.md §18, issue 32). Each event gets its place in the
-- chain (`seq`, 1, 2, 3… in the order of writing), the salt and commitment of its payload,
-- its leaf hash and the chain hash. Existing rows are numbered here, oldest first (`at`,
-- then the time-ordered `id`); SQL cannot hash, so their salts and hashes are written by
-- `db::audit::backfill_chain` right after the migrations run (idempotent: it fills only rows
-- without a chain hash, in `seq` order).
--
-- Erasure and retention now clear a payload and its salt, never the row: `payload` becomes
-- nullable, and `application_id` loses its foreign key (the events of a deleted draft stay
-- in the chain, naming an id that no longer exists). SQLite cannot alter a column: the
-- table is rebuilt (nothing references it).
CREATE TABLE audit_events_new (
    id TEXT PRIMARY KEY,
    seq BIGINT NOT NULL,
    application_id TEXT NULL,
    call_id TEXT NULL REFERENCES calls (id),
    actor_id TEXT NULL REFERENCES users (id),
    action TEXT NOT NULL,
    from_state TEXT NULL,
    to_state TEXT NULL,
    payload TEXT NULL,
    at TIMESTAMP NOT NULL,
    salt TEXT NULL,
    commitment TEXT NULL,
    leaf TEXT NULL,
    chain TEXT NULL
);
INSERT INTO audit_events_new (id, seq, application_id, call_id, actor_id, action, from_state,
    to_state, payload, at)
SELECT id, ROW_NUMBER() OVER (ORDER BY at, id), application_id, call_id, actor_id, action,
    from_state, to_state, payload, at FROM audit_events;
DROP TABLE audit_events;
ALTER TABLE audit_events_new RENAME TO audit_events;
CREATE UNIQUE INDEX audit_events_seq_key ON audit_events (seq);
CREATE INDEX audit_events_application_idx ON audit_events (application_id, at);
CREATE INDEX audit_events_call_idx ON audit_events (call_id, at);
CREATE INDEX audit_events_actor_idx ON audit_events (actor_id);

-- Signed statements `{size, root, at}`: the chain held `size` events whose head was `root`.
CREATE TABLE audit_checkpoints (
    id TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    root TEXT NOT NULL,
    at TIMESTAMP NOT NULL,
    public_key TEXT NOT NULL,
    signature TEXT NOT NULL
);
CREATE INDEX audit_checkpoints_at_idx ON audit_checkpoints (at);

-- A tamper-evident audit trail (DESIGN.md §18, issue 32). Each event gets its place in the
-- chain (`seq`, 1, 2, 3… in the order of writing), the salt and commitment of its payload,
-- its leaf hash and the chain hash. Existing rows are numbered here, oldest first (`at`,
-- then the time-ordered `id`); their salts and hashes are written by
-- `db::audit::backfill_chain` right after the migrations run (the same Rust code as for a new
-- event, on both databases; idempotent: it fills only rows without a chain hash, in `seq`
-- order).
--
-- Erasure and retention now clear a payload and its salt, never the row: `payload` becomes
-- nullable, and `application_id` loses its foreign key (the events of a deleted draft stay
-- in the chain, naming an id that no longer exists).
ALTER TABLE audit_events DROP CONSTRAINT IF EXISTS audit_events_application_id_fkey;
ALTER TABLE audit_events ALTER COLUMN payload DROP NOT NULL;
ALTER TABLE audit_events
    ADD COLUMN seq BIGINT NULL,
    ADD COLUMN salt TEXT NULL,
    ADD COLUMN commitment TEXT NULL,
    ADD COLUMN leaf TEXT NULL,
    ADD COLUMN chain TEXT NULL;
UPDATE audit_events e SET seq = n.rn
FROM (SELECT id, row_number() OVER (ORDER BY at, id) AS rn FROM audit_events) n
WHERE e.id = n.id;
ALTER TABLE audit_events ALTER COLUMN seq SET NOT NULL;
CREATE UNIQUE INDEX audit_events_seq_key ON audit_events (seq);
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

-- Personal data under the RGPD (issue 20): what the retention job and the erasure of an
-- account record, and the lease that lets one instance at a time run the daily purge.

-- A purge or an erasure is done by essor itself, not by an account: its audit events have
-- no actor. SQLite cannot drop a NOT NULL: the table is rebuilt (nothing references it).
CREATE TABLE audit_events_new (
    id TEXT PRIMARY KEY,
    application_id TEXT NULL REFERENCES applications (id),
    call_id TEXT NULL REFERENCES calls (id),
    actor_id TEXT NULL REFERENCES users (id),
    action TEXT NOT NULL,
    from_state TEXT NULL,
    to_state TEXT NULL,
    payload TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);
INSERT INTO audit_events_new SELECT id, application_id, call_id, actor_id, action, from_state,
    to_state, payload, at FROM audit_events;
DROP TABLE audit_events;
ALTER TABLE audit_events_new RENAME TO audit_events;
CREATE INDEX audit_events_application_idx ON audit_events (application_id, at);
CREATE INDEX audit_events_call_idx ON audit_events (call_id, at);

-- An erased account keeps its row (the applications, reviews and audit events of the
-- public-money record point to it) with its name and address replaced.
ALTER TABLE users ADD COLUMN erased_at TIMESTAMP NULL;

-- A draft never submitted: when its owner was warned of its deletion.
ALTER TABLE applications ADD COLUMN purge_warned_at TIMESTAMP NULL;
-- An unsuccessful or withdrawn application past the period of appeal: when its personal data
-- (documents, the organisation's address) were removed.
ALTER TABLE applications ADD COLUMN minimised_at TIMESTAMP NULL;
CREATE INDEX applications_updated_idx ON applications (state, updated_at);

-- A sent mail whose body was removed (the row keeps who, what event, when).
ALTER TABLE outbox ADD COLUMN body_purged_at TIMESTAMP NULL;
CREATE INDEX outbox_sent_idx ON outbox (sent_at);

-- Jobs that one instance at a time runs: a lease (`holder` until `lease_until`) and when the
-- job last finished.
CREATE TABLE job_leases (
    name TEXT PRIMARY KEY,
    holder TEXT NULL,
    lease_until TIMESTAMP NULL,
    last_run_at TIMESTAMP NULL
);
INSERT INTO job_leases (name) VALUES ('retention');

DROP TABLE audit_checkpoints;
CREATE TABLE audit_events_old (
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
INSERT INTO audit_events_old SELECT id, application_id, call_id, actor_id, action, from_state,
    to_state, COALESCE(payload, '{}'), at FROM audit_events
    WHERE application_id IS NULL OR application_id IN (SELECT id FROM applications);
DROP TABLE audit_events;
ALTER TABLE audit_events_old RENAME TO audit_events;
CREATE INDEX audit_events_application_idx ON audit_events (application_id, at);
CREATE INDEX audit_events_call_idx ON audit_events (call_id, at);

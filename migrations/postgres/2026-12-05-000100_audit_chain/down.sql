DROP TABLE audit_checkpoints;
DROP INDEX audit_events_actor_idx;
DROP INDEX audit_events_seq_key;
ALTER TABLE audit_events DROP COLUMN seq, DROP COLUMN salt, DROP COLUMN commitment,
    DROP COLUMN leaf, DROP COLUMN chain;
DELETE FROM audit_events WHERE application_id IS NOT NULL
    AND application_id NOT IN (SELECT id FROM applications);
UPDATE audit_events SET payload = '{}' WHERE payload IS NULL;
ALTER TABLE audit_events ALTER COLUMN payload SET NOT NULL;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_application_id_fkey
    FOREIGN KEY (application_id) REFERENCES applications (id);

DROP TABLE job_leases;
DROP INDEX outbox_sent_idx;
ALTER TABLE outbox DROP COLUMN body_purged_at;
DROP INDEX applications_updated_idx;
ALTER TABLE applications DROP COLUMN minimised_at;
ALTER TABLE applications DROP COLUMN purge_warned_at;
ALTER TABLE users DROP COLUMN erased_at;
DELETE FROM audit_events WHERE actor_id IS NULL;
ALTER TABLE audit_events ALTER COLUMN actor_id SET NOT NULL;

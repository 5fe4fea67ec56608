DROP TABLE throttle_events;
DROP TABLE account_tokens;
ALTER TABLE users DROP COLUMN email_verified_at;
ALTER TABLE users DROP COLUMN generation;
ALTER TABLE users DROP COLUMN active;

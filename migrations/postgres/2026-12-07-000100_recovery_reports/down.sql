DROP TABLE grant_reports;
ALTER TABLE grants DROP COLUMN recovery_requested_at;
ALTER TABLE grants DROP COLUMN recovery_motivation;
ALTER TABLE grants DROP COLUMN recovery_cents;

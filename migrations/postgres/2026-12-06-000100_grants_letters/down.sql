ALTER TABLE outbox DROP COLUMN letter_id;
DROP TABLE instalments;
DROP TABLE grant_reminders;
DROP TABLE letters;
DROP TABLE grants;
ALTER TABLE calls DROP COLUMN instalment_schedule;
ALTER TABLE calls DROP COLUMN report_due_months;
ALTER TABLE calls DROP COLUMN convention_threshold_cents;
ALTER TABLE calls DROP COLUMN convention;

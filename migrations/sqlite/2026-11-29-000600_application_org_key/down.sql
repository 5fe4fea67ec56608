DROP INDEX applications_call_org_key;
ALTER TABLE applications DROP COLUMN org_key;

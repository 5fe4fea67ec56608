DROP INDEX applications_applicant_idx;
CREATE INDEX applications_applicant_idx ON applications (applicant_id, created_at);
DROP INDEX applications_created_idx;
DROP INDEX applications_state_idx;
DROP INDEX applications_call_state_idx;
CREATE INDEX applications_call_state_idx ON applications (call_id, state, created_at);

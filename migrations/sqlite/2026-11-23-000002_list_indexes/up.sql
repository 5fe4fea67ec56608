-- Lists page with OFFSET in (created_at, id) order: each filter gets an index that holds the
-- whole sort key, so the skipped rows are read from the index alone, never from the table
-- (whose rows carry the large JSON body and report). Found by bench/run: page 250 of the
-- under-review list of 100 000 applications took 1.5 s on SQLite.
DROP INDEX applications_call_state_idx;
CREATE INDEX applications_call_state_idx ON applications (call_id, state, created_at, id);
CREATE INDEX applications_state_idx ON applications (state, created_at, id);
CREATE INDEX applications_created_idx ON applications (created_at, id);
DROP INDEX applications_applicant_idx;
CREATE INDEX applications_applicant_idx ON applications (applicant_id, created_at, id);

-- The territory's figures without reading the rows (issue 29, measured on bench/run's 100 000
-- applications): every column the statistics and the public page of awarded projects read, in
-- two covering indexes, read by index-only scans once autovacuum has marked the pages visible:
-- 152 ms of queries per GET /territory and 111 ms per public page, 87 ms and 53 ms with these
-- indexes (SQLite, where the rows' JSON spills into overflow pages, gains more: its twin).
-- The statistics join application_communes to applications by id, then sum by state.
CREATE INDEX applications_territory_idx ON applications
    (id, submitted_at, call_id, state, eligibility_verdict, awarded_cents, referred_by_commune);
-- The public page reads the accepted applications of a year of decision.
CREATE INDEX applications_awarded_idx ON applications
    (state, decided_at, id, call_id, awarded_cents, committee_date, reference, organisation_name,
     project_title);

-- The territory's figures without reading the rows (issue 29, measured on bench/run's 100 000
-- applications): every column the statistics and the public page of awarded projects read, in
-- two covering indexes. On SQLite the columns they filter on (submitted_at, awarded_cents,
-- decided_at, referred_by_commune) sit after each row's JSON body and eligibility (~6 KB),
-- so reading them walked the overflow pages of every row: 0.53 s of queries per
-- GET /territory and 95 ms per public page, 0.14 s and 32 ms with these indexes.
-- The statistics join application_communes to applications by id, then sum by state.
CREATE INDEX applications_territory_idx ON applications
    (id, submitted_at, call_id, state, eligibility_verdict, awarded_cents, referred_by_commune);
-- The public page reads the accepted applications of a year of decision.
CREATE INDEX applications_awarded_idx ON applications
    (state, decided_at, id, call_id, awarded_cents, committee_date, reference, organisation_name,
     project_title);

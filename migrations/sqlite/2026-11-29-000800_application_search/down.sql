DROP INDEX applications_call_search_idx;
DROP INDEX applications_call_commune_idx;
ALTER TABLE applications DROP COLUMN commune_insee;
ALTER TABLE applications DROP COLUMN search_text;

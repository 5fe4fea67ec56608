-- The agents' search and commune filter (issue 17, issue 15). `search_text` is the folded
-- (lower case, accents removed) text of the reference, SIRET, RNA, organisation name and
-- project title, written by the application service on every change; `commune_insee` is the
-- organisation's commune, copied out of the JSON body. Existing rows are filled by
-- `db::applications::backfill_search` right after the migrations run (the folding is Rust's,
-- the same on both databases).
ALTER TABLE applications ADD COLUMN search_text TEXT;
ALTER TABLE applications ADD COLUMN commune_insee TEXT;
CREATE INDEX applications_call_commune_idx ON applications (call_id, commune_insee, created_at, id);
-- A search reads this index, not the table: `LIKE '%…%'` cannot seek, but scanning these narrow
-- entries is far cheaper than walking the rows, whose large JSON columns come first (on SQLite
-- the folded text sits after them, behind their overflow pages).
CREATE INDEX applications_call_search_idx ON applications (call_id, search_text, created_at, id);

-- One application per structure and call (DESIGN.md §7): the SIRET, or the RNA number when
-- there is none, as `siret:<digits>` / `rna:<W…>`, NULL when neither is given. The partial
-- unique index makes the rule hold under concurrent creations; a withdrawn application frees
-- the key.
ALTER TABLE applications ADD COLUMN org_key TEXT NULL;

UPDATE applications SET org_key = CASE
    WHEN COALESCE(REPLACE(json_extract(body, '$.organisation.siret'), ' ', ''), '') <> ''
        THEN 'siret:' || REPLACE(json_extract(body, '$.organisation.siret'), ' ', '')
    WHEN COALESCE(REPLACE(json_extract(body, '$.organisation.rna'), ' ', ''), '') <> ''
        THEN 'rna:' || REPLACE(json_extract(body, '$.organisation.rna'), ' ', '')
END;

-- Duplicates filed before the rule existed: the oldest keeps the key, the later ones are left
-- without one (they stay readable and workable; the index would otherwise refuse to build).
UPDATE applications SET org_key = NULL
WHERE state <> 'withdrawn' AND org_key IS NOT NULL AND EXISTS (
    SELECT 1 FROM applications AS first
    WHERE first.call_id = applications.call_id
      AND first.org_key = applications.org_key
      AND first.state <> 'withdrawn'
      AND (first.created_at < applications.created_at
           OR (first.created_at = applications.created_at AND first.id < applications.id))
);

CREATE UNIQUE INDEX applications_call_org_key ON applications (call_id, org_key)
    WHERE state <> 'withdrawn';

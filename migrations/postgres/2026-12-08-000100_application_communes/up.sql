-- The communes where each application's activity takes place (`project.activity_communes`,
-- DESIGN.md §16), one row per commune, Lomme (59355) and Hellemmes-Lille (59298) counted as
-- Lille (59350): the territory's statistics group on it without reading every body, and a
-- commune's accounts will find their applications by it. Written with the body, in the same
-- transaction (services::applications).
CREATE TABLE application_communes (
    application_id TEXT NOT NULL REFERENCES applications (id),
    commune_insee TEXT NOT NULL,
    PRIMARY KEY (application_id, commune_insee)
);
CREATE INDEX application_communes_commune ON application_communes (commune_insee, application_id);

-- The applications written before this table: their bodies' communes.
INSERT INTO application_communes (application_id, commune_insee)
SELECT DISTINCT a.id,
       CASE j.value WHEN '59355' THEN '59350' WHEN '59298' THEN '59350' ELSE j.value END
FROM applications a,
     jsonb_array_elements_text(
         CASE WHEN jsonb_typeof(a.body::jsonb -> 'project' -> 'activity_communes') = 'array'
              THEN a.body::jsonb -> 'project' -> 'activity_communes'
              ELSE '[]'::jsonb END) AS j(value);

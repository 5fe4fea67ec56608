-- The companies' register (DESIGN.md §17). `registry_cache` keeps the register's answers a
-- day, shared by every instance; `registry_evidence` is what the register said of an
-- application's SIRET at its submission, kept as the register's own text with its SHA-256 so
-- that an auditor can check it was not changed since.
CREATE TABLE registry_cache (
    siret TEXT PRIMARY KEY NOT NULL,
    fetched_at TIMESTAMP NOT NULL,
    answer TEXT NOT NULL
);

CREATE TABLE registry_evidence (
    application_id TEXT PRIMARY KEY NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    siret TEXT NOT NULL,
    source TEXT NOT NULL,
    -- `found`, `not_found` or `unavailable` (the register could not be read: retried daily).
    status TEXT NOT NULL,
    retrieved_at TIMESTAMP NOT NULL,
    answer TEXT,
    answer_sha256 TEXT,
    error TEXT
);

CREATE INDEX registry_evidence_status ON registry_evidence (status);

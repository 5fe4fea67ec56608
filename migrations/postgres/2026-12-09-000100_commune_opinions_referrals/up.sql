-- A commune's opinion on an application taking place there, and its referrals of project
-- holders (DESIGN.md §16).

-- How long a commune has to give its opinion after a submission (the decision closes it
-- sooner), and whether the committee's reviewers read those opinions.
ALTER TABLE calls ADD COLUMN commune_opinion_days INTEGER NOT NULL DEFAULT 21
    CHECK (commune_opinion_days BETWEEN 1 AND 120);
ALTER TABLE calls ADD COLUMN reviewers_see_commune_opinions BOOLEAN NOT NULL DEFAULT FALSE;

-- One opinion per commune and application, editable until its deadline; each write is also
-- in the audit trail (`commune-opinion`).
CREATE TABLE commune_opinions (
    application_id TEXT NOT NULL REFERENCES applications (id),
    commune_insee TEXT NOT NULL,
    opinion TEXT NOT NULL CHECK (opinion IN ('favorable', 'reserved', 'unfavorable')),
    comment TEXT NOT NULL,
    author_id TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (application_id, commune_insee)
);

-- A commune recommends the call to a project holder: the holder is mailed the call's page
-- with `code`; an application started from it carries the commune.
CREATE TABLE referrals (
    id TEXT PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    commune_insee TEXT NOT NULL,
    call_id TEXT NOT NULL REFERENCES calls (id),
    organisation_name TEXT NOT NULL,
    email TEXT NOT NULL,
    message TEXT NOT NULL,
    author_id TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX referrals_commune ON referrals (commune_insee, created_at);

ALTER TABLE applications ADD COLUMN referred_by_commune TEXT NULL;

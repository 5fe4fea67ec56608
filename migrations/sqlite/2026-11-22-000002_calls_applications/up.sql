-- Calls for projects. JSON columns are TEXT so that one schema serves both backends.
CREATE TABLE calls (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    rules_version TEXT NOT NULL,
    -- Submission window, stored as UTC instants (entered as Europe/Paris wall-clock times).
    opens_at TIMESTAMP NULL,
    closes_at TIMESTAMP NULL,
    budget_cents BIGINT NOT NULL CHECK (budget_cents >= 0),
    max_award_cents BIGINT NOT NULL CHECK (max_award_cents > 0),
    max_budget_share_pct INTEGER NULL CHECK (max_budget_share_pct BETWEEN 1 AND 100),
    territory TEXT NOT NULL,
    min_reviews INTEGER NOT NULL CHECK (min_reviews >= 1),
    scoring_grid TEXT NOT NULL,
    required_documents TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('draft', 'published', 'closed')),
    version INTEGER NOT NULL,
    -- Sum of the amounts awarded so far; the envelope check updates it under a row lock.
    awarded_cents BIGINT NOT NULL DEFAULT 0 CHECK (awarded_cents >= 0 AND awarded_cents <= budget_cents),
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    published_at TIMESTAMP NULL,
    closed_at TIMESTAMP NULL
);
CREATE INDEX calls_state_idx ON calls (state, created_at);

-- One row per year: the last reference number handed out. Incremented in the creating
-- transaction, so a rolled-back creation gives its number back (references stay gap-free).
CREATE TABLE reference_counters (
    year INTEGER PRIMARY KEY,
    last_value INTEGER NOT NULL
);

CREATE TABLE applications (
    id TEXT PRIMARY KEY,
    reference TEXT NOT NULL,
    call_id TEXT NOT NULL REFERENCES calls (id),
    applicant_id TEXT NOT NULL REFERENCES users (id),
    state TEXT NOT NULL CHECK (state IN ('draft', 'submitted', 'changes_requested', 'ineligible',
                                         'under_review', 'accepted', 'rejected', 'withdrawn')),
    version INTEGER NOT NULL,
    -- The declarative body (organisation, project, ess) as JSON.
    body TEXT NOT NULL,
    organisation_name TEXT NOT NULL,
    project_title TEXT NOT NULL,
    requested_cents BIGINT NOT NULL CHECK (requested_cents >= 0),
    -- The eligibility report stored at submission, with staff's readings added later.
    eligibility TEXT NULL,
    eligibility_verdict TEXT NULL,
    awarded_cents BIGINT NULL CHECK (awarded_cents > 0),
    decision_motivation TEXT NULL,
    committee_date DATE NULL,
    decision_reference TEXT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    submitted_at TIMESTAMP NULL,
    decided_at TIMESTAMP NULL
);
CREATE UNIQUE INDEX applications_reference_key ON applications (reference);
CREATE INDEX applications_call_state_idx ON applications (call_id, state, created_at);
CREATE INDEX applications_applicant_idx ON applications (applicant_id, created_at);

CREATE TABLE application_documents (
    id TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications (id),
    kind TEXT NOT NULL,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL CHECK (size_bytes > 0),
    sha256 TEXT NOT NULL,
    uploaded_by TEXT NOT NULL REFERENCES users (id),
    uploaded_at TIMESTAMP NOT NULL
);
CREATE INDEX application_documents_application_idx ON application_documents (application_id, uploaded_at);

-- Reviewers assigned to an application (created by start-review or added later).
CREATE TABLE assignments (
    id TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications (id),
    reviewer_id TEXT NOT NULL REFERENCES users (id),
    status TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'recused')),
    statement TEXT NULL,
    recusal_reason TEXT NULL,
    assigned_by TEXT NOT NULL REFERENCES users (id),
    assigned_at TIMESTAMP NOT NULL,
    responded_at TIMESTAMP NULL
);
CREATE UNIQUE INDEX assignments_application_reviewer_key ON assignments (application_id, reviewer_id);
CREATE INDEX assignments_reviewer_idx ON assignments (reviewer_id, assigned_at);

-- Who did what, when: every transition and edit, for the auditors.
CREATE TABLE audit_events (
    id TEXT PRIMARY KEY,
    application_id TEXT NULL REFERENCES applications (id),
    call_id TEXT NULL REFERENCES calls (id),
    actor_id TEXT NOT NULL REFERENCES users (id),
    action TEXT NOT NULL,
    from_state TEXT NULL,
    to_state TEXT NULL,
    payload TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX audit_events_application_idx ON audit_events (application_id, at);
CREATE INDEX audit_events_call_idx ON audit_events (call_id, at);

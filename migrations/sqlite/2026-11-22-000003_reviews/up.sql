-- A reviewer's review of an application: one per assignment, a draft until submitted.
CREATE TABLE reviews (
    id TEXT PRIMARY KEY,
    assignment_id TEXT NOT NULL REFERENCES assignments (id),
    application_id TEXT NOT NULL REFERENCES applications (id),
    reviewer_id TEXT NOT NULL REFERENCES users (id),
    -- {"criterion key": integer score}, exactly the keys of the call's grid.
    scores TEXT NOT NULL,
    comment TEXT NOT NULL,
    recommendation TEXT NOT NULL CHECK (recommendation IN ('favorable', 'reserved', 'unfavorable')),
    status TEXT NOT NULL CHECK (status IN ('draft', 'submitted')),
    -- The review's score (0-100) in hundredths, computed when it is submitted.
    score_hundredths INTEGER NULL CHECK (score_hundredths BETWEEN 0 AND 10000),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    submitted_at TIMESTAMP NULL
);
CREATE UNIQUE INDEX reviews_assignment_key ON reviews (assignment_id);
CREATE INDEX reviews_application_idx ON reviews (application_id, status);

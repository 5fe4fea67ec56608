CREATE TABLE reviews_old (
    id TEXT PRIMARY KEY,
    assignment_id TEXT NOT NULL REFERENCES assignments (id),
    application_id TEXT NOT NULL REFERENCES applications (id),
    reviewer_id TEXT NOT NULL REFERENCES users (id),
    scores TEXT NOT NULL,
    comment TEXT NOT NULL,
    recommendation TEXT NOT NULL CHECK (recommendation IN ('favorable', 'reserved', 'unfavorable')),
    status TEXT NOT NULL CHECK (status IN ('draft', 'submitted')),
    score_hundredths INTEGER NULL CHECK (score_hundredths BETWEEN 0 AND 10000),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    submitted_at TIMESTAMP NULL
);
INSERT INTO reviews_old SELECT id, assignment_id, application_id, reviewer_id, scores, comment,
    COALESCE(recommendation, 'reserved'), status, score_hundredths, created_at, updated_at,
    submitted_at FROM reviews;
DROP TABLE reviews;
ALTER TABLE reviews_old RENAME TO reviews;
CREATE UNIQUE INDEX reviews_assignment_key ON reviews (assignment_id);
CREATE INDEX reviews_application_idx ON reviews (application_id, status);

-- A draft may be partial (DESIGN.md §9): its recommendation may not be chosen yet. Submission
-- still needs one (the service checks it). SQLite changes a column by rebuilding the table
-- (no table references reviews).
CREATE TABLE reviews_new (
    id TEXT PRIMARY KEY,
    assignment_id TEXT NOT NULL REFERENCES assignments (id),
    application_id TEXT NOT NULL REFERENCES applications (id),
    reviewer_id TEXT NOT NULL REFERENCES users (id),
    -- {"criterion key": integer score}: some keys of the call's grid in a draft, all once submitted.
    scores TEXT NOT NULL,
    comment TEXT NOT NULL,
    recommendation TEXT NULL CHECK (recommendation IN ('favorable', 'reserved', 'unfavorable')),
    status TEXT NOT NULL CHECK (status IN ('draft', 'submitted')),
    -- The review's score (0-100) in hundredths, computed when it is submitted.
    score_hundredths INTEGER NULL CHECK (score_hundredths BETWEEN 0 AND 10000),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    submitted_at TIMESTAMP NULL,
    CHECK (status = 'draft' OR recommendation IS NOT NULL)
);
INSERT INTO reviews_new SELECT id, assignment_id, application_id, reviewer_id, scores, comment,
    recommendation, status, score_hundredths, created_at, updated_at, submitted_at FROM reviews;
DROP TABLE reviews;
ALTER TABLE reviews_new RENAME TO reviews;
CREATE UNIQUE INDEX reviews_assignment_key ON reviews (assignment_id);
CREATE INDEX reviews_application_idx ON reviews (application_id, status);

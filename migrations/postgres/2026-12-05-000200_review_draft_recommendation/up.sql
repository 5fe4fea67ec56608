-- A draft may be partial (DESIGN.md §9): its recommendation may not be chosen yet. Submission
-- still needs one (the service checks it).
ALTER TABLE reviews ALTER COLUMN recommendation DROP NOT NULL;
ALTER TABLE reviews ADD CONSTRAINT reviews_submitted_recommendation
    CHECK (status = 'draft' OR recommendation IS NOT NULL);

ALTER TABLE reviews DROP CONSTRAINT reviews_submitted_recommendation;
UPDATE reviews SET recommendation = 'reserved' WHERE recommendation IS NULL;
ALTER TABLE reviews ALTER COLUMN recommendation SET NOT NULL;

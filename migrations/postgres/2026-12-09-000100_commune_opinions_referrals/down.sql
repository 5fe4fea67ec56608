ALTER TABLE applications DROP COLUMN referred_by_commune;
DROP TABLE referrals;
DROP TABLE commune_opinions;
ALTER TABLE calls DROP COLUMN reviewers_see_commune_opinions;
ALTER TABLE calls DROP COLUMN commune_opinion_days;

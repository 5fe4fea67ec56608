-- A commune's account (role `commune`, DESIGN.md §16) reads the applications whose activity
-- takes place in its commune: which commune is its, by INSEE code (one of the MEL's 95; Lomme
-- and Hellemmes-Lille are stored as Lille's), set for that role and no other.
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check
    CHECK (role IN ('applicant', 'reviewer', 'staff', 'admin', 'commune'));
ALTER TABLE users ADD COLUMN commune_insee TEXT NULL;
ALTER TABLE users ADD CONSTRAINT users_commune_check
    CHECK ((role = 'commune') = (commune_insee IS NOT NULL));
CREATE INDEX users_commune_idx ON users (commune_insee) WHERE commune_insee IS NOT NULL;

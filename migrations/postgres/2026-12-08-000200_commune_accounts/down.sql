-- Back to the four roles: refused (by the CHECK) while a commune account exists.
DROP INDEX users_commune_idx;
ALTER TABLE users DROP CONSTRAINT users_commune_check;
ALTER TABLE users DROP COLUMN commune_insee;
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check
    CHECK (role IN ('applicant', 'reviewer', 'staff', 'admin'));

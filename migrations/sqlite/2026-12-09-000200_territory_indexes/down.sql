DROP INDEX applications_awarded_idx;
DROP INDEX applications_territory_idx;

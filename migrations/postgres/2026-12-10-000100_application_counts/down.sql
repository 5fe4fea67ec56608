DROP TRIGGER application_counts_update ON applications;
DROP TRIGGER application_counts_insert_delete ON applications;
DROP FUNCTION application_counts_keep();
DROP FUNCTION application_counts_add(TEXT, TEXT, BIGINT);
DROP TABLE application_counts;

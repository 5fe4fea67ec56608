DROP TABLE application_communes;

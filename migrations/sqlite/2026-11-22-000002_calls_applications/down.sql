DROP TABLE audit_events;
DROP TABLE assignments;
DROP TABLE application_documents;
DROP TABLE applications;
DROP TABLE reference_counters;
DROP TABLE calls;

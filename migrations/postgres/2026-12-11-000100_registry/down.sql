DROP TABLE registry_evidence;
DROP TABLE registry_cache;

DROP TABLE proconnect_flows;
DROP TABLE proconnect_identities;

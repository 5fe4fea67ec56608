-- ProConnect (DESIGN.md §17). An account is linked to the identity ProConnect vouches for by
-- (`sub`, `idp_id`): the subject is only unique within its identity provider. A sign-in under
-- way keeps its `state` and `nonce` server-side, bound to the browser that started it (the
-- hash of a random cookie), used once and for ten minutes at most.
CREATE TABLE proconnect_identities (
    sub TEXT NOT NULL,
    idp_id TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    siret TEXT,
    linked_at TIMESTAMP NOT NULL,
    last_sign_in_at TIMESTAMP NOT NULL,
    PRIMARY KEY (sub, idp_id)
);

CREATE INDEX proconnect_identities_user ON proconnect_identities (user_id);

CREATE TABLE proconnect_flows (
    state TEXT PRIMARY KEY NOT NULL,
    browser_hash TEXT NOT NULL,
    nonce TEXT NOT NULL,
    acr TEXT NOT NULL,
    return_to TEXT,
    created_at TIMESTAMP NOT NULL
);

-- After the decision (DESIGN.md §15): the grant of an accepted application, its own state
-- machine (moved by services::runner only), and the letters essor writes, kept as issued.

-- The call's rule for conventions (loi n° 2000-321 art. 10: required above 23 000 €) and
-- when the final report falls due after the project's end.
ALTER TABLE calls ADD COLUMN convention TEXT NOT NULL DEFAULT 'above_threshold'
    CHECK (convention IN ('always', 'above_threshold', 'never'));
ALTER TABLE calls ADD COLUMN convention_threshold_cents BIGINT NOT NULL DEFAULT 2300000
    CHECK (convention_threshold_cents >= 0);
ALTER TABLE calls ADD COLUMN report_due_months INTEGER NOT NULL DEFAULT 6
    CHECK (report_due_months BETWEEN 1 AND 36);
-- The call's payment schedule (JSON: [{label, percent, trigger}], checked by the service to
-- sum to 100 %): by default 80 % « Avance » on the signature, 20 % « Solde » on the report.
ALTER TABLE calls ADD COLUMN instalment_schedule TEXT NOT NULL DEFAULT
    '[{"label":"Avance","percent":80,"trigger":"signature"},{"label":"Solde","percent":20,"trigger":"report_approved"}]';

CREATE TABLE grants (
    id TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications (id),
    call_id TEXT NOT NULL REFERENCES calls (id),
    awarded_cents BIGINT NOT NULL CHECK (awarded_cents > 0),
    state TEXT NOT NULL CHECK (state IN ('awarded', 'awaiting_signature', 'signed', 'running',
        'report_submitted', 'report_changes_requested', 'report_approved',
        'recovery_requested', 'lapsed', 'closed')),
    convention_required BOOLEAN NOT NULL,
    report_due_on DATE NOT NULL,
    -- The convention's signature by the beneficiary's legal representative (§15): who, in
    -- which quality, when; then staff's countersignature (the SCDL's dateConvention).
    signatory_name TEXT NULL,
    signatory_quality TEXT NULL,
    signed_at TIMESTAMP NULL,
    countersigned_at TIMESTAMP NULL,
    countersigned_by TEXT NULL REFERENCES users (id),
    -- The bank details the beneficiary gave (§15): the IBAN in its electronic form, checked
    -- (ISO 13616, mod 97) before it is written; shown whole to staff only.
    bank_iban TEXT NULL,
    bank_bic TEXT NULL,
    bank_holder TEXT NULL,
    bank_details_at TIMESTAMP NULL,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
-- One grant per application: a second decision cannot award twice.
CREATE UNIQUE INDEX grants_application_key ON grants (application_id);
CREATE INDEX grants_call_state_idx ON grants (call_id, state);

-- A letter never changes once issued: a correction is a new row. Its digest is also in the
-- audit event that issued it.
CREATE TABLE letters (
    id TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications (id),
    grant_id TEXT NULL REFERENCES grants (id),
    kind TEXT NOT NULL CHECK (kind IN ('award', 'refusal', 'ineligibility', 'convention',
        'signed_convention', 'countersigned_convention', 'recovery')),
    sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
    size_bytes BIGINT NOT NULL,
    -- What the template read (JSON), for a letter rendered again with more: the signed
    -- convention is the convention's own inputs and a signature page. NULL for a scanned copy.
    inputs TEXT NULL,
    content BLOB NOT NULL,
    issued_at TIMESTAMP NOT NULL
);
CREATE INDEX letters_application_idx ON letters (application_id, issued_at);

-- The decision mail carries its letter: the outbox keeps a reference, not a copy of the bytes
-- (the worker attaches the stored PDF when it sends).
ALTER TABLE outbox ADD COLUMN letter_id TEXT NULL;

-- The reminders sent about a grant (the convention unsigned at 7 and 21 days…): each kind
-- once per grant, whichever instance sends it (the key refuses a second).
CREATE TABLE grant_reminders (
    grant_id TEXT NOT NULL REFERENCES grants (id),
    kind TEXT NOT NULL,
    sent_at TIMESTAMP NOT NULL,
    PRIMARY KEY (grant_id, kind)
);

-- The instalments of a grant (§15): the call's schedule, each line its amount (they sum to
-- the award exactly), moved by services::runner only. essor requests one when its trigger
-- has fired and the bank details exist; the finance service orders and pays it.
CREATE TABLE instalments (
    id TEXT PRIMARY KEY,
    grant_id TEXT NOT NULL REFERENCES grants (id),
    position INTEGER NOT NULL CHECK (position >= 1),
    label TEXT NOT NULL,
    percent INTEGER NOT NULL CHECK (percent BETWEEN 1 AND 100),
    fires_on TEXT NOT NULL CHECK (fires_on IN ('award', 'signature', 'report_approved')),
    amount_cents BIGINT NOT NULL CHECK (amount_cents >= 0),
    state TEXT NOT NULL CHECK (state IN ('planned', 'requested', 'ordered', 'paid', 'cancelled')),
    mandate_reference TEXT NULL,
    paid_on DATE NULL,
    requested_at TIMESTAMP NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX instalments_grant_position_key ON instalments (grant_id, position);
CREATE INDEX instalments_state_idx ON instalments (state, grant_id);

-- A recovery (reversement, §15): what staff asked back, why, and when. The grant's state says
-- where it stands (`recovery_requested`, then `closed`).
ALTER TABLE grants ADD COLUMN recovery_cents BIGINT NULL;
ALTER TABLE grants ADD COLUMN recovery_motivation TEXT NULL;
ALTER TABLE grants ADD COLUMN recovery_requested_at TIMESTAMP NULL;

-- The final report (compte rendu financier, Cerfa n° 15059, §15): one per grant, a draft the
-- beneficiary saves as often as they like (`body`, JSON: budget lines, explanation, narrative,
-- indicators) until they submit it. Where it stands is the grant's state (`report_submitted`,
-- `report_changes_requested`, `report_approved`), moved by services::runner only.
CREATE TABLE grant_reports (
    grant_id TEXT PRIMARY KEY REFERENCES grants (id),
    body TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    submitted_at TIMESTAMP NULL,
    changes_message TEXT NULL,
    approved_at TIMESTAMP NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

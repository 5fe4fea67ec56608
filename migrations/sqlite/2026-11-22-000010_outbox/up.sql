-- The mail outbox (DESIGN.md §10): a transition inserts its rendered mails here in its own
-- transaction; the delivery worker of any instance claims them (FOR UPDATE SKIP LOCKED and a
-- lease), sends them and records the outcome. One row per recipient.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    -- "<{id}@{domain}>", sent as the Message-ID header: a resend after a crash carries the
    -- same one, so it is recognisable downstream.
    message_id TEXT NOT NULL,
    -- The event (submitted, accepted…) and who the mail is for (applicant, staff, reviewer).
    event TEXT NOT NULL,
    audience TEXT NOT NULL,
    application_id TEXT,
    recipient TEXT NOT NULL,
    recipient_name TEXT,
    -- Rendered when queued: what is sent does not change if the templates do.
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL,
    status TEXT NOT NULL
        CHECK (status IN ('pending', 'sending', 'failed', 'sent', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at TIMESTAMP NOT NULL,
    -- While status = 'sending': the instance holding the message and until when. A lease that
    -- expires (the instance died mid-send) makes the message claimable again.
    locked_by TEXT,
    locked_until TIMESTAMP,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);
CREATE UNIQUE INDEX outbox_message_id_key ON outbox (message_id);
-- The worker's claim: due messages first.
CREATE INDEX outbox_due_idx ON outbox (status, next_attempt_at);
CREATE INDEX outbox_application_idx ON outbox (application_id);
CREATE INDEX outbox_created_idx ON outbox (created_at, id);

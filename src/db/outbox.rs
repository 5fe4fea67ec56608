//! The `outbox` table: what `Notifier::queue` inserts, what the delivery workers claim and
//! settle, and what admins list and re-queue.
//!
//! A message's life: `pending` → `sending` (claimed by one instance, with a lease) → `sent`;
//! or, when an attempt fails, `failed` (retried at `next_attempt_at`) and finally `dead` after
//! `mail.max_attempts` attempts or a permanent refusal. A lease that expires (the instance died
//! mid-send) makes the message claimable again. An admin puts a `failed` or `dead` message back
//! to `pending`.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::DbConnection;
use crate::db::schema::outbox;
use crate::error::ServiceError;
use crate::input::cursor::{Key, KeyKind, Paged, Window};

/// The order of the outbox's list (newest first) in cursors.
pub const LIST_SORT: (&str, KeyKind) = ("outbox:-created_at", KeyKind::Time);

pub use crate::domain::outbox::OutboxStatus;

#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = outbox)]
pub struct OutboxRow {
    pub id: String,
    pub message_id: String,
    pub event: String,
    pub audience: String,
    pub application_id: Option<String>,
    pub recipient: String,
    pub recipient_name: Option<String>,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub locked_by: Option<String>,
    pub locked_until: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
    /// A letter essor issued, attached when the mail is sent (`letters.id`).
    pub letter_id: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = outbox)]
pub struct NewOutboxRow<'a> {
    pub id: &'a str,
    pub message_id: &'a str,
    pub event: &'a str,
    pub audience: &'a str,
    pub application_id: Option<&'a str>,
    pub recipient: &'a str,
    pub recipient_name: Option<&'a str>,
    pub subject: &'a str,
    pub body_text: &'a str,
    pub body_html: &'a str,
    pub status: &'a str,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub letter_id: Option<&'a str>,
}

pub fn insert(conn: &mut DbConnection, row: &NewOutboxRow) -> QueryResult<usize> {
    diesel::insert_into(outbox::table).values(row).execute(conn)
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<OutboxRow>> {
    outbox::table
        .find(id)
        .select(OutboxRow::as_select())
        .first(conn)
        .optional()
}

/// A claim made by one worker: messages it alone may send until `lease_until`.
pub struct Claim<'a> {
    pub instance: &'a str,
    pub now: NaiveDateTime,
    pub lease_until: NaiveDateTime,
    pub limit: i64,
    pub max_attempts: i32,
}

const ABANDONED: &str = "abandonné : l'instance qui l'envoyait s'est arrêtée pendant la dernière \
                         tentative (bail expiré)";

// A message is due when it waits (`pending`, `failed`) and its time has come, or when the
// instance sending it let its lease expire with attempts left. Claiming counts the attempt, so
// a message whose sending kills its instance every time still ends `dead` (BURY, below; the
// claim itself excludes such messages, as BURY may have run on an older snapshot).
// On PostgreSQL the locking select is a CTE, evaluated exactly once (a sub-select under
// `IN` may be re-run by some plans and claim more than `LIMIT`).
const CLAIM_PG: &str = "\
WITH due AS ( \
    SELECT id FROM outbox \
    WHERE (status IN ('pending', 'failed') AND next_attempt_at <= $3) \
       OR (status = 'sending' AND locked_until < $3 AND attempts < $5) \
    ORDER BY next_attempt_at, id \
    LIMIT $4 \
    FOR UPDATE SKIP LOCKED) \
UPDATE outbox SET status = 'sending', locked_by = $1, locked_until = $2, \
    attempts = outbox.attempts + 1, updated_at = $3 \
FROM due WHERE outbox.id = due.id \
RETURNING outbox.*";

const CLAIM_SQLITE: &str = "\
UPDATE outbox SET status = 'sending', locked_by = ?1, locked_until = ?2, \
    attempts = attempts + 1, updated_at = ?3 \
WHERE id IN ( \
    SELECT id FROM outbox \
    WHERE (status IN ('pending', 'failed') AND next_attempt_at <= ?3) \
       OR (status = 'sending' AND locked_until < ?3 AND attempts < ?5) \
    ORDER BY next_attempt_at, id \
    LIMIT ?4) \
RETURNING *";

const BURY_PG: &str = "\
UPDATE outbox SET status = 'dead', locked_until = NULL, last_error = $1, updated_at = $2 \
WHERE status = 'sending' AND locked_until < $2 AND attempts >= $3";

const BURY_SQLITE: &str = "\
UPDATE outbox SET status = 'dead', locked_until = NULL, last_error = ?1, updated_at = ?2 \
WHERE status = 'sending' AND locked_until < ?2 AND attempts >= ?3";

/// Takes up to `limit` due messages for `instance`. On PostgreSQL, `FOR UPDATE SKIP LOCKED`
/// lets several instances claim at once without waiting for nor taking each other's rows; on
/// SQLite the claim runs in a `BEGIN IMMEDIATE` transaction (one writer at a time).
/// Messages abandoned during their last allowed attempt are marked `dead` first.
pub fn claim(conn: &mut DbConnection, c: &Claim) -> QueryResult<Vec<OutboxRow>> {
    match conn {
        DbConnection::Pg(pg) => {
            diesel::sql_query(BURY_PG)
                .bind::<Text, _>(ABANDONED)
                .bind::<Timestamp, _>(c.now)
                .bind::<Integer, _>(c.max_attempts)
                .execute(pg)?;
            diesel::sql_query(CLAIM_PG)
                .bind::<Text, _>(c.instance)
                .bind::<Timestamp, _>(c.lease_until)
                .bind::<Timestamp, _>(c.now)
                .bind::<BigInt, _>(c.limit)
                .bind::<Integer, _>(c.max_attempts)
                .load(pg)
        }
        DbConnection::Sqlite(sqlite) => sqlite.immediate_transaction(|tx| {
            diesel::sql_query(BURY_SQLITE)
                .bind::<Text, _>(ABANDONED)
                .bind::<Timestamp, _>(c.now)
                .bind::<Integer, _>(c.max_attempts)
                .execute(tx)?;
            diesel::sql_query(CLAIM_SQLITE)
                .bind::<Text, _>(c.instance)
                .bind::<Timestamp, _>(c.lease_until)
                .bind::<Timestamp, _>(c.now)
                .bind::<BigInt, _>(c.limit)
                .bind::<Integer, _>(c.max_attempts)
                .load(tx)
        }),
    }
}

/// The mail server accepted the message. `locked_by` stays as the record of who sent it.
pub fn mark_sent(
    conn: &mut DbConnection,
    id: &str,
    instance: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::status.eq(OutboxStatus::Sent.as_str()),
            outbox::sent_at.eq(Some(now)),
            outbox::locked_by.eq(Some(instance)),
            outbox::locked_until.eq(None::<NaiveDateTime>),
            outbox::last_error.eq(None::<String>),
            outbox::updated_at.eq(now),
        ))
        .execute(conn)
}

/// What becomes of a message whose attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    RetryAt(NaiveDateTime),
    Dead,
}

/// Records a failed attempt, if this instance still holds the message (a lease that expired
/// meanwhile belongs to whoever took the message over).
pub fn mark_failed(
    conn: &mut DbConnection,
    id: &str,
    instance: &str,
    now: NaiveDateTime,
    error: &str,
    after: AfterFailure,
) -> QueryResult<usize> {
    let (status, next) = match after {
        AfterFailure::RetryAt(at) => (OutboxStatus::Failed, at),
        AfterFailure::Dead => (OutboxStatus::Dead, now),
    };
    diesel::update(
        outbox::table
            .find(id)
            .filter(outbox::status.eq(OutboxStatus::Sending.as_str()))
            .filter(outbox::locked_by.eq(instance)),
    )
    .set((
        outbox::status.eq(status.as_str()),
        outbox::next_attempt_at.eq(next),
        outbox::locked_until.eq(None::<NaiveDateTime>),
        outbox::last_error.eq(Some(truncate(error, 2000))),
        outbox::updated_at.eq(now),
    ))
    .execute(conn)
}

fn truncate(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// Counts per status (for logs, the bench and tests).
pub fn count_by_status(conn: &mut DbConnection) -> QueryResult<Vec<(String, i64)>> {
    outbox::table
        .group_by(outbox::status)
        .select((outbox::status, diesel::dsl::count_star()))
        .load(conn)
}

/// A message as admins see it (`GET /api/v1/admin/outbox`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OutboxMessage {
    #[schema(example = "01936f4e-5a7b-7c3d-9e2f-0a1b2c3d4e5f")]
    pub id: String,
    /// The `Message-ID` header, the same on every attempt.
    #[schema(example = "<01936f4e-5a7b-7c3d-9e2f-0a1b2c3d4e5f@lillemetropole.fr>")]
    pub message_id: String,
    /// The event that queued it: submitted, changes_requested, declared_ineligible,
    /// review_started, reviewer_assigned, accepted, rejected, withdrawn.
    #[schema(example = "submitted")]
    pub event: String,
    /// applicant, staff or reviewer.
    #[schema(example = "applicant")]
    pub audience: String,
    pub application_id: Option<String>,
    #[schema(example = "porteur@exemple.fr")]
    pub recipient: String,
    pub recipient_name: Option<String>,
    #[schema(example = "Accusé de réception de votre candidature EA-2026-00042")]
    pub subject: String,
    pub status: OutboxStatus,
    /// Attempts made (a claim counts as one).
    pub attempts: i32,
    /// When the next attempt is due (for `pending` and `failed`).
    pub next_attempt_at: DateTime<Utc>,
    /// The instance sending it (`sending`) or that sent it (`sent`).
    pub locked_by: Option<String>,
    /// End of the current claim's lease (`sending` only).
    pub locked_until: Option<DateTime<Utc>>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl TryFrom<OutboxRow> for OutboxMessage {
    type Error = ServiceError;

    fn try_from(row: OutboxRow) -> Result<Self, ServiceError> {
        let status = OutboxStatus::parse(&row.status).ok_or_else(|| {
            ServiceError::Internal(anyhow::anyhow!("unknown outbox status {:?}", row.status))
        })?;
        Ok(Self {
            id: row.id,
            message_id: row.message_id,
            event: row.event,
            audience: row.audience,
            application_id: row.application_id,
            recipient: row.recipient,
            recipient_name: row.recipient_name,
            subject: row.subject,
            status,
            attempts: row.attempts,
            next_attempt_at: row.next_attempt_at.and_utc(),
            locked_by: row.locked_by,
            locked_until: row.locked_until.map(|t| t.and_utc()),
            last_error: row.last_error,
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
            sent_at: row.sent_at.map(|t| t.and_utc()),
        })
    }
}

/// Filters of the admin list.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub status: Option<OutboxStatus>,
    pub application_id: Option<String>,
}

/// Newest first.
pub fn list(
    conn: &mut DbConnection,
    filter: &ListFilter,
    window: &Window,
) -> QueryResult<(Paged<OutboxRow>, i64)> {
    let mut count = outbox::table.count().into_boxed();
    let mut page = outbox::table.select(OutboxRow::as_select()).into_boxed();
    if let Some(status) = filter.status {
        count = count.filter(outbox::status.eq(status.as_str()));
        page = page.filter(outbox::status.eq(status.as_str()));
    }
    if let Some(app) = &filter.application_id {
        count = count.filter(outbox::application_id.eq(app.clone()));
        page = page.filter(outbox::application_id.eq(app.clone()));
    }
    let total = count.get_result(conn)?;
    let read = window.read(total);
    let rows: Vec<OutboxRow> = if read.is_empty() {
        Vec::new()
    } else {
        crate::keyset_query!(
            page,
            outbox::created_at,
            outbox::id,
            &read,
            descending = true,
            key = |k: &Key| k.time().unwrap_or_default()
        )
        .load(conn)?
    };
    Ok((
        window.finish(&read, rows, |r| (Key::Time(r.created_at), r.id.clone())),
        total,
    ))
}

/// What a retry resets besides the status (which `services::outbox::retry` moves through the
/// runner): due now, a fresh count of attempts, no lease. Its last error is kept until it is
/// sent.
pub fn reset_for_retry(
    conn: &mut DbConnection,
    id: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::attempts.eq(0),
            outbox::next_attempt_at.eq(now),
            outbox::locked_by.eq(None::<String>),
            outbox::locked_until.eq(None::<NaiveDateTime>),
            outbox::updated_at.eq(now),
        ))
        .execute(conn)
}

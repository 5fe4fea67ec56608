//! The queries of a person's rights (`services::personal_data`, RGPD art. 15–17): what essor
//! holds about an account, read for its copy; and what its erasure deletes or rewrites, in the
//! caller's transaction.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::audit::AuditEvent;
use crate::db::schema::{
    account_tokens, application_documents, applications, assignments, audit_events, calls, outbox,
    personal_tokens, reviews, throttle_events, users, web_sessions,
};
use crate::db::users::NO_PASSWORD;
use crate::domain::account::Role;
use crate::domain::application_state::ApplicationState;
use crate::domain::ids::{ApplicationId, AssignmentId, CallId, DocumentId, ReviewId, UserId};
use crate::domain::money::Cents;

/// One of the account's applications, as its copy shows it (the body is read apart).
#[derive(Debug, Clone, Queryable)]
pub struct HeldApplicationRow {
    pub id: ApplicationId,
    pub reference: String,
    pub call_id: CallId,
    pub call_title: String,
    pub state: ApplicationState,
    pub organisation_name: String,
    pub project_title: String,
    pub requested_cents: Cents,
    pub awarded_cents: Option<Cents>,
    pub decision_motivation: Option<String>,
    pub committee_date: Option<NaiveDate>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub submitted_at: Option<NaiveDateTime>,
    pub decided_at: Option<NaiveDateTime>,
    pub minimised_at: Option<NaiveDateTime>,
}

/// The applications the account filed, oldest first.
pub fn applications_of(
    conn: &mut DbConnection,
    user_id: &UserId,
) -> QueryResult<Vec<HeldApplicationRow>> {
    applications::table
        .inner_join(calls::table.on(calls::id.eq(applications::call_id)))
        .filter(applications::applicant_id.eq(user_id))
        .order((applications::created_at.asc(), applications::id.asc()))
        .select((
            applications::id,
            applications::reference,
            applications::call_id,
            calls::title,
            applications::state,
            applications::organisation_name,
            applications::project_title,
            applications::requested_cents,
            applications::awarded_cents,
            applications::decision_motivation,
            applications::committee_date,
            applications::created_at,
            applications::updated_at,
            applications::submitted_at,
            applications::decided_at,
            applications::minimised_at,
        ))
        .load(conn)
}

#[derive(Debug, Clone, Queryable)]
pub struct HeldDocumentRow {
    pub id: DocumentId,
    pub kind: String,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub uploaded_at: NaiveDateTime,
}

/// The documents of one application, oldest first (no content).
pub fn documents_of(
    conn: &mut DbConnection,
    application_id: &ApplicationId,
) -> QueryResult<Vec<HeldDocumentRow>> {
    application_documents::table
        .filter(application_documents::application_id.eq(application_id))
        .order(application_documents::uploaded_at.asc())
        .select((
            application_documents::id,
            application_documents::kind,
            application_documents::filename,
            application_documents::content_type,
            application_documents::size_bytes,
            application_documents::uploaded_at,
        ))
        .load(conn)
}

#[derive(Debug, Clone, Queryable)]
pub struct HeldAssignmentRow {
    pub id: AssignmentId,
    pub application_reference: String,
    pub status: String,
    pub statement: Option<String>,
    pub recusal_reason: Option<String>,
    pub assigned_at: NaiveDateTime,
    pub responded_at: Option<NaiveDateTime>,
}

/// The account's assignments as a reviewer, oldest first.
pub fn assignments_of(
    conn: &mut DbConnection,
    user_id: &UserId,
) -> QueryResult<Vec<HeldAssignmentRow>> {
    assignments::table
        .inner_join(applications::table.on(applications::id.eq(assignments::application_id)))
        .filter(assignments::reviewer_id.eq(user_id))
        .order(assignments::assigned_at.asc())
        .select((
            assignments::id,
            applications::reference,
            assignments::status,
            assignments::statement,
            assignments::recusal_reason,
            assignments::assigned_at,
            assignments::responded_at,
        ))
        .load(conn)
}

#[derive(Debug, Clone, Queryable)]
pub struct HeldReviewRow {
    pub id: ReviewId,
    pub application_reference: String,
    /// JSON, as stored.
    pub scores: String,
    pub comment: String,
    pub recommendation: Option<String>,
    pub status: String,
    pub created_at: NaiveDateTime,
    pub submitted_at: Option<NaiveDateTime>,
}

/// The account's reviews, oldest first.
pub fn reviews_of(conn: &mut DbConnection, user_id: &UserId) -> QueryResult<Vec<HeldReviewRow>> {
    reviews::table
        .inner_join(applications::table.on(applications::id.eq(reviews::application_id)))
        .filter(reviews::reviewer_id.eq(user_id))
        .order(reviews::created_at.asc())
        .select((
            reviews::id,
            applications::reference,
            reviews::scores,
            reviews::comment,
            reviews::recommendation,
            reviews::status,
            reviews::created_at,
            reviews::submitted_at,
        ))
        .load(conn)
}

#[derive(Debug, Clone, Queryable)]
pub struct HeldMailRow {
    pub event: String,
    pub subject: String,
    pub status: String,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
    pub body_purged_at: Option<NaiveDateTime>,
}

/// The mails sent (or to send) to `email`, oldest first.
pub fn mails_to(conn: &mut DbConnection, email: &str) -> QueryResult<Vec<HeldMailRow>> {
    outbox::table
        .filter(outbox::recipient.eq(email))
        .order((outbox::created_at.asc(), outbox::id.asc()))
        .select((
            outbox::event,
            outbox::subject,
            outbox::status,
            outbox::created_at,
            outbox::sent_at,
            outbox::body_purged_at,
        ))
        .load(conn)
}

/// The account's web sessions still held: (opened, last seen), oldest first.
pub fn sessions_of(
    conn: &mut DbConnection,
    user_id: &UserId,
) -> QueryResult<Vec<(NaiveDateTime, NaiveDateTime)>> {
    web_sessions::table
        .filter(web_sessions::user_id.eq(user_id))
        .order(web_sessions::created_at.asc())
        .select((web_sessions::created_at, web_sessions::last_seen_at))
        .load(conn)
}

/// The events the account did, and the account events about it (`payload.user_id`).
pub fn events_about(conn: &mut DbConnection, user_id: &UserId) -> QueryResult<Vec<AuditEvent>> {
    let about = format!("%\"user_id\":\"{user_id}\"%");
    audit_events::table
        .filter(
            audit_events::actor_id.eq(user_id).or(audit_events::action
                .like("account.%")
                .and(audit_events::payload.like(about))),
        )
        .order((audit_events::at.asc(), audit_events::id.asc()))
        .select(AuditEvent::as_select())
        .load(conn)
}

pub fn rename(conn: &mut DbConnection, user_id: &UserId, full_name: &str) -> QueryResult<usize> {
    diesel::update(users::table.find(user_id))
        .set(users::full_name.eq(full_name))
        .execute(conn)
}

/// An application of the account, as its erasure sorts it.
#[derive(Debug, Clone, Queryable)]
pub struct ApplicationToErase {
    pub id: ApplicationId,
    pub reference: String,
    pub state: ApplicationState,
    pub minimised_at: Option<NaiveDateTime>,
}

pub fn applications_to_erase(
    conn: &mut DbConnection,
    user_id: &UserId,
) -> QueryResult<Vec<ApplicationToErase>> {
    applications::table
        .filter(applications::applicant_id.eq(user_id))
        .select((
            applications::id,
            applications::reference,
            applications::state,
            applications::minimised_at,
        ))
        .load(conn)
}

/// The references of the applications under review the account reviews (not recused).
pub fn reviewing(conn: &mut DbConnection, user_id: &UserId) -> QueryResult<Vec<String>> {
    assignments::table
        .inner_join(applications::table.on(applications::id.eq(assignments::application_id)))
        .filter(assignments::reviewer_id.eq(user_id))
        .filter(assignments::status.ne("recused"))
        .filter(applications::state.eq(ApplicationState::UnderReview))
        .select(applications::reference)
        .load(conn)
}

/// Active administrators other than this account.
pub fn other_active_admins(conn: &mut DbConnection, user_id: &UserId) -> QueryResult<i64> {
    users::table
        .filter(users::role.eq(Role::Admin))
        .filter(users::active.eq(true))
        .filter(users::id.ne(user_id))
        .count()
        .get_result(conn)
}

/// The ids of the applications the account filed.
pub fn application_ids_of(
    conn: &mut DbConnection,
    user_id: &UserId,
) -> QueryResult<Vec<ApplicationId>> {
    applications::table
        .filter(applications::applicant_id.eq(user_id))
        .select(applications::id)
        .load(conn)
}

/// The outbox ids of the mails to `email` and of those about these applications (their
/// copies on disk, named by id, go after the erasure).
pub fn mail_ids(
    conn: &mut DbConnection,
    email: &str,
    application_ids: &[ApplicationId],
) -> QueryResult<Vec<String>> {
    outbox::table
        .filter(
            outbox::recipient
                .eq(email)
                .or(outbox::application_id.eq_any(application_ids)),
        )
        .select(outbox::id)
        .load(conn)
}

/// What an erasure rewrites of the account itself, once its applications are dealt with:
/// its sessions, links, throttling counts, pending mails and personal tokens go; the mails
/// sent to it and about its applications lose their bodies (and their address, replaced by
/// `erased_email`); its row keeps only its id, role and dates.
pub fn forget_account(
    conn: &mut DbConnection,
    user_id: &UserId,
    email: &str,
    erased_email: &str,
    erased_name: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::delete(web_sessions::table.filter(web_sessions::user_id.eq(user_id))).execute(conn)?;
    diesel::delete(account_tokens::table.filter(account_tokens::user_id.eq(user_id)))
        .execute(conn)?;
    diesel::delete(throttle_events::table.filter(throttle_events::subject.eq(email)))
        .execute(conn)?;
    // Mails not yet sent will not be; those sent keep their record, without body or address.
    diesel::delete(
        outbox::table
            .filter(outbox::recipient.eq(email))
            .filter(outbox::status.eq_any(["pending", "failed"])),
    )
    .execute(conn)?;
    // The mails about the account's applications (to the team) name it: their bodies go
    // too, once delivered or given up (one still to send is sent, then purged by the job).
    let kept = application_ids_of(conn, user_id)?;
    diesel::update(
        outbox::table
            .filter(outbox::application_id.eq_any(&kept))
            .filter(outbox::status.eq_any(["sent", "dead"])),
    )
    .set((
        outbox::body_text.eq(""),
        outbox::body_html.eq(""),
        outbox::body_purged_at.eq(now),
    ))
    .execute(conn)?;
    diesel::update(outbox::table.filter(outbox::recipient.eq(email)))
        .set((
            outbox::recipient.eq(erased_email),
            outbox::recipient_name.eq(None::<String>),
            outbox::body_text.eq(""),
            outbox::body_html.eq(""),
            outbox::body_purged_at.eq(now),
        ))
        .execute(conn)?;
    // Its ProConnect links go (the provider's subject names the person).
    crate::db::proconnect::unlink_all(conn, user_id.as_str())?;
    // Its personal tokens go (their names and hints are its own words).
    diesel::delete(personal_tokens::table.filter(personal_tokens::user_id.eq(user_id)))
        .execute(conn)?;
    // The payloads of the account's own events (client addresses, withdrawal reasons, file and
    // token names) are erased; the rows and their hashes stay, so the trail still verifies.
    crate::db::audit::erase_payloads_by_actor(conn, user_id.as_str())?;
    diesel::update(users::table.find(user_id))
        .set((
            users::email.eq(erased_email),
            users::full_name.eq(erased_name),
            users::password_hash.eq(NO_PASSWORD),
            users::active.eq(false),
            users::email_verified_at.eq(None::<NaiveDateTime>),
            users::erased_at.eq(now),
            users::generation.eq(users::generation + 1),
        ))
        .execute(conn)?;
    Ok(())
}

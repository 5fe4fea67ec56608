//! The retention job's queries (`services::retention` decides what goes, DESIGN.md §13): its
//! lease, what it reads to decide, and what it deletes or minimises. Each runs in the
//! caller's transaction.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{
    account_tokens, application_documents, applications, assignments, calls, job_leases, outbox,
    reviews, throttle_events, users, web_sessions,
};
use crate::domain::application_state::ApplicationState;
use crate::domain::ids::ApplicationId;

/// Takes the job's lease when it is free (or expired) and the last run is older than
/// `due_before`; `true` when this instance holds it now.
pub fn take_lease(
    conn: &mut DbConnection,
    job: &str,
    instance: &str,
    now: NaiveDateTime,
    due_before: NaiveDateTime,
    lease_until: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        job_leases::table
            .filter(job_leases::name.eq(job))
            .filter(
                job_leases::lease_until
                    .is_null()
                    .or(job_leases::lease_until.lt(now)),
            )
            .filter(
                job_leases::last_run_at
                    .is_null()
                    .or(job_leases::last_run_at.le(due_before)),
            ),
    )
    .set((
        job_leases::holder.eq(instance),
        job_leases::lease_until.eq(lease_until),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Gives the lease back; `finished_at` is the run's time when it finished (the next run is
/// counted from it), `None` when it failed (the next tick tries again).
pub fn release_lease(
    conn: &mut DbConnection,
    job: &str,
    instance: &str,
    finished_at: Option<NaiveDateTime>,
) -> QueryResult<usize> {
    let mine = job_leases::table
        .filter(job_leases::name.eq(job))
        .filter(job_leases::holder.eq(instance));
    match finished_at {
        Some(at) => diesel::update(mine)
            .set((
                job_leases::holder.eq(None::<String>),
                job_leases::lease_until.eq(None::<NaiveDateTime>),
                job_leases::last_run_at.eq(at),
            ))
            .execute(conn),
        None => diesel::update(mine)
            .set((
                job_leases::holder.eq(None::<String>),
                job_leases::lease_until.eq(None::<NaiveDateTime>),
            ))
            .execute(conn),
    }
}

/// Web sessions idle since `idle` or opened before `absolute`.
pub fn delete_stale_sessions(
    conn: &mut DbConnection,
    idle: NaiveDateTime,
    absolute: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::delete(
        web_sessions::table.filter(
            web_sessions::last_seen_at
                .lt(idle)
                .or(web_sessions::created_at.lt(absolute)),
        ),
    )
    .execute(conn)
}

/// Links (verification, reset, invitation) used or expired by `now`.
pub fn delete_spent_link_tokens(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(
        account_tokens::table.filter(
            account_tokens::expires_at
                .le(now)
                .or(account_tokens::used_at.is_not_null()),
        ),
    )
    .execute(conn)
}

/// Throttle events (addresses, client IPs) recorded before `before`.
pub fn delete_throttle_events(
    conn: &mut DbConnection,
    before: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::delete(throttle_events::table.filter(throttle_events::at.lt(before))).execute(conn)
}

/// Sent mails older than `cutoff` lose their bodies; the row (recipient, event, subject,
/// dates) stays as the proof of sending.
pub fn purge_mail_bodies(
    conn: &mut DbConnection,
    cutoff: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        outbox::table
            .filter(outbox::status.eq("sent"))
            .filter(outbox::sent_at.lt(cutoff))
            .filter(outbox::body_purged_at.is_null()),
    )
    .set((
        outbox::body_text.eq(""),
        outbox::body_html.eq(""),
        outbox::body_purged_at.eq(now),
    ))
    .execute(conn)
}

/// A draft the job may warn about or delete, with what its warning mail says.
#[derive(Debug, Clone, Queryable)]
pub struct DraftCandidate {
    pub id: ApplicationId,
    pub reference: String,
    pub project_title: String,
    pub updated_at: NaiveDateTime,
    pub purge_warned_at: Option<NaiveDateTime>,
    pub email: String,
    pub full_name: String,
    pub call_title: String,
}

/// The drafts not changed since `horizon` (only those can be within their notice).
pub fn drafts_untouched_since(
    conn: &mut DbConnection,
    horizon: NaiveDateTime,
) -> QueryResult<Vec<DraftCandidate>> {
    applications::table
        .inner_join(users::table.on(users::id.eq(applications::applicant_id)))
        .inner_join(calls::table.on(calls::id.eq(applications::call_id)))
        .filter(applications::state.eq(ApplicationState::Draft))
        .filter(applications::updated_at.le(horizon))
        .select((
            applications::id,
            applications::reference,
            applications::project_title,
            applications::updated_at,
            applications::purge_warned_at,
            users::email,
            users::full_name,
            calls::title,
        ))
        .load(conn)
}

/// When a document was last added to the application (an upload does not touch its
/// `updated_at`).
pub fn last_upload(
    conn: &mut DbConnection,
    id: &ApplicationId,
) -> QueryResult<Option<NaiveDateTime>> {
    application_documents::table
        .filter(application_documents::application_id.eq(id))
        .select(diesel::dsl::max(application_documents::uploaded_at))
        .first(conn)
}

/// Notes that the draft's owner was warned (its `updated_at` is left alone: the warning is
/// not a change by its owner).
pub fn mark_warned(
    conn: &mut DbConnection,
    id: &ApplicationId,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(applications::table.find(id))
        .set(applications::purge_warned_at.eq(now))
        .execute(conn)
}

/// Deletes applications and everything hanging from them (documents and their contents,
/// reviews, assignments, mails, communes, opinions) and erases the payloads of their audit
/// events (the rows stay chained).
pub fn delete_applications(conn: &mut DbConnection, ids: &[ApplicationId]) -> QueryResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    // Chunks go with their documents (ON DELETE CASCADE).
    diesel::delete(
        application_documents::table.filter(application_documents::application_id.eq_any(ids)),
    )
    .execute(conn)?;
    diesel::delete(reviews::table.filter(reviews::application_id.eq_any(ids))).execute(conn)?;
    diesel::delete(assignments::table.filter(assignments::application_id.eq_any(ids)))
        .execute(conn)?;
    // Their audit events stay in the chain (a row deleted would break it), without payloads.
    crate::db::audit::erase_payloads_of_applications(conn, ids)?;
    diesel::delete(outbox::table.filter(outbox::application_id.eq_any(ids))).execute(conn)?;
    crate::db::territory::forget(conn, ids)?;
    crate::db::commune_opinions::forget(conn, ids)?;
    diesel::delete(applications::table.filter(applications::id.eq_any(ids))).execute(conn)?;
    Ok(())
}

/// Minimises one application: its documents go, its body becomes `body` (without the
/// address), the bodies of its sent mails and the payloads of its audit events go.
pub fn minimise_application(
    conn: &mut DbConnection,
    id: &ApplicationId,
    body: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::delete(
        application_documents::table.filter(application_documents::application_id.eq(id)),
    )
    .execute(conn)?;
    diesel::update(applications::table.find(id))
        .set((
            applications::body.eq(body),
            applications::minimised_at.eq(now),
        ))
        .execute(conn)?;
    crate::db::audit::erase_payloads_of_applications(conn, std::slice::from_ref(id))?;
    diesel::update(
        outbox::table
            .filter(outbox::application_id.eq(id))
            .filter(outbox::status.eq("sent"))
            .filter(outbox::body_purged_at.is_null()),
    )
    .set((
        outbox::body_text.eq(""),
        outbox::body_html.eq(""),
        outbox::body_purged_at.eq(now),
    ))
    .execute(conn)?;
    Ok(())
}

/// An application that did not succeed (rejected, ineligible, withdrawn), not yet minimised.
#[derive(Debug, Clone, Queryable)]
pub struct Unsuccessful {
    pub id: ApplicationId,
    pub state: ApplicationState,
    pub decided_at: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
}

pub fn unsuccessful_not_minimised(conn: &mut DbConnection) -> QueryResult<Vec<Unsuccessful>> {
    applications::table
        .filter(applications::state.eq_any([
            ApplicationState::Rejected,
            ApplicationState::Ineligible,
            ApplicationState::Withdrawn,
        ]))
        .filter(applications::minimised_at.is_null())
        .select((
            applications::id,
            applications::state,
            applications::decided_at,
            applications::updated_at,
        ))
        .load(conn)
}

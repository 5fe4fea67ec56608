//! The daily retention job (RGPD art. 5-1-e, issue 20): what `domain::retention` says must go,
//! goes. Each instance ticks; the one that takes the lease row (`job_leases`) runs the job if
//! its last run is `run_every_hours` old, so several instances purge once. Each kind of purge
//! runs in its own transaction with its audit event (`retention.<kind>`, the count in the
//! payload, no actor: essor itself did it). « Now » is the injected clock's. The run ends
//! with the day's signed checkpoint of the audit trail (`services::audit`).

use std::time::Duration as StdDuration;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use uuid::Uuid;

use crate::clock::Clock;
use crate::config::Settings;
use crate::db::audit::{self, AuditRow};
use crate::db::schema::{
    account_tokens, application_documents, applications, assignments, calls, job_leases, outbox,
    reviews, throttle_events, users, web_sessions,
};
use crate::db::{Db, DbConnection};
use crate::domain::application_state::ApplicationState;
use crate::domain::retention::{DraftFate, MINIMISED_ADDRESS, RetentionPolicy};
use crate::error::ServiceError;
use crate::notify::Notifier;
use crate::notify::retention::DraftWarning;

const JOB: &str = "retention";

/// What one run removed, by kind (the audit events carry the same counts).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PurgeReport {
    pub mail_bodies: usize,
    pub mail_files: usize,
    pub drafts_warned: usize,
    pub drafts_deleted: usize,
    pub sessions: usize,
    pub link_tokens: usize,
    pub throttle_events: usize,
    pub applications_minimised: usize,
}

/// What the job needs (the pieces of `AppState`, so tests and tools can run it too).
#[derive(Clone)]
pub struct RetentionJob {
    pub db: Db,
    pub settings: std::sync::Arc<Settings>,
    pub notifier: std::sync::Arc<Notifier>,
    pub clock: Clock,
    /// This instance's name in the lease row.
    pub instance: String,
}

impl RetentionJob {
    pub fn from_state(state: &crate::state::AppState) -> Self {
        Self {
            db: state.db.clone(),
            settings: state.settings.clone(),
            notifier: state.notifier.clone(),
            clock: state.clock.clone(),
            instance: format!("retention-{}", Uuid::now_v7().simple()),
        }
    }

    fn policy(&self) -> &RetentionPolicy {
        &self.settings.retention
    }

    /// Ticks every hour until the process ends; each tick runs the job if it is due and no
    /// other instance holds it. Errors are logged, and the next tick tries again.
    pub async fn run_forever(self) {
        let mut tick = tokio::time::interval(StdDuration::from_secs(3600));
        loop {
            tick.tick().await;
            match self.run_due().await {
                Ok(Some(report)) => tracing::info!(?report, "retention job done"),
                Ok(None) => tracing::debug!("retention job not due, or run by another instance"),
                Err(e) => tracing::error!(error = %e, "retention job failed"),
            }
        }
    }

    /// Runs the job if it is due and this instance takes the lease; `None` otherwise.
    pub async fn run_due(&self) -> Result<Option<PurgeReport>, ServiceError> {
        let now = self.clock.now();
        let policy = self.policy().clone();
        let instance = self.instance.clone();
        let taken = self
            .db
            .transaction(move |conn| {
                let due_before = now - Duration::hours(policy.run_every_hours.into());
                let lease_until = now + Duration::minutes(policy.lease_minutes.into());
                let n = diesel::update(
                    job_leases::table
                        .filter(job_leases::name.eq(JOB))
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
                    job_leases::holder.eq(&instance),
                    job_leases::lease_until.eq(lease_until),
                ))
                .execute(conn)?;
                Ok(n == 1)
            })
            .await?;
        if !taken {
            return Ok(None);
        }
        let result = self.purge_all(now).await;
        let instance = self.instance.clone();
        let finished = result.is_ok();
        self.db
            .transaction(move |conn| {
                let mine = job_leases::table
                    .filter(job_leases::name.eq(JOB))
                    .filter(job_leases::holder.eq(&instance));
                if finished {
                    diesel::update(mine)
                        .set((
                            job_leases::holder.eq(None::<String>),
                            job_leases::lease_until.eq(None::<NaiveDateTime>),
                            job_leases::last_run_at.eq(now),
                        ))
                        .execute(conn)?;
                } else {
                    diesel::update(mine)
                        .set((
                            job_leases::holder.eq(None::<String>),
                            job_leases::lease_until.eq(None::<NaiveDateTime>),
                        ))
                        .execute(conn)?;
                }
                Ok(())
            })
            .await?;
        result.map(Some)
    }

    async fn purge_all(&self, now: NaiveDateTime) -> Result<PurgeReport, ServiceError> {
        let policy = self.policy().clone();
        let web = self.settings.web.clone();
        let mut report = PurgeReport {
            mail_bodies: self
                .in_transaction("mail_bodies", now, move |conn| {
                    purge_mail_bodies(conn, policy.mail_body_cutoff(now), now)
                })
                .await?,
            ..PurgeReport::default()
        };

        let dir = self.settings.mail_dir();
        let cutoff = self.policy().mail_file_cutoff(now);
        let removed = actix_web::web::block(move || remove_mail_files(&dir, cutoff))
            .await
            .map_err(|e| ServiceError::Internal(anyhow::anyhow!("blocking task failed: {e}")))??;
        report.mail_files = self
            .in_transaction("mail_files", now, move |_| Ok(removed))
            .await?;

        let (warned, deleted) = self.purge_drafts(now).await?;
        report.drafts_warned = warned;
        report.drafts_deleted = deleted;

        report.sessions = self
            .in_transaction("sessions", now, move |conn| {
                let idle = now - Duration::minutes(web.session_idle_minutes);
                let absolute = now - Duration::hours(web.session_absolute_hours);
                Ok(diesel::delete(
                    web_sessions::table.filter(
                        web_sessions::last_seen_at
                            .lt(idle)
                            .or(web_sessions::created_at.lt(absolute)),
                    ),
                )
                .execute(conn)?)
            })
            .await?;
        report.link_tokens = self
            .in_transaction("link_tokens", now, move |conn| {
                Ok(diesel::delete(
                    account_tokens::table.filter(
                        account_tokens::expires_at
                            .le(now)
                            .or(account_tokens::used_at.is_not_null()),
                    ),
                )
                .execute(conn)?)
            })
            .await?;
        // Sign-in failures and mail requests (addresses, client IPs) count over an hour at
        // most: a day later they serve nothing.
        report.throttle_events = self
            .in_transaction("throttle_events", now, move |conn| {
                Ok(diesel::delete(
                    throttle_events::table.filter(throttle_events::at.lt(now - Duration::days(1))),
                )
                .execute(conn)?)
            })
            .await?;
        let policy = self.policy().clone();
        report.applications_minimised = self
            .in_transaction("applications_minimised", now, move |conn| {
                minimise_due_applications(conn, &policy, now)
            })
            .await?;
        // The daily checkpoint of the audit trail, after the job's own events.
        let key = crate::services::audit::signing_key(&self.settings)
            .map_err(|e| ServiceError::Internal(e.into()))?;
        let signed = crate::services::audit::checkpoint(&self.db, key, now).await?;
        tracing::info!(size = signed.size, root = %signed.root, "audit checkpoint signed");
        Ok(report)
    }

    /// Runs `purge` and writes its audit event (`retention.{kind}`, `{count}`) in one
    /// transaction.
    async fn in_transaction<F>(
        &self,
        kind: &'static str,
        now: NaiveDateTime,
        purge: F,
    ) -> Result<usize, ServiceError>
    where
        F: FnOnce(&mut DbConnection) -> Result<usize, ServiceError> + Send + 'static,
    {
        let instance = self.instance.clone();
        self.db
            .transaction(move |conn| {
                let count = purge(conn)?;
                record(conn, kind, count, &instance, now)?;
                Ok(count)
            })
            .await
    }

    /// Warns the owners of drafts nearing their end, deletes those whose notice is over.
    async fn purge_drafts(&self, now: NaiveDateTime) -> Result<(usize, usize), ServiceError> {
        let policy = self.policy().clone();
        let notifier = self.notifier.clone();
        let instance = self.instance.clone();
        self.db
            .transaction(move |conn| {
                // Only drafts already within the notice of their end can be due.
                let horizon = now - Duration::days(policy.draft_days.into())
                    + Duration::days(policy.draft_warning_days.into());
                #[allow(clippy::type_complexity)]
                let candidates: Vec<(
                    String,
                    String,
                    String,
                    NaiveDateTime,
                    Option<NaiveDateTime>,
                    String,
                    String,
                    String,
                )> = applications::table
                    .inner_join(users::table.on(users::id.eq(applications::applicant_id)))
                    .inner_join(calls::table.on(calls::id.eq(applications::call_id)))
                    .filter(applications::state.eq(ApplicationState::Draft.as_str()))
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
                    .load(conn)?;
                let (mut warned, mut doomed) = (0, Vec::new());
                for (id, reference, title, updated, warned_at, email, name, call_title) in
                    candidates
                {
                    // A document added is a change too (it does not touch `updated_at`).
                    let uploaded: Option<NaiveDateTime> = application_documents::table
                        .filter(application_documents::application_id.eq(&id))
                        .select(diesel::dsl::max(application_documents::uploaded_at))
                        .first(conn)?;
                    let last_change = uploaded.map_or(updated, |u| u.max(updated));
                    match policy.draft_fate(last_change, warned_at, now) {
                        DraftFate::Keep => {}
                        DraftFate::Delete => doomed.push(id),
                        DraftFate::Warn { deleted_after } => {
                            notifier.queue_draft_warning(
                                conn,
                                &DraftWarning {
                                    email,
                                    full_name: name,
                                    application_id: id.clone(),
                                    reference,
                                    project_title: title,
                                    call_title,
                                    deleted_after,
                                },
                                now,
                            )?;
                            // The draft's `updated_at` is left alone: the warning is not a
                            // change by its owner.
                            diesel::update(applications::table.find(&id))
                                .set(applications::purge_warned_at.eq(now))
                                .execute(conn)?;
                            warned += 1;
                        }
                    }
                }
                delete_applications(conn, &doomed)?;
                record(conn, "drafts_warned", warned, &instance, now)?;
                record(conn, "drafts_deleted", doomed.len(), &instance, now)?;
                Ok((warned, doomed.len()))
            })
            .await
    }
}

fn record(
    conn: &mut DbConnection,
    kind: &str,
    count: usize,
    instance: &str,
    now: NaiveDateTime,
) -> Result<(), ServiceError> {
    audit::insert(
        conn,
        &AuditRow {
            id: Uuid::now_v7().to_string(),
            application_id: None,
            call_id: None,
            actor_id: None,
            action: format!("retention.{kind}"),
            from_state: None,
            to_state: None,
            payload: serde_json::json!({"count": count, "instance": instance}).to_string(),
            at: now,
        },
    )?;
    Ok(())
}

/// Sent mails older than `cutoff` lose their bodies; the row (recipient, event, subject,
/// dates) stays as the proof of sending.
pub fn purge_mail_bodies(
    conn: &mut DbConnection,
    cutoff: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<usize, ServiceError> {
    Ok(diesel::update(
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
    .execute(conn)?)
}

/// Removes the `.eml` copies written before `cutoff` (their modification time).
fn remove_mail_files(dir: &std::path::Path, cutoff: NaiveDateTime) -> Result<usize, ServiceError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => {
            return Err(ServiceError::Internal(anyhow::anyhow!(
                "cannot read {}: {e}",
                dir.display()
            )));
        }
    };
    let cutoff = std::time::SystemTime::from(cutoff.and_utc());
    let mut removed = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("eml") {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t < cutoff);
        if old {
            match std::fs::remove_file(&path) {
                Ok(()) => removed += 1,
                Err(e) => {
                    tracing::warn!(error = %e, path = %path.display(), "cannot remove mail file")
                }
            }
        }
    }
    Ok(removed)
}

/// Deletes applications and everything hanging from them (documents and their contents,
/// reviews, assignments, mails) and erases the payloads of their audit events (the rows stay
/// chained). Only for drafts, which are no record.
pub fn delete_applications(conn: &mut DbConnection, ids: &[String]) -> Result<(), ServiceError> {
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
    audit::erase_payloads_of_applications(conn, ids)?;
    diesel::delete(outbox::table.filter(outbox::application_id.eq_any(ids))).execute(conn)?;
    crate::db::territory::forget(conn, ids)?;
    crate::db::commune_opinions::forget(conn, ids)?;
    diesel::delete(applications::table.filter(applications::id.eq_any(ids))).execute(conn)?;
    Ok(())
}

/// Minimises one unsuccessful or withdrawn application: its documents go (the statutes, bank
/// details and CVs they hold), the organisation's address is replaced, the bodies of its
/// mails and the payloads of its audit events go; the decision, amounts, organisation name
/// and SIRET stay (the record).
pub fn minimise_application(
    conn: &mut DbConnection,
    id: &str,
    now: NaiveDateTime,
) -> Result<(), ServiceError> {
    diesel::delete(
        application_documents::table.filter(application_documents::application_id.eq(id)),
    )
    .execute(conn)?;
    let body: String = applications::table
        .find(id)
        .select(applications::body)
        .first(conn)?;
    let mut body: serde_json::Value = serde_json::from_str(&body)
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("application {id} body: {e}")))?;
    if let Some(org) = body
        .get_mut("organisation")
        .and_then(serde_json::Value::as_object_mut)
        && org.contains_key("address")
    {
        org.insert("address".into(), MINIMISED_ADDRESS.into());
    }
    diesel::update(applications::table.find(id))
        .set((
            applications::body.eq(body.to_string()),
            applications::minimised_at.eq(now),
        ))
        .execute(conn)?;
    // What its events recorded in free text (file names, reasons, messages) goes with it; the
    // events themselves (who, what, when, which state) stay, chained.
    audit::erase_payloads_of_applications(conn, &[id.to_owned()])?;
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

const UNSUCCESSFUL: [&str; 3] = ["rejected", "ineligible", "withdrawn"];

fn minimise_due_applications(
    conn: &mut DbConnection,
    policy: &RetentionPolicy,
    now: NaiveDateTime,
) -> Result<usize, ServiceError> {
    let candidates: Vec<(String, String, Option<NaiveDateTime>, NaiveDateTime)> =
        applications::table
            .filter(applications::state.eq_any(UNSUCCESSFUL))
            .filter(applications::minimised_at.is_null())
            .select((
                applications::id,
                applications::state,
                applications::decided_at,
                applications::updated_at,
            ))
            .load(conn)?;
    let mut n = 0;
    for (id, state, decided_at, updated_at) in candidates {
        let state: ApplicationState = state
            .parse()
            .map_err(|_| ServiceError::Internal(anyhow::anyhow!("unknown state {state:?}")))?;
        // The notice of a decision, or the withdrawal (its last change).
        let closed_at = decided_at.unwrap_or(updated_at);
        if policy.minimise_now(state, closed_at, now) {
            minimise_application(conn, &id, now)?;
            n += 1;
        }
    }
    Ok(n)
}

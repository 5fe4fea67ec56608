//! The daily retention job (RGPD art. 5-1-e, issue 20): what `domain::retention` says must go,
//! goes. Each instance ticks; the one that takes the lease row (`job_leases`) runs the job if
//! its last run is `run_every_hours` old, so several instances purge once. Each kind of purge
//! runs in its own transaction with its audit event (`retention.<kind>`, the count in the
//! payload, no actor: essor itself did it). « Now » is the injected clock's. The run ends
//! with the day's signed checkpoint of the audit trail (`services::audit`).

use std::time::Duration as StdDuration;

use chrono::{Duration, NaiveDateTime};
use serde::Serialize;

use crate::clock::Clock;
use crate::config::Settings;
use crate::db::audit::{self, NewEvent};
use crate::db::{Db, DbConnection, retention};
use crate::domain::audit_action::{AuditAction, RetentionRun};
use crate::domain::ids::ApplicationId;
use crate::domain::retention::{DraftFate, RetentionPolicy, minimised_body};
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
            instance: format!("retention-{}", uuid::Uuid::now_v7().simple()),
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
                Ok(retention::take_lease(
                    conn,
                    JOB,
                    &instance,
                    now,
                    due_before,
                    lease_until,
                )?)
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
                retention::release_lease(conn, JOB, &instance, finished.then_some(now))?;
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
                .in_transaction(RetentionRun::MailBodies, now, move |conn| {
                    Ok(retention::purge_mail_bodies(
                        conn,
                        policy.mail_body_cutoff(now),
                        now,
                    )?)
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
            .in_transaction(RetentionRun::MailFiles, now, move |_| Ok(removed))
            .await?;

        let (warned, deleted) = self.purge_drafts(now).await?;
        report.drafts_warned = warned;
        report.drafts_deleted = deleted;

        report.sessions = self
            .in_transaction(RetentionRun::Sessions, now, move |conn| {
                let idle = now - Duration::minutes(web.session_idle_minutes);
                let absolute = now - Duration::hours(web.session_absolute_hours);
                Ok(retention::delete_stale_sessions(conn, idle, absolute)?)
            })
            .await?;
        report.link_tokens = self
            .in_transaction(RetentionRun::LinkTokens, now, move |conn| {
                Ok(retention::delete_spent_link_tokens(conn, now)?)
            })
            .await?;
        // Sign-in failures and mail requests (addresses, client IPs) count over an hour at
        // most: a day later they serve nothing.
        report.throttle_events = self
            .in_transaction(RetentionRun::ThrottleEvents, now, move |conn| {
                Ok(retention::delete_throttle_events(
                    conn,
                    now - Duration::days(1),
                )?)
            })
            .await?;
        let policy = self.policy().clone();
        report.applications_minimised = self
            .in_transaction(RetentionRun::ApplicationsMinimised, now, move |conn| {
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
        kind: RetentionRun,
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
                let (mut warned, mut doomed) = (0, Vec::new());
                for draft in retention::drafts_untouched_since(conn, horizon)? {
                    // A document added is a change too (it does not touch `updated_at`).
                    let uploaded = retention::last_upload(conn, &draft.id)?;
                    let last_change =
                        uploaded.map_or(draft.updated_at, |u| u.max(draft.updated_at));
                    match policy.draft_fate(last_change, draft.purge_warned_at, now) {
                        DraftFate::Keep => {}
                        DraftFate::Delete => doomed.push(draft.id),
                        DraftFate::Warn { deleted_after } => {
                            notifier.queue_draft_warning(
                                conn,
                                &DraftWarning {
                                    email: draft.email,
                                    full_name: draft.full_name,
                                    application_id: draft.id.to_string(),
                                    reference: draft.reference,
                                    project_title: draft.project_title,
                                    call_title: draft.call_title,
                                    deleted_after,
                                },
                                now,
                            )?;
                            retention::mark_warned(conn, &draft.id, now)?;
                            warned += 1;
                        }
                    }
                }
                retention::delete_applications(conn, &doomed)?;
                record(conn, RetentionRun::DraftsWarned, warned, &instance, now)?;
                record(
                    conn,
                    RetentionRun::DraftsDeleted,
                    doomed.len(),
                    &instance,
                    now,
                )?;
                Ok((warned, doomed.len()))
            })
            .await
    }
}

fn record(
    conn: &mut DbConnection,
    kind: RetentionRun,
    count: usize,
    instance: &str,
    now: NaiveDateTime,
) -> Result<(), ServiceError> {
    audit::record(
        conn,
        NewEvent {
            application_id: None,
            call_id: None,
            actor_id: None,
            action: AuditAction::Retention(kind),
            from_state: None,
            to_state: None,
            payload: serde_json::json!({"count": count, "instance": instance}),
            at: now,
        },
    )?;
    Ok(())
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

/// Deletes applications and everything hanging from them and erases the payloads of their
/// audit events (the rows stay chained). Only for drafts, which are no record.
pub fn delete_applications(
    conn: &mut DbConnection,
    ids: &[ApplicationId],
) -> Result<(), ServiceError> {
    Ok(retention::delete_applications(conn, ids)?)
}

/// Minimises one unsuccessful or withdrawn application: its documents go (the statutes, bank
/// details and CVs they hold), the organisation's address is replaced, the bodies of its
/// mails and the payloads of its audit events go; the decision, amounts, organisation name
/// and SIRET stay (the record).
pub fn minimise_application(
    conn: &mut DbConnection,
    id: &ApplicationId,
    now: NaiveDateTime,
) -> Result<(), ServiceError> {
    let body = minimised_body(&crate::db::applications::stored_body(conn, id)?)
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("application {id} body: {e}")))?;
    Ok(retention::minimise_application(conn, id, &body, now)?)
}

fn minimise_due_applications(
    conn: &mut DbConnection,
    policy: &RetentionPolicy,
    now: NaiveDateTime,
) -> Result<usize, ServiceError> {
    let mut n = 0;
    for app in retention::unsuccessful_not_minimised(conn)? {
        // The notice of a decision, or the withdrawal (its last change).
        let closed_at = app.decided_at.unwrap_or(app.updated_at);
        if policy.minimise_now(app.state, closed_at, now) {
            minimise_application(conn, &app.id, now)?;
            n += 1;
        }
    }
    Ok(n)
}

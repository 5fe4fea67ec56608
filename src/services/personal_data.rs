//! The rights of the people essor holds data about (RGPD art. 15–17, 20; issue 20): a copy
//! of everything held about oneself, correcting one's name, erasing one's account.
//!
//! Erasure keeps what the law asks the collectivité to keep (applications and their decisions,
//! the record of public money; reviews behind a decision; the audit trail) and removes the
//! rest, in one transaction: the account's row stays (everything above points to it) with its
//! name and address replaced, its drafts go, its unsuccessful applications are minimised,
//! its sessions, links, throttling counts and pending mails go, its sent mails lose their
//! body and recipient.

use std::net::IpAddr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::db::DbConnection;
use crate::db::audit::{self, NewEvent};
use crate::db::personal_data as rows;
use crate::db::users as user_rows;
use crate::domain::account::{Role, check_full_name};
use crate::domain::actor::Actor;
use crate::domain::application_state::ApplicationState;
use crate::domain::audit_action::{AccountAudit, AuditAction};
use crate::domain::ids::{ApplicationId, AssignmentId, CallId, DocumentId, ReviewId, UserId};
use crate::domain::money::Cents;
use crate::domain::retention::{ERASED_NAME, ErasureOfApplication, erased_email, erasure_of};
use crate::error::ServiceError;
use crate::services::accounts::{User, recheck_password};
use crate::services::retention::{delete_applications, minimise_application};
use crate::services::throttle;
use crate::state::AppState;

/// Everything essor holds about the caller (`GET /api/v1/me/data`), and nothing about anyone
/// else: no other person's name, address or review.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PersonalData {
    pub generated_at: DateTime<Utc>,
    pub account: User,
    /// The caller's applications (applicants), with the list of their documents.
    pub applications: Vec<HeldApplication>,
    /// The caller's assignments and reviews (reviewers).
    pub assignments: Vec<HeldAssignment>,
    pub reviews: Vec<HeldReview>,
    /// The mails sent (or to be sent) to the caller's address.
    pub mails: Vec<HeldMail>,
    /// The caller's web sessions still held.
    pub sessions: Vec<HeldSession>,
    /// The audit trail's events done by the caller, or about the caller's account.
    pub events: Vec<HeldEvent>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HeldApplication {
    #[schema(value_type = String)]
    pub id: ApplicationId,
    pub reference: String,
    #[schema(value_type = String)]
    pub call_id: CallId,
    pub call_title: String,
    #[schema(value_type = String)]
    pub state: ApplicationState,
    pub organisation_name: String,
    pub project_title: String,
    #[schema(value_type = i64)]
    pub requested_cents: Cents,
    #[schema(value_type = Option<i64>)]
    pub awarded_cents: Option<Cents>,
    pub decision_motivation: Option<String>,
    pub committee_date: Option<NaiveDate>,
    /// The declaration as filed (organisation, project, ESS commitments).
    #[schema(value_type = Object)]
    pub body: Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub decided_at: Option<DateTime<Utc>>,
    /// When its personal data were minimised (after the period of appeal).
    pub minimised_at: Option<DateTime<Utc>>,
    pub documents: Vec<HeldDocument>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HeldDocument {
    #[schema(value_type = String)]
    pub id: DocumentId,
    pub kind: String,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub uploaded_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HeldAssignment {
    #[schema(value_type = String)]
    pub id: AssignmentId,
    pub application_reference: String,
    pub status: String,
    pub statement: Option<String>,
    pub recusal_reason: Option<String>,
    pub assigned_at: DateTime<Utc>,
    pub responded_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HeldReview {
    #[schema(value_type = String)]
    pub id: ReviewId,
    pub application_reference: String,
    #[schema(value_type = Object)]
    pub scores: Value,
    pub comment: String,
    pub recommendation: Option<String>,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HeldMail {
    pub event: String,
    pub subject: String,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    /// The body was removed (retention): only this record of the sending remains.
    pub body_removed: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HeldSession {
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HeldEvent {
    pub action: String,
    pub at: DateTime<Utc>,
    pub application_id: Option<String>,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    /// Done by the caller; otherwise by an agent or an administrator, who is not named.
    pub by_you: bool,
    /// What the event recorded, for the caller's own events only.
    #[schema(value_type = Option<Object>)]
    pub payload: Option<Value>,
}

fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// `GET /me/data`.
pub async fn export(state: &AppState, user: &Actor) -> Result<PersonalData, ServiceError> {
    let id = user.id.clone();
    let now = state.clock.now_utc();
    state
        .db
        .run(move |conn| {
            let row = user_rows::find(conn, id.as_str())?
                .ok_or_else(|| ServiceError::not_found("Ce compte n'existe pas."))?;
            let email = row.email.clone();
            let account = User::try_from(row)?;
            Ok(PersonalData {
                generated_at: now,
                account,
                applications: held_applications(conn, &id)?,
                assignments: held_assignments(conn, &id)?,
                reviews: held_reviews(conn, &id)?,
                mails: held_mails(conn, &email)?,
                sessions: rows::sessions_of(conn, &id)?
                    .into_iter()
                    .map(|(c, l)| HeldSession {
                        created_at: utc(c),
                        last_seen_at: utc(l),
                    })
                    .collect(),
                events: held_events(conn, &id)?,
            })
        })
        .await
}

fn held_applications(
    conn: &mut DbConnection,
    user_id: &UserId,
) -> Result<Vec<HeldApplication>, ServiceError> {
    let mut out = Vec::new();
    for a in rows::applications_of(conn, user_id)? {
        let body = crate::db::applications::stored_body(conn, &a.id)?;
        let documents = rows::documents_of(conn, &a.id)?
            .into_iter()
            .map(|d| HeldDocument {
                id: d.id,
                kind: d.kind,
                filename: d.filename,
                content_type: d.content_type,
                size_bytes: d.size_bytes,
                uploaded_at: utc(d.uploaded_at),
            })
            .collect();
        out.push(HeldApplication {
            body: serde_json::from_str(&body).unwrap_or(Value::Null),
            id: a.id,
            reference: a.reference,
            call_id: a.call_id,
            call_title: a.call_title,
            state: a.state,
            organisation_name: a.organisation_name,
            project_title: a.project_title,
            requested_cents: a.requested_cents,
            awarded_cents: a.awarded_cents,
            decision_motivation: a.decision_motivation,
            committee_date: a.committee_date,
            created_at: utc(a.created_at),
            updated_at: utc(a.updated_at),
            submitted_at: a.submitted_at.map(utc),
            decided_at: a.decided_at.map(utc),
            minimised_at: a.minimised_at.map(utc),
            documents,
        });
    }
    Ok(out)
}

fn held_assignments(
    conn: &mut DbConnection,
    user_id: &UserId,
) -> Result<Vec<HeldAssignment>, ServiceError> {
    Ok(rows::assignments_of(conn, user_id)?
        .into_iter()
        .map(|r| HeldAssignment {
            id: r.id,
            application_reference: r.application_reference,
            status: r.status,
            statement: r.statement,
            recusal_reason: r.recusal_reason,
            assigned_at: utc(r.assigned_at),
            responded_at: r.responded_at.map(utc),
        })
        .collect())
}

fn held_reviews(
    conn: &mut DbConnection,
    user_id: &UserId,
) -> Result<Vec<HeldReview>, ServiceError> {
    Ok(rows::reviews_of(conn, user_id)?
        .into_iter()
        .map(|r| HeldReview {
            id: r.id,
            application_reference: r.application_reference,
            scores: serde_json::from_str(&r.scores).unwrap_or(Value::Null),
            comment: r.comment,
            recommendation: r.recommendation,
            status: r.status,
            created_at: utc(r.created_at),
            submitted_at: r.submitted_at.map(utc),
        })
        .collect())
}

fn held_mails(conn: &mut DbConnection, email: &str) -> Result<Vec<HeldMail>, ServiceError> {
    Ok(rows::mails_to(conn, email)?
        .into_iter()
        .map(|m| HeldMail {
            event: m.event,
            subject: m.subject,
            status: m.status,
            created_at: utc(m.created_at),
            sent_at: m.sent_at.map(utc),
            body_removed: m.body_purged_at.is_some(),
        })
        .collect())
}

/// Events the caller did, and account events about the caller (`payload.user_id`).
fn held_events(conn: &mut DbConnection, user_id: &UserId) -> Result<Vec<HeldEvent>, ServiceError> {
    Ok(rows::events_about(conn, user_id)?
        .into_iter()
        .map(|e| {
            let by_you = e.actor_id.as_deref() == Some(user_id.as_str());
            HeldEvent {
                payload: by_you
                    .then(|| {
                        e.payload
                            .as_deref()
                            .map(serde_json::from_str)
                            .and_then(Result::ok)
                    })
                    .flatten(),
                action: e.action,
                at: utc(e.at),
                application_id: e.application_id,
                from_state: e.from_state,
                to_state: e.to_state,
                by_you,
            }
        })
        .collect())
}

fn audit_account(
    conn: &mut DbConnection,
    user_id: &UserId,
    action: AccountAudit,
    payload: Value,
    now: NaiveDateTime,
) -> Result<(), ServiceError> {
    audit::record(
        conn,
        NewEvent {
            application_id: None,
            call_id: None,
            actor_id: Some(user_id),
            action: AuditAction::Account(action),
            from_state: None,
            to_state: None,
            payload,
            at: now,
        },
    )?;
    Ok(())
}
/// `PATCH /me {full_name}`: corrects one's name (RGPD art. 16).
pub async fn rename(state: &AppState, user: &Actor, full_name: &str) -> Result<User, ServiceError> {
    let name =
        check_full_name(full_name).map_err(|m| ServiceError::invalid_field("full_name", m))?;
    let id = user.id.clone();
    let now = state.clock.now();
    state
        .db
        .transaction(move |conn| {
            rows::rename(conn, &id, &name)?;
            // The names themselves stay out of the trail (it is kept longer than they are).
            audit_account(
                conn,
                &id,
                AccountAudit::NameChanged,
                serde_json::json!({"user_id": id}),
                now,
            )?;
            user_rows::find(conn, id.as_str())?
                .ok_or_else(|| ServiceError::not_found("Ce compte n'existe pas."))?
                .try_into()
        })
        .await
}

/// What an erasure did (the audit event's payload).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ErasureSummary {
    pub drafts_deleted: usize,
    pub applications_minimised: usize,
    pub applications_kept: usize,
}

/// `DELETE /me {password}` (RGPD art. 17). The password is checked as a sign-in is (a wrong
/// one counts as a failure of the account). Refused (409) while an application of the caller
/// is being examined, while the caller reviews one, or for the last administrator.
pub async fn erase(
    state: &AppState,
    _ip: IpAddr,
    user: &Actor,
    password: String,
) -> Result<ErasureSummary, ServiceError> {
    let (_, claim) = recheck_password(
        state,
        user.id.as_str(),
        password,
        "password",
        "le mot de passe est incorrect",
        |_| Ok(()),
    )
    .await?;
    // A right password is not a failure of the account, whether the erasure is then allowed
    // or refused (409): the claim is given back before.
    state
        .db
        .transaction(move |conn| throttle::give_back(conn, &claim))
        .await?;
    let now = state.clock.now();
    let id = user.id.clone();
    let (summary, mails) = state
        .db
        .transaction(move |conn| erase_in(conn, &id, now))
        .await?;
    // The copies the `file` transport wrote of the account's mails (named by their outbox
    // id) go once the erasure is committed; a copy that cannot be removed is logged, and the
    // retention job removes it with the others at its age.
    let dir = state.settings.mail_dir();
    actix_web::web::block(move || remove_mail_copies(&dir, &mails))
        .await
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("blocking task failed: {e}")))?;
    Ok(summary)
}

/// Removes `{id}.eml` (and a half-written `.{id}.eml.tmp`) for each outbox id.
fn remove_mail_copies(dir: &std::path::Path, ids: &[String]) {
    for id in ids {
        for name in [format!("{id}.eml"), format!(".{id}.eml.tmp")] {
            let path = dir.join(name);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::warn!(error = %e, path = %path.display(), "cannot remove mail copy")
                }
            }
        }
    }
}

/// Erases in one transaction; returns what was done and the outbox ids whose mail copies
/// (`file` transport) must go.
fn erase_in(
    conn: &mut DbConnection,
    id: &UserId,
    now: NaiveDateTime,
) -> Result<(ErasureSummary, Vec<String>), ServiceError> {
    let row = user_rows::find(conn, id.as_str())?
        .filter(|r| r.erased_at.is_none())
        .ok_or_else(|| ServiceError::not_found("Ce compte n'existe pas."))?;

    let mut summary = ErasureSummary::default();
    let (mut drafts, mut to_minimise, mut examined) = (Vec::new(), Vec::new(), Vec::new());
    for app in rows::applications_to_erase(conn, id)? {
        match erasure_of(app.state) {
            ErasureOfApplication::Delete => drafts.push(app.id),
            ErasureOfApplication::Refuse => {
                examined.push(format!("{} ({})", app.reference, app.state.label_fr()))
            }
            ErasureOfApplication::Minimise => {
                if app.minimised_at.is_none() {
                    to_minimise.push(app.id);
                }
                summary.applications_minimised += 1;
            }
            ErasureOfApplication::Keep => summary.applications_kept += 1,
        }
    }
    if !examined.is_empty() {
        return Err(ServiceError::conflict(format!(
            "Votre compte ne peut pas être supprimé pendant l'instruction d'une candidature : {}. \
             La collectivité doit pouvoir vous joindre jusqu'à sa décision. Retirez la candidature \
             ou attendez la décision, puis recommencez.",
            examined.join(", ")
        )));
    }
    let reviewing = rows::reviewing(conn, id)?;
    if !reviewing.is_empty() {
        return Err(ServiceError::conflict(format!(
            "Votre compte ne peut pas être supprimé tant que vous évaluez des candidatures en \
             cours d'instruction : {}. Demandez à l'équipe instructrice de vous remplacer, puis \
             recommencez.",
            reviewing.join(", ")
        )));
    }
    if row.role == Role::Admin && rows::other_active_admins(conn, id)? == 0 {
        return Err(ServiceError::conflict(
            "Vous êtes le dernier administrateur actif : invitez-en un autre avant de \
             supprimer votre compte.",
        ));
    }

    // The mails to the account, and those about its applications (to the team, naming it),
    // before their rows change or go.
    let all_ids = rows::application_ids_of(conn, id)?;
    let mails = rows::mail_ids(conn, &row.email, &all_ids)?;
    delete_applications(conn, &drafts)?;
    summary.drafts_deleted = drafts.len();
    for app_id in &to_minimise {
        minimise_application(conn, app_id, now)?;
    }
    let erased = erased_email(id.as_str());
    rows::forget_account(conn, id, &row.email, &erased, ERASED_NAME, now)?;
    audit_account(
        conn,
        id,
        AccountAudit::Erased,
        serde_json::json!({
            "user_id": id,
            "drafts_deleted": summary.drafts_deleted,
            "applications_minimised": summary.applications_minimised,
            "applications_kept": summary.applications_kept,
        }),
        now,
    )?;
    Ok((summary, mails))
}

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
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::DbConnection;
use crate::db::audit::{self, AuditEvent, AuditRow};
use crate::db::schema::{
    account_tokens, application_documents, applications, assignments, audit_events, calls, outbox,
    personal_tokens, reviews, throttle_events, users, web_sessions,
};
use crate::db::users::{self as user_rows, NO_PASSWORD};
use crate::domain::account::{Role, check_full_name};
use crate::domain::actor::Actor;
use crate::domain::application_state::ApplicationState;
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
    pub id: String,
    pub reference: String,
    pub call_id: String,
    pub call_title: String,
    pub state: String,
    pub organisation_name: String,
    pub project_title: String,
    pub requested_cents: i64,
    pub awarded_cents: Option<i64>,
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
    pub id: String,
    pub kind: String,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub uploaded_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HeldAssignment {
    pub id: String,
    pub application_reference: String,
    pub status: String,
    pub statement: Option<String>,
    pub recusal_reason: Option<String>,
    pub assigned_at: DateTime<Utc>,
    pub responded_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HeldReview {
    pub id: String,
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
                applications: held_applications(conn, id.as_str())?,
                assignments: held_assignments(conn, id.as_str())?,
                reviews: held_reviews(conn, id.as_str())?,
                mails: held_mails(conn, &email)?,
                sessions: web_sessions::table
                    .filter(web_sessions::user_id.eq(&id))
                    .order(web_sessions::created_at.asc())
                    .select((web_sessions::created_at, web_sessions::last_seen_at))
                    .load::<(NaiveDateTime, NaiveDateTime)>(conn)?
                    .into_iter()
                    .map(|(c, l)| HeldSession {
                        created_at: utc(c),
                        last_seen_at: utc(l),
                    })
                    .collect(),
                events: held_events(conn, id.as_str())?,
            })
        })
        .await
}

fn held_applications(
    conn: &mut DbConnection,
    user_id: &str,
) -> Result<Vec<HeldApplication>, ServiceError> {
    #[allow(clippy::type_complexity)]
    let rows: Vec<(
        (String, String, String, String, String, String, String, i64),
        (
            Option<i64>,
            Option<String>,
            Option<NaiveDate>,
            NaiveDateTime,
            NaiveDateTime,
            Option<NaiveDateTime>,
            Option<NaiveDateTime>,
            Option<NaiveDateTime>,
        ),
    )> = applications::table
        .inner_join(calls::table.on(calls::id.eq(applications::call_id)))
        .filter(applications::applicant_id.eq(user_id))
        .order((applications::created_at.asc(), applications::id.asc()))
        .select((
            (
                applications::id,
                applications::reference,
                applications::call_id,
                calls::title,
                applications::state,
                applications::organisation_name,
                applications::project_title,
                applications::requested_cents,
            ),
            (
                applications::awarded_cents,
                applications::decision_motivation,
                applications::committee_date,
                applications::created_at,
                applications::updated_at,
                applications::submitted_at,
                applications::decided_at,
                applications::minimised_at,
            ),
        ))
        .load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for ((id, reference, call_id, call_title, state, org, title, requested), more) in rows {
        let (awarded, motivation, committee, created, updated, submitted, decided, minimised) =
            more;
        let body: String = applications::table
            .find(&id)
            .select(applications::body)
            .first(conn)?;
        let documents = application_documents::table
            .filter(application_documents::application_id.eq(&id))
            .order(application_documents::uploaded_at.asc())
            .select((
                application_documents::id,
                application_documents::kind,
                application_documents::filename,
                application_documents::content_type,
                application_documents::size_bytes,
                application_documents::uploaded_at,
            ))
            .load::<(String, String, String, String, i64, NaiveDateTime)>(conn)?
            .into_iter()
            .map(
                |(id, kind, filename, content_type, size_bytes, at)| HeldDocument {
                    id,
                    kind,
                    filename,
                    content_type,
                    size_bytes,
                    uploaded_at: utc(at),
                },
            )
            .collect();
        out.push(HeldApplication {
            body: serde_json::from_str(&body).unwrap_or(Value::Null),
            id,
            reference,
            call_id,
            call_title,
            state,
            organisation_name: org,
            project_title: title,
            requested_cents: requested,
            awarded_cents: awarded,
            decision_motivation: motivation,
            committee_date: committee,
            created_at: utc(created),
            updated_at: utc(updated),
            submitted_at: submitted.map(utc),
            decided_at: decided.map(utc),
            minimised_at: minimised.map(utc),
            documents,
        });
    }
    Ok(out)
}

fn held_assignments(
    conn: &mut DbConnection,
    user_id: &str,
) -> Result<Vec<HeldAssignment>, ServiceError> {
    #[allow(clippy::type_complexity)]
    let rows: Vec<(
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        NaiveDateTime,
        Option<NaiveDateTime>,
    )> = assignments::table
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
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(id, reference, status, statement, recusal, at, responded)| HeldAssignment {
                id,
                application_reference: reference,
                status,
                statement,
                recusal_reason: recusal,
                assigned_at: utc(at),
                responded_at: responded.map(utc),
            },
        )
        .collect())
}

fn held_reviews(conn: &mut DbConnection, user_id: &str) -> Result<Vec<HeldReview>, ServiceError> {
    #[allow(clippy::type_complexity)]
    let rows: Vec<(
        String,
        String,
        String,
        String,
        Option<String>,
        String,
        NaiveDateTime,
        Option<NaiveDateTime>,
    )> = reviews::table
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
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(id, reference, scores, comment, recommendation, status, created, submitted)| {
                HeldReview {
                    id,
                    application_reference: reference,
                    scores: serde_json::from_str(&scores).unwrap_or(Value::Null),
                    comment,
                    recommendation,
                    status,
                    created_at: utc(created),
                    submitted_at: submitted.map(utc),
                }
            },
        )
        .collect())
}

fn held_mails(conn: &mut DbConnection, email: &str) -> Result<Vec<HeldMail>, ServiceError> {
    #[allow(clippy::type_complexity)]
    let rows: Vec<(
        String,
        String,
        String,
        NaiveDateTime,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
    )> = outbox::table
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
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(event, subject, status, created, sent, purged)| HeldMail {
            event,
            subject,
            status,
            created_at: utc(created),
            sent_at: sent.map(utc),
            body_removed: purged.is_some(),
        })
        .collect())
}

/// Events the caller did, and account events about the caller (`payload.user_id`).
fn held_events(conn: &mut DbConnection, user_id: &str) -> Result<Vec<HeldEvent>, ServiceError> {
    let about = format!("%\"user_id\":\"{user_id}\"%");
    let rows: Vec<AuditEvent> = audit_events::table
        .filter(
            audit_events::actor_id.eq(user_id).or(audit_events::action
                .like("account.%")
                .and(audit_events::payload.like(about))),
        )
        .order((audit_events::at.asc(), audit_events::id.asc()))
        .select(AuditEvent::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|e| {
            let by_you = e.actor_id.as_deref() == Some(user_id);
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
    user_id: &str,
    action: &str,
    payload: Value,
    now: NaiveDateTime,
) -> Result<(), ServiceError> {
    audit::insert(
        conn,
        &AuditRow {
            id: Uuid::now_v7().to_string(),
            application_id: None,
            call_id: None,
            actor_id: Some(user_id.to_owned()),
            action: format!("account.{action}"),
            from_state: None,
            to_state: None,
            payload: payload.to_string(),
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
            diesel::update(users::table.find(&id))
                .set(users::full_name.eq(&name))
                .execute(conn)?;
            // The names themselves stay out of the trail (it is kept longer than they are).
            audit_account(
                conn,
                id.as_str(),
                "name_changed",
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
        .transaction(move |conn| erase_in(conn, id.as_str(), now))
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
    id: &str,
    now: NaiveDateTime,
) -> Result<(ErasureSummary, Vec<String>), ServiceError> {
    let row = user_rows::find(conn, id)?
        .filter(|r| r.erased_at.is_none())
        .ok_or_else(|| ServiceError::not_found("Ce compte n'existe pas."))?;

    let apps: Vec<(String, String, String, Option<NaiveDateTime>)> = applications::table
        .filter(applications::applicant_id.eq(id))
        .select((
            applications::id,
            applications::reference,
            applications::state,
            applications::minimised_at,
        ))
        .load(conn)?;
    let mut summary = ErasureSummary::default();
    let (mut drafts, mut to_minimise, mut examined) = (Vec::new(), Vec::new(), Vec::new());
    for (app_id, reference, state, minimised) in apps {
        let state: ApplicationState = state
            .parse()
            .map_err(|_| ServiceError::Internal(anyhow::anyhow!("unknown state {state:?}")))?;
        match erasure_of(state) {
            ErasureOfApplication::Delete => drafts.push(app_id),
            ErasureOfApplication::Refuse => {
                examined.push(format!("{reference} ({})", state.label_fr()))
            }
            ErasureOfApplication::Minimise => {
                if minimised.is_none() {
                    to_minimise.push(app_id);
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
    let reviewing: Vec<String> = assignments::table
        .inner_join(applications::table.on(applications::id.eq(assignments::application_id)))
        .filter(assignments::reviewer_id.eq(id))
        .filter(assignments::status.ne("recused"))
        .filter(applications::state.eq(ApplicationState::UnderReview.as_str()))
        .select(applications::reference)
        .load(conn)?;
    if !reviewing.is_empty() {
        return Err(ServiceError::conflict(format!(
            "Votre compte ne peut pas être supprimé tant que vous évaluez des candidatures en \
             cours d'instruction : {}. Demandez à l'équipe instructrice de vous remplacer, puis \
             recommencez.",
            reviewing.join(", ")
        )));
    }
    if row.role == Role::Admin {
        let other_admins: i64 = users::table
            .filter(users::role.eq(Role::Admin.as_str()))
            .filter(users::active.eq(true))
            .filter(users::id.ne(id))
            .count()
            .get_result(conn)?;
        if other_admins == 0 {
            return Err(ServiceError::conflict(
                "Vous êtes le dernier administrateur actif : invitez-en un autre avant de \
                 supprimer votre compte.",
            ));
        }
    }

    // The mails to the account, and those about its applications (to the team, naming it),
    // before their rows change or go.
    let all_ids: Vec<String> = applications::table
        .filter(applications::applicant_id.eq(id))
        .select(applications::id)
        .load(conn)?;
    let mails: Vec<String> = outbox::table
        .filter(
            outbox::recipient
                .eq(&row.email)
                .or(outbox::application_id.eq_any(&all_ids)),
        )
        .select(outbox::id)
        .load(conn)?;
    delete_applications(conn, &drafts)?;
    summary.drafts_deleted = drafts.len();
    for app_id in &to_minimise {
        minimise_application(conn, app_id, now)?;
    }
    diesel::delete(web_sessions::table.filter(web_sessions::user_id.eq(id))).execute(conn)?;
    diesel::delete(account_tokens::table.filter(account_tokens::user_id.eq(id))).execute(conn)?;
    diesel::delete(throttle_events::table.filter(throttle_events::subject.eq(&row.email)))
        .execute(conn)?;
    // Mails not yet sent will not be; those sent keep their record, without body or address.
    diesel::delete(
        outbox::table
            .filter(outbox::recipient.eq(&row.email))
            .filter(outbox::status.eq_any(["pending", "failed"])),
    )
    .execute(conn)?;
    // The mails about the account's applications (to the team) name it: their bodies go
    // too, once delivered or given up (one still to send is sent, then purged by the job).
    let kept_ids: Vec<String> = applications::table
        .filter(applications::applicant_id.eq(id))
        .select(applications::id)
        .load(conn)?;
    diesel::update(
        outbox::table
            .filter(outbox::application_id.eq_any(&kept_ids))
            .filter(outbox::status.eq_any(["sent", "dead"])),
    )
    .set((
        outbox::body_text.eq(""),
        outbox::body_html.eq(""),
        outbox::body_purged_at.eq(now),
    ))
    .execute(conn)?;
    let erased = erased_email(id);
    diesel::update(outbox::table.filter(outbox::recipient.eq(&row.email)))
        .set((
            outbox::recipient.eq(&erased),
            outbox::recipient_name.eq(None::<String>),
            outbox::body_text.eq(""),
            outbox::body_html.eq(""),
            outbox::body_purged_at.eq(now),
        ))
        .execute(conn)?;
    // Its ProConnect links go (the provider's subject names the person).
    crate::db::proconnect::unlink_all(conn, id)?;
    // Its personal tokens go (their names and hints are its own words).
    diesel::delete(personal_tokens::table.filter(personal_tokens::user_id.eq(id))).execute(conn)?;
    // The payloads of the account's own events (client addresses, withdrawal reasons, file and
    // token names) are erased; the rows and their hashes stay, so the trail still verifies.
    audit::erase_payloads_by_actor(conn, id)?;
    diesel::update(users::table.find(id))
        .set((
            users::email.eq(&erased),
            users::full_name.eq(ERASED_NAME),
            users::password_hash.eq(NO_PASSWORD),
            users::active.eq(false),
            users::email_verified_at.eq(None::<NaiveDateTime>),
            users::erased_at.eq(now),
            users::generation.eq(users::generation + 1),
        ))
        .execute(conn)?;
    audit_account(
        conn,
        id,
        "erased",
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

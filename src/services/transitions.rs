//! The one way an application changes state (DESIGN.md §7). In a single transaction `apply`
//! loads and locks the application, checks the caller's `If-Match`, asks the domain table
//! whether the action is allowed, runs the action's own checks, writes the new state, an audit
//! event and the outbox mails. Anything refused leaves the database as it was.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::db::DbConnection;
use crate::db::applications::{self as rows, ApplicationRow};
use crate::db::assignments;
use crate::db::calls::{self, CallRow};
use crate::domain::account::Role;
use crate::domain::actor::Actor;
use crate::domain::application_state::{Action, ApplicationState, TransitionError, next_state};
use crate::domain::call::{CallState, check_window};
use crate::domain::eligibility::{self, Assessment, Outcome};
use crate::domain::history::HistoryAction;
use crate::domain::ids::{ApplicationId, AssignmentId, UserId};
use crate::domain::money::Cents;
use crate::error::{FieldErrors, ServiceError};
use crate::notify::MailEvent;
use crate::services::applications::{
    Application, EligibilityReport, actor, compute_report, not_found, visibility,
};
use crate::services::grants;
use crate::services::mail_events::{assignment_mail, summary};
use crate::services::runner::{Audit, Move, change_state};
use crate::services::version::check_version;
use crate::state::AppState;

pub const TEXT_MAX: usize = 5000;

/// Body of `request-changes`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestChangesInput {
    /// What the applicant must change, in French.
    #[schema(
        example = "Merci de joindre le budget prévisionnel signé.",
        max_length = 5000
    )]
    pub message: String,
}

/// Body of `declare-ineligible`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclareIneligibleInput {
    /// Why, in French: the applicant receives it.
    #[schema(
        example = "Les statuts ne prévoient pas de gouvernance démocratique.",
        max_length = 5000
    )]
    pub motivation: String,
    /// Staff's reading of the report's `review` criteria, by criterion code.
    #[serde(default)]
    #[schema(example = json!({"ESS-2": {"outcome": "fail", "note": "Statuts lus : un seul associé décide."}}))]
    pub assessments: BTreeMap<String, Assessment>,
}

/// Body of `start-review`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartReviewInput {
    /// Accounts with the reviewer role.
    pub reviewer_ids: Vec<String>,
    /// Staff's reading of every `review` criterion; each must pass.
    #[serde(default)]
    #[schema(example = json!({"ESS-2": {"outcome": "pass", "note": "Statuts lus : un associé, une voix."}}))]
    pub assessments: BTreeMap<String, Assessment>,
}

/// Body of `withdraw`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawInput {
    #[schema(example = "Le projet est reporté à l'an prochain.", max_length = 5000)]
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecisionOutcome {
    Accepted,
    Rejected,
}

/// Body of `decision`: the committee's decision, recorded by staff.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    pub outcome: DecisionOutcome,
    /// Required when accepted: `0 < awarded_cents ≤ min(requested, cap, budget share, envelope left)`.
    #[schema(example = 1800000)]
    pub awarded_cents: Option<i64>,
    #[schema(
        example = "Projet structurant pour le quartier ; montant ajusté au budget.",
        max_length = 5000
    )]
    pub motivation: String,
    /// Date of the selection committee (not in the future).
    #[schema(example = "2027-03-15")]
    pub committee_date: chrono::NaiveDate,
    /// Reference of the decision (délibération, arrêté), required when accepted.
    #[schema(example = "DEL-2027-0042")]
    pub decision_reference: Option<String>,
}

#[derive(Debug)]
pub enum Command {
    Submit,
    RequestChanges(RequestChangesInput),
    DeclareIneligible(DeclareIneligibleInput),
    StartReview(StartReviewInput),
    Decide(DecisionInput),
    Withdraw(WithdrawInput),
}

impl Command {
    pub fn action(&self) -> Action {
        match self {
            Self::Submit => Action::Submit,
            Self::RequestChanges(_) => Action::RequestChanges,
            Self::DeclareIneligible(_) => Action::DeclareIneligible,
            Self::StartReview(_) => Action::StartReview,
            Self::Decide(d) if d.outcome == DecisionOutcome::Accepted => Action::Accept,
            Self::Decide(_) => Action::Reject,
            Self::Withdraw(_) => Action::Withdraw,
        }
    }

    /// The free text the applicant or staff wrote with the action, for the mails.
    fn note(&self) -> String {
        match self {
            Self::RequestChanges(i) => i.message.trim().to_owned(),
            Self::DeclareIneligible(i) => i.motivation.trim().to_owned(),
            Self::Withdraw(i) => i.reason.trim().to_owned(),
            Self::Decide(d) => d.motivation.trim().to_owned(),
            Self::Submit | Self::StartReview(_) => String::new(),
        }
    }

    /// Checks of the body alone, before touching the database (`today`: in Paris). Pages
    /// call it before asking to confirm, so that a confirmation is never asked for a form
    /// that will be refused.
    pub fn check(&self, today: chrono::NaiveDate) -> Result<(), ServiceError> {
        let mut errors = FieldErrors::new();
        fn text(errors: &mut FieldErrors, field: &str, v: &str) {
            if let Err(e) =
                crate::domain::text::required(v, crate::domain::text::Lines::Multi, TEXT_MAX)
            {
                errors.entry(field.into()).or_default().push(e);
            }
        }
        match self {
            Self::Submit => {}
            Self::RequestChanges(i) => text(&mut errors, "message", &i.message),
            Self::DeclareIneligible(i) => text(&mut errors, "motivation", &i.motivation),
            Self::Withdraw(i) => text(&mut errors, "reason", &i.reason),
            Self::Decide(d) => {
                text(&mut errors, "motivation", &d.motivation);
                // No committee sat before 2000 (a mistyped year); a date out of chrono's range
                // is refused with the others.
                let oldest = chrono::NaiveDate::from_ymd_opt(2000, 1, 1);
                if d.committee_date > today || oldest.is_none_or(|o| d.committee_date < o) {
                    errors
                        .entry("committee_date".into())
                        .or_default()
                        .push("la date du comité ne peut être dans le futur".into());
                }
                match d.outcome {
                    DecisionOutcome::Accepted => {
                        match d.awarded_cents {
                            None => errors
                                .entry("awarded_cents".into())
                                .or_default()
                                .push("indiquez le montant attribué (en centimes)".into()),
                            Some(v) if v <= 0 => errors
                                .entry("awarded_cents".into())
                                .or_default()
                                .push("le montant attribué doit être positif".into()),
                            Some(_) => {}
                        }
                        let r = d.decision_reference.as_deref().unwrap_or("").trim();
                        if let Err(e) =
                            crate::domain::text::check(r, crate::domain::text::Lines::Single)
                        {
                            errors
                                .entry("decision_reference".into())
                                .or_default()
                                .push(e.to_string());
                        } else if r.is_empty() || r.chars().count() > 100 {
                            errors.entry("decision_reference".into()).or_default().push(
                                "indiquez la référence de la décision (100 caractères au plus)"
                                    .into(),
                            );
                        }
                    }
                    DecisionOutcome::Rejected => {
                        if d.awarded_cents.is_some() {
                            errors
                                .entry("awarded_cents".into())
                                .or_default()
                                .push("un refus n'attribue pas de montant".into());
                        }
                        if d.decision_reference
                            .as_deref()
                            .is_some_and(|r| r.chars().count() > 100)
                        {
                            errors
                                .entry("decision_reference".into())
                                .or_default()
                                .push("100 caractères au plus".into());
                        }
                    }
                }
            }
            Self::StartReview(i) => {
                if i.reviewer_ids.is_empty() {
                    errors
                        .entry("reviewer_ids".into())
                        .or_default()
                        .push("désignez au moins un évaluateur".into());
                }
                if i.reviewer_ids.len() > 20 {
                    errors
                        .entry("reviewer_ids".into())
                        .or_default()
                        .push("20 évaluateurs au plus".into());
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ServiceError::invalid(errors))
        }
    }
}

fn transition_error(e: TransitionError, from: ApplicationState) -> ServiceError {
    match e {
        TransitionError::NotAllowedInState {
            action, allowed, ..
        } => {
            let mut extra = serde_json::Map::new();
            extra.insert("current_state".into(), json!(from));
            extra.insert(
                "allowed_actions".into(),
                json!(crate::domain::application_state::endpoints(&allowed)),
            );
            ServiceError::Conflict {
                message: format!(
                    "{} : l'action « {} » n'est pas possible. {}",
                    from.sentence_fr(),
                    action.verb_fr(),
                    if allowed.is_empty() {
                        "Aucune action ne vous est ouverte dans cet état.".to_owned()
                    } else {
                        format!(
                            "Actions possibles : {}.",
                            allowed
                                .iter()
                                .map(|a| a.verb_fr())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    }
                ),
                extra,
            }
        }
        TransitionError::Forbidden { action } => ServiceError::Forbidden(format!(
            "Vous ne pouvez pas {} cette candidature.",
            action.verb_fr()
        )),
    }
}

pub async fn apply(
    state: &AppState,
    user: &Actor,
    id: ApplicationId,
    expected_version: Option<i32>,
    command: Command,
) -> Result<Application, ServiceError> {
    let now_utc = state.clock.now_utc();
    let now = now_utc.naive_utc();
    command.check(crate::clock::paris_date(now_utc))?;
    // What the companies' register says of the SIRET, asked before the transaction (§17): the
    // network is never waited on with rows locked; the register down, the submission goes on.
    let evidence = if matches!(command, Command::Submit) {
        crate::services::registry::evidence_for_submission(state, user, &id).await?
    } else {
        None
    };
    let user = user.clone();
    let notifier = state.notifier.clone();
    let letters = state.letters.clone();
    state
        .db
        .transaction(move |conn| {
            rows::find_visible(conn, &id, &visibility(&user))?.ok_or_else(not_found)?;
            let mut row = rows::find_for_update(conn, &id)?.ok_or_else(not_found)?;
            check_version(expected_version, row.version)?;
            let from = row.state;
            let action = command.action();
            let to = next_state(from, action, actor(&user, &row)).map_err(|e| transition_error(e, from))?;
            if matches!(command, Command::Submit) {
                crate::domain::account::check_may_submit(user.email_verified)
                    .map_err(|why| ServiceError::Forbidden(why.into()))?;
            }
            let call = calls::find(conn, &row.call_id)?.ok_or_else(crate::services::calls::not_found)?;
            let mut new_reviewers: Vec<(UserId, AssignmentId)> = Vec::new();
            let note = command.note();
            let payload = match command {
                Command::Submit => submit(conn, &mut row, &call, now_utc)?,
                Command::RequestChanges(i) => json!({"message": i.message.trim()}),
                Command::DeclareIneligible(i) => {
                    let report = assess(conn, &row, &call, &i.assessments, user.id.as_str(), now_utc)?;
                    store_report(&mut row, &report)?;
                    json!({"motivation": i.motivation.trim(), "assessments": i.assessments})
                }
                Command::StartReview(i) => {
                    let report = assess(conn, &row, &call, &i.assessments, user.id.as_str(), now_utc)?;
                    let open = eligibility::unassessed_review_codes(&report.evaluation());
                    if !open.is_empty() {
                        let mut errors = FieldErrors::new();
                        for code in &open {
                            errors.insert(
                                format!("assessments.{code}"),
                                vec!["ce critère est « à vérifier » : indiquez votre lecture (outcome « pass ») et une note".into()],
                            );
                        }
                        return Err(ServiceError::invalid(errors));
                    }
                    store_report(&mut row, &report)?;
                    let (reviewers, added) = assign_reviewers(conn, &row, &i.reviewer_ids, &user.id, now)?;
                    new_reviewers = added;
                    json!({"reviewer_ids": reviewers, "assessments": i.assessments})
                }
                Command::Decide(d) => decide(conn, &mut row, &call, &d, now)?,
                Command::Withdraw(i) => json!({"reason": i.reason.trim()}),
            };
            let old = row.version;
            row.version += 1;
            row.updated_at = now;
            if action == Action::Submit {
                row.submitted_at = Some(now);
            }
            if rows::update_versioned(conn, &row, old)? != 1 {
                return Err(ServiceError::conflict("La candidature a été modifiée entre-temps : recommencez."));
            }
            let app = summary(conn, &row, &call)?;
            let event = match action {
                Action::Submit => MailEvent::Submitted {
                    app,
                    submitted_at: now.and_utc(),
                    commune_addresses: crate::db::communes::addresses_for_application(conn, row.id.as_str())?,
                },
                Action::RequestChanges => MailEvent::ChangesRequested {
                    app,
                    message: note.clone(),
                },
                Action::DeclareIneligible => MailEvent::DeclaredIneligible {
                    app,
                    motivation: note.clone(),
                    letter_id: None,
                },
                Action::StartReview => MailEvent::ReviewStarted { app },
                Action::Accept => MailEvent::Accepted {
                    app,
                    awarded_cents: row.awarded_cents.map_or(0, i64::from),
                    motivation: row.decision_motivation.clone().unwrap_or_default(),
                    committee_date: row.committee_date.unwrap_or_default(),
                    decision_reference: row.decision_reference.clone().unwrap_or_default(),
                    letter_id: None,
                },
                Action::Reject => MailEvent::Rejected {
                    app,
                    motivation: row.decision_motivation.clone().unwrap_or_default(),
                    committee_date: row.committee_date.unwrap_or_default(),
                    letter_id: None,
                },
                Action::Withdraw => MailEvent::Withdrawn {
                    app,
                    reason: note.clone(),
                    was_submitted: row.submitted_at.is_some(),
                },
            };
            let mut mails = vec![event];
            for (reviewer, assignment) in &new_reviewers {
                mails.push(assignment_mail(conn, &row, reviewer, assignment)?);
            }
            // A decision's letter (and an award's grant), written before the move so that
            // the move's audit event records the letter's digest (DESIGN.md §15).
            let motivation = match action {
                Action::Accept | Action::Reject => row.decision_motivation.clone().unwrap_or_default(),
                _ => note.clone(),
            };
            let decided =
                grants::issue_decision_letter(conn, &letters, &row, &call, to, &motivation, now_utc)?;
            let mut payload = payload;
            if let Some(e) = evidence.as_ref().filter(|_| action == Action::Submit) {
                crate::db::registry::put_evidence(conn, e)?;
                if let Some(map) = payload.as_object_mut() {
                    map.insert(
                        "registry_evidence".into(),
                        json!({"status": e.status, "siret": e.siret, "answer_sha256": e.answer_sha256}),
                    );
                }
            }
            if let Some(d) = &decided {
                // The decision's mail carries its letter (a reference; the worker attaches it).
                mails[0].attach_letter(d.letter.id.to_string());
            }
            if let (Some(d), Some(map)) = (&decided, payload.as_object_mut()) {
                map.insert("letter".into(), d.letter.audit_json());
                if let Some(g) = &d.grant {
                    map.insert("grant_id".into(), json!(g.id));
                }
            }
            change_state(
                conn,
                &notifier,
                Move { id: &row.id, from, to },
                Audit {
                    application_id: Some(&row.id),
                    call_id: None,
                    actor_id: &user.id,
                    action: HistoryAction::Transition(action).into(),
                    payload,
                },
                &mails,
            )?;
            if let Some(g) = decided.as_ref().and_then(|d| d.grant.as_ref()) {
                grants::start_grant(conn, &notifier, &letters, &user, &row, &call, g)?;
            }
            row.state = to;
            row.to_view(&user)
        })
        .await
}

/// The committee's decision: enough submitted reviews; for an award, every limit, the
/// envelope included, checked and consumed under the call's row lock (and a conditional
/// update as the last guard), so concurrent decisions on several instances cannot overspend.
fn decide(
    conn: &mut DbConnection,
    row: &mut ApplicationRow,
    call: &CallRow,
    d: &DecisionInput,
    now: chrono::NaiveDateTime,
) -> Result<Value, ServiceError> {
    let submitted = crate::db::reviews::submitted_scores(conn, row.id.as_str())?.len();
    if (submitted as i64) < i64::from(call.min_reviews) {
        return Err(ServiceError::conflict(format!(
            "Décision impossible : {submitted} évaluation(s) déposée(s) sur les {} requises par l'appel.",
            call.min_reviews
        )));
    }
    if d.outcome == DecisionOutcome::Accepted {
        let awarded = d.awarded_cents.unwrap_or(0);
        let call = calls::find_for_update(conn, &call.id)?
            .ok_or_else(crate::services::calls::not_found)?;
        let body = row.parsed_body()?;
        let limits = crate::domain::decision::AwardLimits::new(
            row.requested_cents.into(),
            call.max_award_cents.value(),
            call.max_budget_share_pct.map(|p| p as u8),
            body.project.total_budget_cents,
            call.envelope_left().value(),
        );
        if let Err(msg) = limits.check(awarded) {
            return Err(match limits.ceiling().1 {
                crate::domain::decision::AwardLimit::EnvelopeLeft if awarded > 0 => {
                    let mut extra = serde_json::Map::new();
                    extra.insert("envelope_left_cents".into(), json!(call.envelope_left()));
                    ServiceError::Conflict {
                        message: crate::services::calls::capitalise(&msg),
                        extra,
                    }
                }
                _ => ServiceError::invalid_field("awarded_cents", msg),
            });
        }
        let amount = Cents::new(awarded)
            .map_err(|e| ServiceError::invalid_field("awarded_cents", e.to_string()))?;
        if calls::consume_envelope(conn, &call.id, amount)? != 1 {
            return Err(ServiceError::conflict(
                "L'enveloppe de l'appel ne suffit plus pour ce montant.",
            ));
        }
        row.awarded_cents = Some(
            Cents::new(awarded)
                .map_err(|e| ServiceError::invalid_field("awarded_cents", e.to_string()))?,
        );
    }
    row.decision_motivation = Some(d.motivation.trim().to_owned());
    row.committee_date = Some(d.committee_date);
    row.decision_reference = d
        .decision_reference
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned);
    row.decided_at = Some(now);
    Ok(json!({
        "outcome": d.outcome,
        "awarded_cents": row.awarded_cents,
        "motivation": row.decision_motivation,
        "committee_date": d.committee_date,
        "decision_reference": row.decision_reference,
        "reviews": submitted,
    }))
}

/// Submission: the call is open, the report has no `fail` and no required document is
/// missing. The report is stored with the application either way it goes on.
fn submit(
    conn: &mut DbConnection,
    row: &mut ApplicationRow,
    call: &CallRow,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Value, ServiceError> {
    // A resubmission after `request-changes` is not held to the call's window: the call was
    // open at the first submission, and the applicant must not be stranded (DESIGN.md §7).
    let resubmission = row.state == ApplicationState::ChangesRequested;
    if !resubmission {
        let call_state = call.state;
        if call_state != CallState::Published {
            return Err(ServiceError::conflict(format!(
                "L'appel à projets est {} : il n'accepte pas de dépôt.",
                call_state.label_fr()
            )));
        }
        check_window(call.opens_at, call.closes_at, now.naive_utc()).map_err(|e| {
            ServiceError::conflict(crate::services::calls::capitalise(&e.to_string()))
        })?;
    }
    let report = compute_report(conn, row, call, now)?;
    let failed: Vec<&eligibility::Criterion> = report
        .criteria
        .iter()
        .filter(|c| c.outcome == Outcome::Fail)
        .collect();
    if !failed.is_empty() || !report.missing_documents.is_empty() {
        let mut errors = FieldErrors::new();
        for c in &failed {
            errors.insert(
                format!("eligibility.{}", c.code),
                vec![format!("{} : {}", c.label, c.detail)],
            );
        }
        if !report.missing_documents.is_empty() {
            let labels: BTreeMap<String, String> = call
                .documents()?
                .into_iter()
                .map(|d| (d.key, d.label))
                .collect();
            errors.insert(
                "documents".into(),
                report
                    .missing_documents
                    .iter()
                    .map(|k| {
                        format!(
                            "pièce manquante : {} ({k})",
                            labels.get(k).map_or(k.as_str(), |l| l)
                        )
                    })
                    .collect(),
            );
        }
        // Each failing criterion is named, not only counted.
        let named: Vec<String> = failed
            .iter()
            .map(|c| format!("{} ({})", c.code, c.label))
            .collect();
        let criteria = match named.len() {
            1 => format!("critère d'éligibilité non rempli : {}", named.join("")),
            _ => format!("critères d'éligibilité non remplis : {}", named.join(" ; ")),
        };
        let detail = match (failed.len(), report.missing_documents.len()) {
            (0, n) => format!("Dépôt impossible : {n} pièce(s) obligatoire(s) manquante(s)."),
            (_, 0) => format!("Dépôt impossible : {criteria}."),
            (_, n) => format!("Dépôt impossible : {criteria} ; et {n} pièce(s) manquante(s)."),
        };
        let report_json =
            serde_json::to_value(&report).map_err(|e| ServiceError::Internal(e.into()))?;
        return Err(ServiceError::Invalid {
            message: detail,
            fields: errors,
            extra: Some(("eligibility".into(), report_json)),
        });
    }
    store_report(row, &report)?;
    Ok(json!({"verdict": report.verdict, "rules_version": report.rules_version}))
}

fn store_report(row: &mut ApplicationRow, report: &EligibilityReport) -> Result<(), ServiceError> {
    row.eligibility =
        Some(serde_json::to_string(report).map_err(|e| ServiceError::Internal(e.into()))?);
    row.eligibility_verdict = Some(
        serde_json::to_value(report.verdict)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
    );
    Ok(())
}

/// Applies staff's readings to the stored report (every problem reported at once).
/// Staff read the report stored at submission; an application without one (imported or
/// seeded data, found by the fuzzer) gets one computed now rather than a 500.
fn assess(
    conn: &mut DbConnection,
    row: &ApplicationRow,
    call: &CallRow,
    assessments: &BTreeMap<String, Assessment>,
    by: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<EligibilityReport, ServiceError> {
    let report = match row.report()? {
        Some(report) => report,
        None => compute_report(conn, row, call, now)?,
    };
    let ev = report.evaluation();
    let problems = eligibility::validate_assessments(&ev, assessments);
    if !problems.is_empty() {
        let mut errors = FieldErrors::new();
        for p in problems {
            errors.entry(p.field()).or_default().push(p.to_string());
        }
        return Err(ServiceError::invalid(errors));
    }
    let assessed = eligibility::apply_assessments(&ev, assessments, by, now)
        .map_err(|e| ServiceError::invalid_field(e.field(), e.to_string()))?;
    Ok(EligibilityReport {
        verdict: assessed.verdict,
        criteria: assessed.criteria,
        ..report
    })
}

/// The reviewers `start-review` asked for, and those newly assigned with their assignment's id.
type Assigned = (Vec<String>, Vec<(UserId, AssignmentId)>);

/// Creates the assignments of `start-review`; every id must be a reviewer's account.
fn assign_reviewers(
    conn: &mut DbConnection,
    row: &ApplicationRow,
    ids: &[String],
    by: &UserId,
    now: chrono::NaiveDateTime,
) -> Result<Assigned, ServiceError> {
    let mut unique: Vec<String> = Vec::new();
    for id in ids {
        if !unique.contains(id) {
            unique.push(id.clone());
        }
    }
    let found = crate::db::users::find_many_with_role(conn, &unique, Role::Reviewer.as_str())?;
    let mut errors = FieldErrors::new();
    for (i, id) in ids.iter().enumerate() {
        if !found.iter().any(|u| &u.id == id) {
            errors.insert(
                format!("reviewer_ids[{i}]"),
                vec![format!("« {id} » n'est pas un compte évaluateur")],
            );
        }
    }
    if !errors.is_empty() {
        return Err(ServiceError::invalid(errors));
    }
    let existing = assignments::for_application(conn, &row.id)?;
    let mut added = Vec::new();
    for id in &unique {
        if existing.iter().any(|a| a.reviewer_id.as_str() == id) {
            continue;
        }
        let reviewer = crate::services::reviews::reviewer_id("reviewer_ids", id)?;
        let assignment =
            crate::services::reviews::add_assignment(conn, &row.id, &reviewer, by, now)?;
        added.push((assignment.reviewer_id, assignment.id));
    }
    Ok((unique, added))
}

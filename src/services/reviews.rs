//! Reviewers' work (DESIGN.md §9): assignments, the no-conflict statement or recusal, blind
//! reviews, staff's view of all reviews, and the ranking of a call.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::db::applications::{self as apps};
use crate::db::assignments::{self, AssignmentRow, WorkItem};
use crate::db::reviews::{self, ReviewRow};
use crate::db::{DbConnection, calls, users};
use crate::domain::account::Role;
use crate::domain::actor::Actor;
use crate::domain::application_state::ApplicationState;
use crate::domain::assignment::{self, AssignmentAction};
use crate::domain::history::HistoryAction;
use crate::domain::ids::{ApplicationId, AssignmentId, CallId, ReviewId, UserId};
use crate::domain::money::Cents;
use crate::domain::review::{self, ReviewAction};
use crate::domain::scoring::{self, Recommendation};
use crate::error::{FieldErrors, ServiceError};
use crate::input::{Page, Paging, Position};
use crate::notify::MailEvent;
use crate::services::applications::{not_found, record_event, visibility};
use crate::services::runner::{Audit, Move, change_state};
use crate::state::AppState;

pub use crate::domain::assignment::AssignmentStatus;
pub use crate::domain::review::ReviewStatus;

/// A line of `GET /assignments`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Assignment {
    #[schema(value_type = String)]
    pub id: AssignmentId,
    #[schema(value_type = String)]
    pub application_id: ApplicationId,
    #[schema(example = "EA-2026-00042")]
    pub reference: String,
    #[schema(value_type = String)]
    pub call_id: CallId,
    #[schema(value_type = String)]
    pub reviewer_id: UserId,
    pub status: AssignmentStatus,
    /// The review's status, absent before a first draft.
    pub review_status: Option<ReviewStatus>,
    pub application_state: ApplicationState,
    pub assigned_at: chrono::DateTime<chrono::Utc>,
    pub responded_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The applicant organisation: a reviewer reads who they would judge before declaring
    /// that they have no conflict of interest (DESIGN.md §9).
    #[schema(example = "Les Ateliers du Sart")]
    pub organisation_name: String,
    /// Absent when the organisation gave only an RNA number.
    #[schema(example = "73282932000074")]
    pub siret: Option<String>,
    /// INSEE code of the organisation's commune.
    #[schema(example = "59009")]
    pub commune_insee: String,
    #[schema(example = "Recyclerie de quartier")]
    pub project_title: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignInput {
    /// An account with the reviewer role.
    pub reviewer_id: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInput {
    /// The reviewer's declaration that they have no conflict of interest with the applicant.
    #[schema(
        example = "Je déclare n'avoir aucun lien personnel, professionnel ou financier avec la structure candidate."
    )]
    pub statement: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecuseInput {
    #[schema(example = "Je suis administratrice de l'association candidate.")]
    pub reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewInput {
    /// Keys of the call's grid, each an integer `0..=max_score`. A draft may leave criteria
    /// unscored (a reviewer scores over several sittings); submission needs every key.
    #[schema(example = json!({"social_utility": 4, "territorial_anchoring": 3, "governance": 5, "economic_viability": 3, "jobs": 2}))]
    #[serde(default)]
    pub scores: BTreeMap<String, i64>,
    #[schema(example = "Projet solide, ancrage local réel ; modèle économique à consolider.")]
    #[serde(default)]
    pub comment: String,
    /// May be left out of a draft; submission needs one.
    #[serde(default)]
    pub recommendation: Option<Recommendation>,
}

/// A review, as its author or staff read it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Review {
    pub id: String,
    pub assignment_id: String,
    pub application_id: String,
    pub reviewer_id: String,
    /// Present in staff's view of an application's reviews.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reviewer_name: Option<String>,
    pub scores: BTreeMap<String, i64>,
    pub comment: String,
    /// Absent from a draft where none is chosen yet; always there once submitted.
    pub recommendation: Option<Recommendation>,
    pub status: ReviewStatus,
    /// 0–100, two decimals; computed on submission.
    pub score: Option<f64>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    pub submitted_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A line of a call's ranking.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RankingEntry {
    pub rank: u32,
    #[schema(value_type = String)]
    pub application_id: ApplicationId,
    #[schema(example = "EA-2026-00042")]
    pub reference: String,
    #[schema(example = "Les Ateliers du Sart")]
    pub organisation_name: String,
    /// The amount the application asks for, in cents.
    #[schema(value_type = i64, example = 2000000)]
    pub requested_cents: Cents,
    /// `under_review` (to decide), `accepted` or `rejected`.
    pub state: ApplicationState,
    /// The amount awarded, once accepted.
    #[schema(value_type = Option<i64>, example = json!(null))]
    pub awarded_cents: Option<Cents>,
    /// Mean of the submitted reviews, 0–100, two decimals.
    #[schema(example = 76.5)]
    pub score: f64,
    /// Max − min of the reviews' scores.
    #[schema(example = 12.0)]
    pub spread: f64,
    /// The spread is above 25 points: the committee should look closer.
    pub spread_flag: bool,
    /// Number of submitted reviews.
    pub reviews: usize,
    /// The call's `min_reviews`: a decision needs at least this many submitted reviews.
    #[schema(example = 2)]
    pub min_reviews: u32,
    /// Fewer submitted reviews than `min_reviews`: no decision can be recorded yet.
    pub missing_reviews: bool,
    /// For an application still to decide: the largest award allowed now, the smallest of
    /// the amount requested, the call's cap, its share of the project's budget and what is
    /// left in the envelope (0 when the envelope is spent).
    #[schema(example = 2000000)]
    pub award_ceiling_cents: Option<i64>,
    /// The opinions the communes where the project takes place gave (§16).
    pub commune_opinions: Vec<crate::services::commune_opinions::OpinionBrief>,
}

fn internal(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Internal(anyhow::anyhow!("{e}"))
}

impl ReviewRow {
    fn to_view(&self, reviewer_name: Option<String>) -> Result<Review, ServiceError> {
        Ok(Review {
            id: self.id.to_string(),
            assignment_id: self.assignment_id.to_string(),
            application_id: self.application_id.to_string(),
            reviewer_id: self.reviewer_id.to_string(),
            reviewer_name,
            scores: serde_json::from_str(&self.scores).map_err(internal)?,
            comment: self.comment.clone(),
            recommendation: self.recommendation,
            status: self.status,
            score: self.score_hundredths.map(|h| f64::from(h) / 100.0),
            updated_at: self.updated_at.and_utc(),
            submitted_at: self.submitted_at.map(|t| t.and_utc()),
        })
    }
}

fn review_status(s: &str) -> Result<ReviewStatus, ServiceError> {
    ReviewStatus::parse(s).ok_or_else(|| internal(format!("unknown review status {s}")))
}

fn work_item_view(w: WorkItem) -> Result<Assignment, ServiceError> {
    let body: serde_json::Value = serde_json::from_str(&w.body).map_err(internal)?;
    let organisation = &body["organisation"];
    let siret = organisation["siret"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    let commune_insee = organisation["commune_insee"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    Ok(Assignment {
        organisation_name: w.organisation_name,
        siret,
        commune_insee,
        project_title: w.project_title,
        id: w.assignment.id,
        application_id: w.assignment.application_id,
        reference: w.reference,
        call_id: w.call_id,
        reviewer_id: w.assignment.reviewer_id,
        status: w.assignment.status,
        review_status: w.review_status.as_deref().map(review_status).transpose()?,
        application_state: w.application_state,
        assigned_at: w.assignment.assigned_at.and_utc(),
        responded_at: w.assignment.responded_at.map(|t| t.and_utc()),
    })
}

fn text(field: &str, v: &str, max: usize) -> Result<String, ServiceError> {
    let t = v.trim();
    if t.is_empty() {
        return Err(ServiceError::invalid_field(
            field,
            "ce champ est obligatoire",
        ));
    }
    if t.chars().count() > max {
        return Err(ServiceError::invalid_field(
            field,
            format!("{max} caractères au plus"),
        ));
    }
    Ok(t.to_owned())
}

fn assignment_not_found() -> ServiceError {
    ServiceError::not_found("Cette affectation n'existe pas ou ne vous concerne pas.")
}

/// An assignment's id as a face received it: a malformed one is « not found », like an
/// unknown one or another reviewer's.
pub fn assignment_id(text: &str) -> Result<AssignmentId, ServiceError> {
    AssignmentId::parse(text).ok_or_else(assignment_not_found)
}

/// The caller's own assignment (a reviewer never reaches another's; staff do not act on them).
fn own_assignment(
    conn: &mut DbConnection,
    user: &Actor,
    id: &str,
) -> Result<AssignmentRow, ServiceError> {
    let row = assignments::find(conn, id)?.ok_or_else(assignment_not_found)?;
    if row.reviewer_id != user.id {
        return Err(if user.role.is_staff() {
            ServiceError::Forbidden("Seul l'évaluateur désigné agit sur son affectation.".into())
        } else {
            assignment_not_found()
        });
    }
    Ok(row)
}

fn status_conflict(row: &AssignmentRow, what: &str) -> ServiceError {
    let mut extra = serde_json::Map::new();
    extra.insert("current_status".into(), json!(row.status));
    ServiceError::Conflict {
        message: what.to_owned(),
        extra,
    }
}

fn not_a_reviewer(field: &str, text: &str) -> ServiceError {
    ServiceError::invalid_field(field, format!("« {text} » n'est pas un compte évaluateur"))
}

/// A reviewer's id as a request gave it (`field` names it in the refusal): text that is no id
/// is refused in the same words as an id of no reviewer.
pub fn reviewer_id(field: &str, text: &str) -> Result<UserId, ServiceError> {
    UserId::parse(text).ok_or_else(|| not_a_reviewer(field, text))
}

/// Inserts the assignment of `reviewer_id`: checks the role and that it is not already there.
pub fn add_assignment(
    conn: &mut DbConnection,
    application_id: &ApplicationId,
    reviewer_id: &UserId,
    by: &UserId,
    at: NaiveDateTime,
) -> Result<AssignmentRow, ServiceError> {
    let found =
        users::find_many_with_role(conn, &[reviewer_id.to_string()], Role::Reviewer.as_str())?;
    if found.is_empty() {
        return Err(not_a_reviewer("reviewer_id", reviewer_id.as_str()));
    }
    if assignments::for_application(conn, application_id)?
        .iter()
        .any(|a| &a.reviewer_id == reviewer_id)
    {
        return Err(ServiceError::conflict(
            "Cet évaluateur est déjà affecté à cette candidature.",
        ));
    }
    let row = AssignmentRow {
        id: AssignmentId::new(),
        application_id: application_id.clone(),
        reviewer_id: reviewer_id.clone(),
        status: AssignmentStatus::Pending,
        statement: None,
        recusal_reason: None,
        assigned_by: by.to_string(),
        assigned_at: at,
        responded_at: None,
    };
    assignments::insert(conn, &row)?;
    Ok(row)
}

pub async fn assign(
    state: &AppState,
    user: &Actor,
    application_id: ApplicationId,
    input: AssignInput,
) -> Result<Assignment, ServiceError> {
    user.require_staff()?;
    let user = user.clone();
    let notifier = state.notifier.clone();
    let now = state.clock.now();
    state
        .db
        .transaction(move |conn| {
            let app = apps::find_for_update(conn, &application_id)?.ok_or_else(not_found)?;
            let st = app.state;
            if st != ApplicationState::UnderReview {
                let mut extra = serde_json::Map::new();
                extra.insert("current_state".into(), json!(st));
                return Err(ServiceError::Conflict {
                    message: format!(
                        "{} : on n'y affecte un évaluateur qu'en cours d'instruction.",
                        st.sentence_fr()
                    ),
                    extra,
                });
            }
            let reviewer = reviewer_id("reviewer_id", &input.reviewer_id)?;
            let row = add_assignment(conn, &app.id, &reviewer, &user.id, now)?;
            record_event(
                conn,
                &app.id,
                &user.id,
                HistoryAction::AssignReviewer,
                None,
                None,
                json!({"reviewer_id": row.reviewer_id, "assignment_id": row.id}),
                now,
            )?;
            let mail = crate::services::mail_events::assignment_mail(
                conn,
                &app,
                &row.reviewer_id,
                &row.id,
            )?;
            notifier.queue(conn, &mail)?;
            let items = assignments::work_items(conn, row.reviewer_id.as_str())?;
            let item = items
                .into_iter()
                .find(|w| w.assignment.id == row.id)
                .ok_or_else(assignment_not_found)?;
            work_item_view(item)
        })
        .await
}

/// A page of the work list: the reviewer's assignments, or everyone's for staff; latest
/// first, from a page number or a cursor of this list.
pub async fn list(
    state: &AppState,
    user: &Actor,
    position: impl Into<Position>,
) -> Result<Page<Assignment>, ServiceError> {
    let (sort, kind) = assignments::LIST_SORT;
    let window = position.into().window(sort, kind)?;
    let reviewer = match user.role {
        Role::Reviewer => Some(user.id.clone()),
        Role::Staff | Role::Admin => None,
        Role::Applicant | Role::Commune => {
            return Err(ServiceError::Forbidden(
                "Les affectations concernent les évaluateurs et les agents.".into(),
            ));
        }
    };
    state
        .db
        .run(move |conn| {
            let (paged, total) =
                assignments::work_list(conn, reviewer.as_ref().map(UserId::as_str), &window)?;
            Page::from_paged(paged, total, window.per_page(), work_item_view)
        })
        .await
}

/// One assignment: its reviewer's, or any for staff (what `Location` of an assignment names).
/// Another reviewer's is told not to exist.
pub async fn get_assignment(
    state: &AppState,
    user: &Actor,
    id: AssignmentId,
) -> Result<Assignment, ServiceError> {
    user.require(&[Role::Reviewer, Role::Staff, Role::Admin])?;
    let user = user.clone();
    state
        .db
        .run(move |conn| {
            let row = assignments::find(conn, id.as_str())?.ok_or_else(assignment_not_found)?;
            if !user.role.is_staff() && row.reviewer_id != user.id {
                return Err(assignment_not_found());
            }
            let items = assignments::work_items(conn, row.reviewer_id.as_str())?;
            let item = items
                .into_iter()
                .find(|w| w.assignment.id == row.id)
                .ok_or_else(assignment_not_found)?;
            work_item_view(item)
        })
        .await
}

/// The id of the caller's own assignment to `application_id`, if they have one: where a
/// reviewer is sent when they open the application by its id (a link of an older mail).
pub async fn own_assignment_to(
    state: &AppState,
    user: &Actor,
    application_id: ApplicationId,
) -> Result<Option<AssignmentId>, ServiceError> {
    user.require(&[Role::Reviewer])?;
    let user = user.clone();
    state
        .db
        .run(move |conn| {
            Ok(assignments::for_application(conn, &application_id)?
                .into_iter()
                .find(|a| a.reviewer_id == user.id)
                .map(|a| a.id))
        })
        .await
}

async fn respond(
    state: &AppState,
    user: &Actor,
    id: AssignmentId,
    accept: bool,
    text_value: String,
) -> Result<Assignment, ServiceError> {
    user.require(&[Role::Reviewer])?;
    let field = if accept { "statement" } else { "reason" };
    let text_value = text(field, &text_value, 2000)?;
    let user = user.clone();
    let notifier = state.notifier.clone();
    let now = state.clock.now();
    state
        .db
        .transaction(move |conn| {
            let mut row = own_assignment(conn, &user, id.as_str())?;
            let submitted = match reviews::for_assignment(conn, &row.id)? {
                Some(r) => r.status == ReviewStatus::Submitted,
                None => false,
            };
            let from = row.status;
            let action = if accept {
                AssignmentAction::Accept
            } else {
                AssignmentAction::Recuse
            };
            let to = assignment::respond(from, action, submitted)
                .map_err(|why| status_conflict(&row, why))?;
            let app = apps::find_for_update(conn, &row.application_id)?.ok_or_else(not_found)?;
            if app.state != ApplicationState::UnderReview {
                return Err(ServiceError::conflict(
                    "La candidature n'est plus en cours d'instruction.",
                ));
            }
            row.responded_at = Some(now);
            if accept {
                row.statement = Some(text_value.clone());
            } else {
                row.recusal_reason = Some(text_value.clone());
            }
            assignments::update(conn, &row)?;
            let action = if accept {
                HistoryAction::AssignmentAccept
            } else {
                HistoryAction::AssignmentRecuse
            }
            .into();
            // A recusal tells the agents, with its reason: someone else may have to be assigned.
            let mut mails = Vec::new();
            if !accept {
                let call = calls::find(conn, &app.call_id)?
                    .ok_or_else(crate::services::calls::not_found)?;
                let reviewer_name = users::find(conn, user.id.as_str())?
                    .map(|u| u.full_name)
                    .unwrap_or_default();
                mails.push(MailEvent::ReviewerRecused {
                    app: crate::services::mail_events::summary(conn, &app, &call)?,
                    reviewer_name,
                    reason: text_value.clone(),
                });
            }
            change_state(
                conn,
                &notifier,
                Move {
                    id: &row.id,
                    from,
                    to,
                },
                Audit {
                    application_id: Some(&row.application_id),
                    call_id: None,
                    actor_id: &user.id,
                    action,
                    payload: json!({"assignment_id": row.id, field: text_value}),
                },
                &mails,
            )?;
            let items = assignments::work_items(conn, user.id.as_str())?;
            let item = items
                .into_iter()
                .find(|w| w.assignment.id == row.id)
                .ok_or_else(assignment_not_found)?;
            work_item_view(item)
        })
        .await
}

pub async fn accept(
    state: &AppState,
    user: &Actor,
    id: AssignmentId,
    input: AcceptInput,
) -> Result<Assignment, ServiceError> {
    respond(state, user, id, true, input.statement).await
}

pub async fn recuse(
    state: &AppState,
    user: &Actor,
    id: AssignmentId,
    input: RecuseInput,
) -> Result<Assignment, ServiceError> {
    respond(state, user, id, false, input.reason).await
}

/// The assignment, accepted, on an application under review, with the call's grid.
fn reviewable(
    conn: &mut DbConnection,
    user: &Actor,
    id: &str,
) -> Result<(AssignmentRow, Vec<crate::domain::call::ScoringCriterion>), ServiceError> {
    let row = own_assignment(conn, user, id)?;
    if !assignment::may_review(row.status) {
        return Err(status_conflict(
            &row,
            "Acceptez d'abord l'affectation en déclarant l'absence de conflit d'intérêts.",
        ));
    }
    let app = apps::find_for_update(conn, &row.application_id)?.ok_or_else(not_found)?;
    if app.state != ApplicationState::UnderReview {
        return Err(ServiceError::conflict(
            "La candidature n'est plus en cours d'instruction : l'évaluation est close.",
        ));
    }
    let call = calls::find(conn, &app.call_id)?.ok_or_else(crate::services::calls::not_found)?;
    Ok((row, call.grid()?))
}

pub async fn save_draft(
    state: &AppState,
    user: &Actor,
    id: AssignmentId,
    input: ReviewInput,
) -> Result<Review, ServiceError> {
    user.require(&[Role::Reviewer])?;
    let comment = input.comment.trim().to_owned();
    if comment.chars().count() > 10_000 {
        return Err(ServiceError::invalid_field(
            "comment",
            "10 000 caractères au plus",
        ));
    }
    let user = user.clone();
    let now = state.clock.now();
    state
        .db
        .transaction(move |conn| {
            let (assignment, grid) = reviewable(conn, &user, id.as_str())?;
            // A draft may be partial (DESIGN.md §9): only submission needs every score.
            let problems = scoring::check_draft_scores(&grid, &input.scores);
            if !problems.is_empty() {
                let mut errors = FieldErrors::new();
                for (f, m) in problems {
                    errors.entry(f).or_default().push(m);
                }
                return Err(ServiceError::invalid(errors));
            }
            let scores = serde_json::to_string(&input.scores).map_err(internal)?;
            let existing = reviews::for_assignment(conn, &assignment.id)?;
            let from = existing.as_ref().map(|r| r.status);
            review::next(from, ReviewAction::Save).map_err(ServiceError::conflict)?;
            let row = match existing {
                Some(mut r) => {
                    r.scores = scores;
                    r.comment = comment;
                    r.recommendation = input.recommendation;
                    r.updated_at = now;
                    reviews::update(conn, &r)?;
                    r
                }
                None => {
                    let r = ReviewRow {
                        id: ReviewId::new(),
                        assignment_id: assignment.id.clone(),
                        application_id: assignment.application_id.clone(),
                        reviewer_id: user.id.clone(),
                        scores,
                        comment,
                        recommendation: input.recommendation,
                        status: ReviewStatus::Draft,
                        score_hundredths: None,
                        created_at: now,
                        updated_at: now,
                        submitted_at: None,
                    };
                    reviews::insert(conn, &r)?;
                    r
                }
            };
            row.to_view(None)
        })
        .await
}

pub async fn get_own(
    state: &AppState,
    user: &Actor,
    id: AssignmentId,
) -> Result<Review, ServiceError> {
    user.require(&[Role::Reviewer])?;
    let user = user.clone();
    state
        .db
        .run(move |conn| {
            let row = own_assignment(conn, &user, id.as_str())?;
            reviews::for_assignment(conn, &row.id)?
                .ok_or_else(|| {
                    ServiceError::not_found("Aucune évaluation enregistrée pour cette affectation.")
                })?
                .to_view(None)
        })
        .await
}

pub async fn submit(
    state: &AppState,
    user: &Actor,
    id: AssignmentId,
) -> Result<Review, ServiceError> {
    user.require(&[Role::Reviewer])?;
    let user = user.clone();
    let notifier = state.notifier.clone();
    let now = state.clock.now();
    state
        .db
        .transaction(move |conn| {
            let (assignment, grid) = reviewable(conn, &user, id.as_str())?;
            let existing = reviews::for_assignment(conn, &assignment.id)?;
            let from = existing.as_ref().map(|r| r.status);
            let to = review::next(from, ReviewAction::Submit).map_err(ServiceError::conflict)?;
            let (Some(mut row), Some(from)) = (existing, from) else {
                return Err(ServiceError::Internal(anyhow::anyhow!(
                    "submitted a missing review"
                )));
            };
            let scores: BTreeMap<String, i64> =
                serde_json::from_str(&row.scores).map_err(internal)?;
            // The grid cannot change after submissions, but check again: the score must mean
            // what the grid says.
            let mut errors = FieldErrors::new();
            for (f, m) in scoring::check_scores(&grid, &scores) {
                errors.entry(f).or_default().push(m);
            }
            if row.recommendation.is_none() {
                errors.entry("recommendation".into()).or_default().push(
                    "choisissez un avis (favorable, réservé ou défavorable) avant de soumettre"
                        .into(),
                );
            }
            if !errors.is_empty() {
                return Err(ServiceError::invalid(errors));
            }
            row.score_hundredths = Some(scoring::hundredths(scoring::review_score(&grid, &scores)));
            row.submitted_at = Some(now);
            row.updated_at = now;
            reviews::update(conn, &row)?;
            let mails = reviews_complete_mail(conn, &row)?;
            change_state(
                conn,
                &notifier,
                Move {
                    id: &row.id,
                    from,
                    to,
                },
                Audit {
                    application_id: Some(&row.application_id),
                    call_id: None,
                    actor_id: &user.id,
                    action: HistoryAction::SubmitReview.into(),
                    payload: json!({"review_id": row.id, "recommendation": row.recommendation}),
                },
                &mails,
            )?;
            row.status = to;
            row.to_view(None)
        })
        .await
}

/// The agents' mail once `submitting` is the last review in (every reviewer not recused has
/// submitted; see [`review::all_reviews_in`]), queued with the submission.
fn reviews_complete_mail(
    conn: &mut DbConnection,
    submitting: &ReviewRow,
) -> Result<Vec<MailEvent>, ServiceError> {
    let app_id = &submitting.application_id;
    let reviews_by_assignment: BTreeMap<AssignmentId, ReviewStatus> =
        reviews::for_application(conn, app_id)?
            .into_iter()
            .map(|(r, _)| Ok((r.assignment_id.clone(), r.status)))
            .collect::<Result<_, ServiceError>>()?;
    let reviewers = assignments::for_application(conn, app_id)?
        .iter()
        .map(|a| {
            let review = if a.id == submitting.assignment_id {
                Some(ReviewStatus::Submitted)
            } else {
                reviews_by_assignment.get(&a.id).copied()
            };
            Ok((a.status, review))
        })
        .collect::<Result<Vec<_>, ServiceError>>()?;
    if !review::all_reviews_in(&reviewers) {
        return Ok(Vec::new());
    }
    let app = apps::find_for_update(conn, app_id)?.ok_or_else(not_found)?;
    let call = calls::find(conn, &app.call_id)?.ok_or_else(crate::services::calls::not_found)?;
    let submitted_reviews = reviewers
        .iter()
        .filter(|(a, r)| {
            *a != assignment::AssignmentStatus::Recused && *r == Some(ReviewStatus::Submitted)
        })
        .count() as i64;
    Ok(vec![MailEvent::ReviewsComplete {
        app: crate::services::mail_events::summary(conn, &app, &call)?,
        submitted_reviews,
        min_reviews: i64::from(call.min_reviews),
    }])
}

pub async fn for_application(
    state: &AppState,
    user: &Actor,
    application_id: ApplicationId,
) -> Result<Vec<Review>, ServiceError> {
    let user = user.clone();
    state
        .db
        .run(move |conn| {
            // Visibility first: an applicant's foreign application is a 404, not a 403.
            apps::find_visible(conn, &application_id, &visibility(&user))?.ok_or_else(not_found)?;
            if !user.role.is_staff() {
                return Err(ServiceError::Forbidden(
                    "Les évaluations sont confidentielles : seuls les agents les consultent."
                        .into(),
                ));
            }
            reviews::for_application(conn, &application_id)?
                .into_iter()
                .map(|(r, name)| r.to_view(Some(name)))
                .collect()
        })
        .await
}

pub async fn ranking(
    state: &AppState,
    user: &Actor,
    call_id: CallId,
    paging: Paging,
) -> Result<Page<RankingEntry>, ServiceError> {
    user.require_staff()?;
    state
        .db
        .run(move |conn| {
            let call =
                calls::find(conn, &call_id)?.ok_or_else(crate::services::calls::not_found)?;
            let mut by_app: BTreeMap<ApplicationId, (reviews::ScoreLine, Vec<i32>)> =
                BTreeMap::new();
            for line in reviews::scores_for_call(conn, &call_id)? {
                let score = line.score;
                by_app
                    .entry(line.application_id.clone())
                    .or_insert_with(|| (line, Vec::new()))
                    .1
                    .push(score);
            }
            let entries: Vec<scoring::RankInput<reviews::ScoreLine>> = by_app
                .into_values()
                .filter_map(|(line, scores)| {
                    scoring::aggregate(&scores).map(|aggregate| scoring::RankInput {
                        submitted_at: line.submitted_at.unwrap_or_default(),
                        item: line,
                        aggregate,
                    })
                })
                .collect();
            let ranked = scoring::rank(entries);
            let total = ranked.len() as i64;
            let page: Vec<_> = ranked
                .into_iter()
                .skip(paging.offset() as usize)
                .take(paging.limit() as usize)
                .collect();
            // The ceiling of an award needs the project's total budget, read from the body
            // of the applications still to decide on this page only.
            let open: Vec<ApplicationId> = page
                .iter()
                .filter(|(_, e)| e.item.state == ApplicationState::UnderReview)
                .map(|(_, e)| e.item.application_id.clone())
                .collect();
            let mut budgets = BTreeMap::new();
            for (id, body) in reviews::bodies(conn, &open)? {
                let body: crate::domain::application::ApplicationBody =
                    serde_json::from_str(&body).map_err(internal)?;
                budgets.insert(id, body.project.total_budget_cents);
            }
            let left = call.envelope_left().value();
            let ids: Vec<ApplicationId> = page
                .iter()
                .map(|(_, e)| e.item.application_id.clone())
                .collect();
            let mut opinions = crate::services::commune_opinions::briefs(conn, &ids)?;
            let items = page
                .into_iter()
                .map(|(rank, e)| {
                    let line = e.item;
                    let state = line.state;
                    let award_ceiling_cents = budgets.get(&line.application_id).map(|total| {
                        crate::domain::decision::AwardLimits::new(
                            line.requested_cents.value(),
                            call.max_award_cents.value(),
                            call.max_budget_share_pct.map(|p| p as u8),
                            *total,
                            left,
                        )
                        .ceiling()
                        .0
                        .value()
                    });
                    let commune_opinions =
                        opinions.remove(&line.application_id).unwrap_or_default();
                    Ok(RankingEntry {
                        rank,
                        application_id: line.application_id,
                        reference: line.reference,
                        organisation_name: line.organisation_name,
                        requested_cents: line.requested_cents,
                        state,
                        awarded_cents: line.awarded_cents,
                        score: e.aggregate.score,
                        spread: e.aggregate.spread,
                        spread_flag: e.aggregate.spread_flag,
                        reviews: e.aggregate.reviews,
                        min_reviews: call.min_reviews as u32,
                        missing_reviews: (e.aggregate.reviews as i64) < i64::from(call.min_reviews),
                        award_ceiling_cents,
                        commune_opinions,
                    })
                })
                .collect::<Result<Vec<_>, ServiceError>>()?;
            Ok(Page::new(items, total, paging))
        })
        .await
}

/// What a reviewer's page of one assignment shows: the assignment (with the identity facts
/// read before declaring), the call's title and grid, and their own review if they have one.
/// Never another reviewer's review: the review is read by this assignment's id, which is the
/// caller's own (someone else's assignment is a 404).
#[derive(Debug, Clone, Serialize)]
pub struct ReviewerDesk {
    pub assignment: Assignment,
    pub call_title: String,
    pub grid: Vec<crate::domain::call::ScoringCriterion>,
    pub review: Option<Review>,
}

pub async fn desk(
    state: &AppState,
    user: &Actor,
    id: AssignmentId,
) -> Result<ReviewerDesk, ServiceError> {
    user.require(&[Role::Reviewer])?;
    let user = user.clone();
    state
        .db
        .run(move |conn| {
            let row = own_assignment(conn, &user, id.as_str())?;
            let items = assignments::work_items(conn, user.id.as_str())?;
            let item = items
                .into_iter()
                .find(|w| w.assignment.id == row.id)
                .ok_or_else(assignment_not_found)?;
            let call =
                calls::find(conn, &item.call_id)?.ok_or_else(crate::services::calls::not_found)?;
            let review = reviews::for_assignment(conn, &row.id)?
                .map(|r| r.to_view(None))
                .transpose()?;
            Ok(ReviewerDesk {
                assignment: work_item_view(item)?,
                call_title: call.title.clone(),
                grid: call.grid()?,
                review,
            })
        })
        .await
}

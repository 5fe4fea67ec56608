//! The agents' workspace (DESIGN.md §13, issue 15): a call's dashboard, the data of an
//! application's page for staff, the reviewers to choose from. Every function checks the role
//! first: these are staff's views, an applicant or a reviewer gets a 403 whatever the id.

use serde::Serialize;

use crate::db::calls::{self as call_rows};
use crate::db::staff as rows;
use crate::domain::actor::Actor;
use crate::domain::application_state::ApplicationState;
use crate::domain::assignment::AssignmentStatus;
use crate::domain::dashboard::{self, Waiting};
use crate::domain::ids::{ApplicationId, AssignmentId, CallId, UserId};
use crate::error::ServiceError;
use crate::input::{Page, Paging, Position};
use crate::services::applications::{
    self, Application, ApplicationSummary, HistoryEvent, ListFilter,
};
use crate::services::calls::{self, Call};
use crate::services::documents::{self, Document};
use crate::services::reviews::{self, Review};
use crate::state::AppState;

/// Refuses anyone but staff and admins.
pub fn require_staff(user: &Actor) -> Result<(), ServiceError> {
    if user.role.is_staff() {
        Ok(())
    } else {
        Err(ServiceError::Forbidden(
            "Ces pages sont réservées aux agents de la Métropole.".into(),
        ))
    }
}

/// Every call, drafts included, newest first (the agents' home).
pub async fn calls(state: &AppState, user: &Actor) -> Result<Page<Call>, ServiceError> {
    require_staff(user)?;
    calls::list(
        state,
        true,
        None,
        Paging {
            page: 1,
            per_page: 100,
        },
    )
    .await
}

/// A call (drafts included) and a page of its applications, in one database call (one
/// hand-off to the blocking pool instead of two: the agents' table, issue 19). `filter` names
/// the call (`call_id`); a call that does not exist is a 404 whatever the filter.
pub async fn call_and_applications(
    state: &AppState,
    user: &Actor,
    call_id: CallId,
    filter: ListFilter,
    position: Position,
) -> Result<(Call, Page<ApplicationSummary>), ServiceError> {
    require_staff(user)?;
    let window = applications::list_window(&filter, &position)?;
    let user = user.clone();
    let now = state.clock.now();
    state
        .db
        .run(move |conn| {
            let call = calls::find_in(conn, true, &call_id, now)?;
            let page = applications::list_in(conn, &user, &filter, &window)?;
            Ok((call, page))
        })
        .await
}

/// Number of applications in one state.
#[derive(Debug, Clone, Serialize)]
pub struct StateCount {
    pub state: ApplicationState,
    pub count: i64,
}

/// A call's dashboard.
#[derive(Debug, Clone, Serialize)]
pub struct Dashboard {
    pub call: Call,
    /// Every state, in the life cycle's order (zeros included).
    pub counts: Vec<StateCount>,
    pub total: i64,
    /// The sum requested by the applications under review.
    pub under_review_requested_cents: i64,
    pub waiting: Waiting,
}

pub async fn dashboard(
    state: &AppState,
    user: &Actor,
    call_id: CallId,
) -> Result<Dashboard, ServiceError> {
    require_staff(user)?;
    let now = state.clock.now();
    state
        .db
        .run(move |conn| {
            let call = call_rows::find(conn, &call_id)?
                .ok_or_else(calls::not_found)?
                .to_view(now)?;
            let stored = crate::db::applications::counts_by_state(conn, &call_id)?;
            let count_of = |s: ApplicationState| {
                stored
                    .iter()
                    .find(|(st, _)| *st == s)
                    .map_or(0, |(_, n)| *n)
            };
            let counts: Vec<StateCount> = ApplicationState::ALL
                .into_iter()
                .map(|s| StateCount {
                    state: s,
                    count: count_of(s),
                })
                .collect();
            let total = counts.iter().map(|c| c.count).sum();
            let requested =
                rows::requested_in_state(conn, &call.id, ApplicationState::UnderReview)?;
            let submitted_reviews = rows::submitted_reviews_under_review(conn, &call.id)?;
            let assignments: Vec<(String, AssignmentStatus)> =
                rows::assignments_under_review(conn, &call.id)?
                    .into_iter()
                    .filter_map(|(id, st)| AssignmentStatus::parse(&st).map(|s| (id, s)))
                    .collect();
            let mut under_review_ids: Vec<String> =
                assignments.iter().map(|(id, _)| id.clone()).collect();
            under_review_ids.sort();
            under_review_ids.dedup();
            // Applications under review with no assignment at all are short of reviewers too.
            let missing = count_of(ApplicationState::UnderReview) - under_review_ids.len() as i64;
            let mut waiting = dashboard::waiting(
                count_of(ApplicationState::Submitted),
                &under_review_ids,
                &submitted_reviews,
                &assignments,
                call.min_reviews,
            );
            waiting.short_of_reviewers += missing.max(0);
            Ok(Dashboard {
                counts,
                total,
                under_review_requested_cents: requested.iter().map(|c| c.value()).sum(),
                waiting,
                call,
            })
        })
        .await
}

/// A reviewer's assignment, as staff see it on the application's page.
#[derive(Debug, Clone, Serialize)]
pub struct StaffAssignment {
    pub id: AssignmentId,
    pub reviewer_id: UserId,
    pub reviewer_name: String,
    pub status: AssignmentStatus,
    pub recusal_reason: Option<String>,
    pub review_status: Option<String>,
    pub assigned_at: chrono::DateTime<chrono::Utc>,
}

/// A reviewer account staff may assign.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewerChoice {
    pub id: String,
    pub full_name: String,
    pub email: String,
}

/// Everything the application's page shows to staff.
#[derive(Debug, Clone, Serialize)]
pub struct StaffApplication {
    pub application: Application,
    pub call: Call,
    pub documents: Vec<Document>,
    pub history: Vec<HistoryEvent>,
    pub assignments: Vec<StaffAssignment>,
    pub reviews: Vec<Review>,
    /// Active reviewer accounts not yet assigned (or recused) on this application.
    pub reviewer_choices: Vec<ReviewerChoice>,
    /// The communes' opinions (§16).
    pub commune_opinions: crate::services::commune_opinions::CommuneOpinions,
}

pub async fn application(
    state: &AppState,
    user: &Actor,
    id: ApplicationId,
) -> Result<StaffApplication, ServiceError> {
    require_staff(user)?;
    let application = applications::get(state, user, id.clone()).await?;
    let call = calls::get(state, true, application.call_id.clone()).await?;
    let documents = documents::list(state, user, id.clone()).await?;
    let history = applications::history(state, user, id.clone()).await?;
    let reviews = reviews::for_application(state, user, id.clone()).await?;
    let commune_opinions = crate::services::commune_opinions::read(state, user, id.clone()).await?;
    let (assignments, reviewer_choices) = state
        .db
        .run(move |conn| {
            let assignments: Vec<StaffAssignment> =
                rows::assignments_with_names(conn, id.as_str())?
                    .into_iter()
                    .map(|(a, name, review_status)| StaffAssignment {
                        status: a.status,
                        id: a.id,
                        reviewer_id: a.reviewer_id,
                        reviewer_name: name,
                        recusal_reason: a.recusal_reason,
                        review_status,
                        assigned_at: a.assigned_at.and_utc(),
                    })
                    .collect();
            let choices = rows::active_reviewers(conn)?
                .into_iter()
                .filter(|(rid, _, _)| !assignments.iter().any(|a| a.reviewer_id.as_str() == rid))
                .map(|(id, full_name, email)| ReviewerChoice {
                    id,
                    full_name,
                    email,
                })
                .collect();
            Ok((assignments, choices))
        })
        .await?;
    Ok(StaffApplication {
        application,
        call,
        documents,
        history,
        assignments,
        reviews,
        reviewer_choices,
        commune_opinions,
    })
}

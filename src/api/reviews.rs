//! Assignments, reviews, the committee's decision and a call's ranking.

use actix_web::{HttpRequest, HttpResponse, get, post, put, web};

use crate::api::json_body::JsonBody;
use crate::api::problems::{NeedsToken, ReadsJson, Versioned};
use crate::auth::CurrentUser;
use crate::error::{AppError, Problem};

use crate::api::links::page_response;
use crate::input::{NumberedPageParams, Page, PageParams};
use crate::services::applications::Application;
use crate::services::reviews::{
    self, AcceptInput, AssignInput, Assignment, RankingEntry, RecuseInput, Review, ReviewInput,
};
use crate::services::transitions::{Command, DecisionInput};
use crate::state::AppState;

/// Assign one more reviewer to an application under review (staff), e.g. after a recusal.
#[utoipa::path(
    tag = "reviews",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Application id (UUID).")),
    request_body = AssignInput,
    responses(
        (status = 201, description = "The new assignment, pending the reviewer's statement.", body = Assignment, headers(("Location" = String, description = "`/api/v1/assignments/{id}` of the new assignment."))),
        ReadsJson,
        NeedsToken,
        (status = 403, description = "Only staff assign reviewers.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such application.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not under review, or this reviewer is already assigned.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`reviewer_id` is not a reviewer's account.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/applications/{id}/assignments")]
pub async fn assign_reviewer(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: JsonBody<AssignInput>,
) -> Result<HttpResponse, AppError> {
    user.require_staff()?;
    let input = body.take()?;
    let created = reviews::assign(
        &state,
        &user,
        crate::services::applications::id(&id)?,
        input,
    )
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            actix_web::http::header::LOCATION,
            format!("/api/v1/assignments/{}", created.id),
        ))
        .json(created))
}

/// One assignment: the reviewer's own, or any (staff).
#[utoipa::path(
    tag = "reviews",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Assignment id (UUID).")),
    responses(
        (status = 200, description = "The assignment.", body = Assignment),
        NeedsToken,
        (status = 403, description = "Applicants have no assignments.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such assignment, or not yours.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/assignments/{id}")]
pub async fn get_assignment(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(
        reviews::get_assignment(&state, &user, crate::services::reviews::assignment_id(&id)?)
            .await?,
    ))
}

/// The caller's assignments (reviewers), or all of them (staff).
#[utoipa::path(
    tag = "reviews",
    security(("bearer" = [])),
    params(PageParams),
    responses(
        (status = 200, description = "A page of assignments, newest first.", body = Page<Assignment>, headers(("Link" = String, description = "`<…?cursor=…>; rel=\"next\"` (the same query with `cursor` set to `next_cursor`), and `rel=\"prev\"` likewise, when there is such a page."))),
        (status = 400, description = "Invalid query parameter (a `cursor` that is not one or belongs to another list, `page` and `cursor` together).", body = Problem, content_type = "application/problem+json"),
        NeedsToken,
        (status = 403, description = "Applicants have no assignments.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/assignments")]
pub async fn list_assignments(
    user: CurrentUser,
    state: web::Data<AppState>,
    paging: web::Query<PageParams>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let position = paging.into_inner().position()?;
    let page = reviews::list(&state, &user, position).await?;
    Ok(page_response(&req, &page))
}

/// Declare the absence of conflict of interest and take the assignment (the reviewer).
#[utoipa::path(
    tag = "reviews",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Assignment id (UUID).")),
    request_body = AcceptInput,
    responses(
        (status = 200, description = "Accepted: the reviewer may read and score.", body = Assignment),
        ReadsJson,
        NeedsToken,
        (status = 403, description = "Only the assigned reviewer answers.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such assignment, or not yours.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already answered, or the application is no longer under review.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The statement is missing.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/assignments/{id}/accept")]
pub async fn accept_assignment(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: JsonBody<AcceptInput>,
) -> Result<HttpResponse, AppError> {
    let input = body.take()?;
    Ok(HttpResponse::Ok().json(
        reviews::accept(
            &state,
            &user,
            crate::services::reviews::assignment_id(&id)?,
            input,
        )
        .await?,
    ))
}

/// Withdraw from an application for a conflict of interest (the reviewer); staff can then
/// assign someone else.
#[utoipa::path(
    tag = "reviews",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Assignment id (UUID).")),
    request_body = RecuseInput,
    responses(
        (status = 200, description = "Recused.", body = Assignment),
        ReadsJson,
        NeedsToken,
        (status = 403, description = "Only the assigned reviewer answers.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such assignment, or not yours.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already recused, or the review is already submitted.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The reason is missing.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/assignments/{id}/recuse")]
pub async fn recuse_assignment(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: JsonBody<RecuseInput>,
) -> Result<HttpResponse, AppError> {
    let input = body.take()?;
    Ok(HttpResponse::Ok().json(
        reviews::recuse(
            &state,
            &user,
            crate::services::reviews::assignment_id(&id)?,
            input,
        )
        .await?,
    ))
}

/// Save the review as a draft (the reviewer, after accepting). A draft may be partial: some
/// of the grid's scores, no recommendation yet; submission needs them all.
#[utoipa::path(
    tag = "reviews",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Assignment id (UUID).")),
    request_body = ReviewInput,
    responses(
        (status = 200, description = "The draft review.", body = Review),
        ReadsJson,
        NeedsToken,
        (status = 403, description = "Only the assigned reviewer reviews.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such assignment, or not yours.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not accepted yet, already submitted, or no longer under review.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A score outside `0..=max_score` or not of the grid (`scores.<key>`), or a bad recommendation.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/assignments/{id}/review")]
pub async fn save_review(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: JsonBody<ReviewInput>,
) -> Result<HttpResponse, AppError> {
    let input = body.take()?;
    Ok(HttpResponse::Ok().json(
        reviews::save_draft(
            &state,
            &user,
            crate::services::reviews::assignment_id(&id)?,
            input,
        )
        .await?,
    ))
}

/// The caller's own review on this assignment (the reviewer).
#[utoipa::path(
    tag = "reviews",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Assignment id (UUID).")),
    responses(
        (status = 200, description = "The review.", body = Review),
        NeedsToken,
        (status = 403, description = "Only the assigned reviewer reads it here.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such assignment or no review yet.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/assignments/{id}/review")]
pub async fn get_review(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(
        reviews::get_own(&state, &user, crate::services::reviews::assignment_id(&id)?).await?,
    ))
}

/// Submit the review: it is locked and its score computed (the reviewer).
#[utoipa::path(
    tag = "reviews",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Assignment id (UUID).")),
    responses(
        (status = 200, description = "The submitted review, with its score.", body = Review),
        NeedsToken,
        (status = 403, description = "Only the assigned reviewer submits.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such assignment, or not yours.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No draft yet, already submitted, not accepted, or no longer under review.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A score of the grid missing or out of range (`scores.<key>`), or no recommendation.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/assignments/{id}/review/submit")]
pub async fn submit_review(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok()
        .json(reviews::submit(&state, &user, crate::services::reviews::assignment_id(&id)?).await?))
}

/// Every review of an application, with reviewers' names (staff only: reviews are blind).
#[utoipa::path(
    tag = "reviews",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Application id (UUID).")),
    responses(
        (status = 200, description = "Drafts and submitted reviews.", body = Vec<Review>),
        NeedsToken,
        (status = 403, description = "Only staff read reviews.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such application, or not yours to see.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/applications/{id}/reviews")]
pub async fn application_reviews(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(
        reviews::for_application(&state, &user, crate::services::applications::id(&id)?).await?,
    ))
}

/// The scored applications of a call, best first, ties by submission time (staff): each with
/// its organisation, the amount requested, its state, whether it still lacks reviews against
/// the call's `min_reviews`, and (still to decide) the largest award allowed now.
#[utoipa::path(
    tag = "reviews",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Call id (UUID)."), NumberedPageParams),
    responses(
        (status = 200, description = "A page of the ranking (computed in memory: numbered pages only, no `cursor`).", body = Page<RankingEntry>),
        (status = 400, description = "Invalid query parameter.", body = Problem, content_type = "application/problem+json"),
        NeedsToken,
        (status = 403, description = "Only staff read the ranking.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such call.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/calls/{id}/ranking")]
pub async fn call_ranking(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    paging: web::Query<NumberedPageParams>,
) -> Result<HttpResponse, AppError> {
    user.require_staff()?;
    let paging = paging.into_inner().paging()?;
    Ok(HttpResponse::Ok()
        .json(reviews::ranking(&state, &user, crate::services::calls::id(&id)?, paging).await?))
}

/// Record the committee's decision (staff): accepted with an amount within every limit and
/// the envelope, or rejected with a motivation.
#[utoipa::path(
    tag = "transitions",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Application id (UUID)."),
        ("If-Match" = Option<String>, Header, description = "Optional: refuse (412) if the application changed since this ETag, sent with its quotes (`\"3\"`; an unquoted `3` is a 400)."),
    ),
    request_body = DecisionInput,
    responses(
        (status = 200, description = "Decided (final).", body = Application, headers(("ETag" = String))),
        ReadsJson,
        NeedsToken,
        (status = 403, description = "Only staff record decisions.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such application.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not under review, too few reviews, or the envelope cannot hold the amount.", body = Problem, content_type = "application/problem+json"),
        Versioned,
        (status = 422, description = "Amount above the request, the cap or the budget share; missing motivation, reference or date.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/applications/{id}/decision")]
pub async fn decision(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: JsonBody<DecisionInput>,
) -> Result<HttpResponse, AppError> {
    let input = body.take()?;
    crate::api::applications::run(&req, &user, &state, id.into_inner(), Command::Decide(input))
        .await
}

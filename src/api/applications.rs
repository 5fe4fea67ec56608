//! Applications and their transitions.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, patch, post, put, web};
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;

use crate::api::etag::{if_match, require_if_match, versioned};
use crate::api::json_body::JsonBody;
use crate::api::links::page_response;
use crate::api::problems::{NeedsToken, ReadsJson, Versioned};
use crate::auth::{Caller, CurrentUser};
use crate::domain::application::ApplicationBody;
use crate::domain::ids::CallId;
use crate::error::{AppError, Problem, ServiceError};
use crate::input::{Page, PageParams};
use crate::services::applications::{
    self, Application, ApplicationSummary, EligibilityReport, HistoryEvent, ListFilter,
};
use crate::services::registration::{self, RegistrationInput};
use crate::services::transitions::{
    self, Command, DeclareIneligibleInput, RequestChangesInput, StartReviewInput, WithdrawInput,
};
use crate::state::AppState;

fn with_etag(status: StatusCode, app: Application) -> HttpResponse {
    versioned(status, app.version, &app)
}

/// Where an application comes from.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StartParams {
    /// The code of a commune's referral (`REC-7K3M9Q2X`, DESIGN.md §16): the application
    /// carries that commune as `referred_by_commune`.
    pub referral_code: Option<String>,
}

/// Start an application (draft) on a published call (applicants).
#[utoipa::path(
    tag = "applications",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Call id (UUID)."), StartParams),
    request_body = ApplicationBody,
    responses(
        (status = 201, description = "The draft, with its reference `EA-<year>-<5 digits>`.", body = Application, headers(("ETag" = String), ("Location" = String, description = "`/api/v1/applications/{id}` of the new application."))),
        ReadsJson,
        NeedsToken,
        (status = 403, description = "Only applicants apply.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such published call.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The call is closed, or this structure (its SIRET, else its RNA number) already has an application to this call that is not withdrawn: `existing_reference` names it, `field` the identifier.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, each named in `errors` (e.g. `organisation.siret`; `referral_code` for a code unknown or of another call).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/calls/{id}/applications")]
pub async fn create_application(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    params: web::Query<StartParams>,
    body: JsonBody<ApplicationBody>,
) -> Result<HttpResponse, AppError> {
    let body = body.take()?;
    let referral = params
        .into_inner()
        .referral_code
        .filter(|c| !c.trim().is_empty());
    let app = applications::create(
        &state,
        &user,
        crate::services::calls::id(&id)?,
        body,
        referral,
    )
    .await?;
    let location = format!("/api/v1/applications/{}", app.id);
    let mut resp = with_etag(StatusCode::CREATED, app);
    resp.headers_mut().insert(
        actix_web::http::header::LOCATION,
        actix_web::http::header::HeaderValue::from_str(&location)
            .map_err(|e| AppError::Internal(e.into()))?,
    );
    Ok(resp)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ApplicationFilter {
    /// Only applications to this call.
    pub call_id: Option<String>,
    /// Only applications in these states, comma-separated (`submitted,changes_requested`).
    #[param(example = "submitted,under_review")]
    pub state: Option<String>,
    /// A reference, a SIRET, an RNA number or part of the organisation's name or of the
    /// project's title; case and accents ignored (`ateliers`, `732 829 320`, `W595012345`).
    #[param(example = "ateliers du sart")]
    pub q: Option<String>,
    /// Only organisations of this commune (INSEE code).
    #[param(example = "59009")]
    pub commune: Option<String>,
    /// The order: `-created_at` (default, newest first), `created_at`, `reference`,
    /// `-reference`, `organisation_name`, `-organisation_name`, `requested_cents`,
    /// `-requested_cents`, `submitted_at`, `-submitted_at`.
    #[param(example = "-requested_cents")]
    pub sort: Option<String>,
}

impl ApplicationFilter {
    /// The service's filter, or a 400 naming the parameter.
    pub fn to_filter(&self) -> Result<ListFilter, ServiceError> {
        Ok(ListFilter {
            call_id: self
                .call_id
                .as_deref()
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(|c| {
                    CallId::parse(c).ok_or_else(|| {
                        ServiceError::BadInput(format!(
                            "Paramètre « call_id » : « {c} » n'est pas un identifiant d'appel."
                        ))
                    })
                })
                .transpose()?,
            states: applications::parse_states(self.state.as_deref().unwrap_or(""))?,
            search: applications::search_pattern(self.q.as_deref().unwrap_or(""))?,
            commune_insee: applications::parse_commune(self.commune.as_deref().unwrap_or(""))?,
            sort: applications::parse_sort(self.sort.as_deref().unwrap_or(""))?,
        })
    }
}

/// List the applications the caller may see: their own (applicants), those assigned to them
/// (reviewers), all (staff); filtered by call, states, commune and a search, in the order
/// asked.
#[utoipa::path(
    tag = "applications",
    security(("bearer" = [])),
    params(ApplicationFilter, PageParams),
    responses(
        (status = 200, description = "A page of applications, newest first unless `sort` says otherwise. `next_cursor` (and the `Link` header) lead to the next page.", body = Page<ApplicationSummary>, headers(("Link" = String, description = "`<…?cursor=…>; rel=\"next\"` (the same query with `cursor` set to `next_cursor`), and `rel=\"prev\"` likewise, when there is such a page."))),
        (status = 400, description = "Invalid query parameter (a `call_id` that is no id, an unknown state or order, a search too long, a commune that is no INSEE code, a `cursor` that is not one or belongs to another order, `page` and `cursor` together).", body = Problem, content_type = "application/problem+json"),
        NeedsToken,
    )
)]
#[get("/applications")]
pub async fn list_applications(
    caller: Caller,
    state: web::Data<AppState>,
    filter: web::Query<ApplicationFilter>,
    paging: web::Query<PageParams>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let position = paging.into_inner().position()?;
    let filter = filter.to_filter()?;
    let page = applications::list(&state, &caller, filter, position).await?;
    Ok(page_response(&req, &page))
}

/// An application. A reviewer reads it once they have accepted the assignment.
#[utoipa::path(
    tag = "applications",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Application id (UUID).")),
    responses(
        (status = 200, description = "The application.", body = Application, headers(("ETag" = String))),
        NeedsToken,
        (status = 403, description = "A reviewer who has not accepted the assignment.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such application, or not yours to see.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/applications/{id}")]
pub async fn get_application(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let app =
        applications::get_stored(&state, &caller, crate::services::applications::id(&id)?).await?;
    Ok(versioned(StatusCode::OK, app.version(), &app))
}

/// Edit a draft (or an application whose changes were requested) with a JSON Merge Patch
/// (RFC 7396) of `{organisation, project, ess}`, under `If-Match` (the owner).
#[utoipa::path(
    tag = "applications",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Application id (UUID)."),
        ("If-Match" = String, Header, description = "The ETag of the version being edited, with its quotes: `\"3\"` (an unquoted `3` is a 400)."),
    ),
    request_body(content = ApplicationBody, content_type = "application/merge-patch+json",
                 description = "Any subset of the body, e.g. `{\"project\": {\"requested_cents\": 1500000}}`."),
    responses(
        (status = 200, description = "The edited application.", body = Application, headers(("ETag" = String))),
        ReadsJson,
        NeedsToken,
        (status = 403, description = "Only the owner edits.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such application, or not yours to see.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not editable in its state (`current_state`).", body = Problem, content_type = "application/problem+json"),
        Versioned,
        (status = 422, description = "The patched body is invalid; each field named in `errors`.", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "`If-Match` is missing, or `*` instead of a version.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/applications/{id}")]
pub async fn update_application(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let expected = Some(require_if_match(&req)?);
    let app = applications::update(
        &state,
        &user,
        crate::services::applications::id(&id)?,
        expected,
        body.into_inner(),
    )
    .await?;
    Ok(with_etag(StatusCode::OK, app))
}

/// The application's history: every transition and edit, with who and when (owner, staff).
#[utoipa::path(
    tag = "applications",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Application id (UUID).")),
    responses(
        (status = 200, description = "Events, oldest first.", body = Vec<HistoryEvent>),
        NeedsToken,
        (status = 403, description = "Reviewers do not read histories.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such application, or not yours to see.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/applications/{id}/history")]
pub async fn application_history(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok()
        .json(applications::history(&state, &user, crate::services::applications::id(&id)?).await?))
}

/// The eligibility report (DESIGN.md §8): computed now for a draft (a pre-check), as stored
/// at submission otherwise, with staff's readings (owner, staff).
#[utoipa::path(
    tag = "applications",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Application id (UUID).")),
    responses(
        (status = 200, description = "The report, criterion by criterion with its legal basis.", body = EligibilityReport),
        NeedsToken,
        (status = 403, description = "Reviewers do not read the report.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such application, or not yours to see.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/applications/{id}/eligibility")]
pub async fn application_eligibility(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(
        applications::eligibility(&state, &user, crate::services::applications::id(&id)?).await?,
    ))
}

/// Every transition endpoint: optional `If-Match`, the one transition service, the new version.
pub(crate) async fn run(
    req: &HttpRequest,
    user: &CurrentUser,
    state: &AppState,
    id: String,
    command: Command,
) -> Result<HttpResponse, AppError> {
    let expected = if_match(req)?.flatten();
    let app = transitions::apply(
        state,
        user,
        crate::services::applications::id(&id)?,
        expected,
        command,
    )
    .await?;
    Ok(with_etag(StatusCode::OK, app))
}

/// Submit the application (owner, call open; a resubmission after `request-changes` is
/// accepted even once the call has closed). The eligibility report is computed and stored;
/// a `fail` criterion or a missing required document refuses it (422 with the report in
/// `eligibility`).
#[utoipa::path(
    tag = "transitions",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Application id (UUID)."),
        ("If-Match" = Option<String>, Header, description = "Optional: refuse (412) if the application changed since this ETag, sent with its quotes (`\"3\"`; an unquoted `3` is a 400)."),
    ),
    responses(
        (status = 200, description = "Submitted.", body = Application, headers(("ETag" = String))),
        (status = 400, description = "`If-Match` without its quotes (`3` for `\"3\"`).", body = Problem, content_type = "application/problem+json"),
        NeedsToken,
        (status = 403, description = "Only the owner submits, and only with a verified address (the detail says how to verify it: `POST /api/v1/auth/verify-email`, new link by `POST /api/v1/auth/verify-email/resend`).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such application, or not yours to see.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not possible in this state (`current_state`, `allowed_actions`), or the call is not open for a first submission.", body = Problem, content_type = "application/problem+json"),
        Versioned,
        (status = 422, description = "Ineligible or incomplete: `errors` and the full report in `eligibility`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/applications/{id}/submit")]
pub async fn submit(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    run(&req, &user, &state, id.into_inner(), Command::Submit).await
}

/// Ask the applicant for changes (staff); the application becomes editable again.
#[utoipa::path(
    tag = "transitions",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Application id (UUID)."),
        ("If-Match" = Option<String>, Header, description = "Optional: refuse (412) if the application changed since this ETag, sent with its quotes (`\"3\"`; an unquoted `3` is a 400)."),
    ),
    request_body = RequestChangesInput,
    responses(
        (status = 200, description = "Changes requested.", body = Application, headers(("ETag" = String))),
        ReadsJson,
        NeedsToken,
        (status = 403, description = "Only staff request changes.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such application, or not yours to see.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not possible in this state (`current_state`, `allowed_actions`).", body = Problem, content_type = "application/problem+json"),
        Versioned,
        (status = 422, description = "The message is missing or too long.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/applications/{id}/request-changes")]
pub async fn request_changes(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: JsonBody<RequestChangesInput>,
) -> Result<HttpResponse, AppError> {
    let input = body.take()?;
    run(
        &req,
        &user,
        &state,
        id.into_inner(),
        Command::RequestChanges(input),
    )
    .await
}

/// Declare the application ineligible (staff; from `submitted` or `changes_requested`), with a
/// motivation and staff's reading of the criteria to check.
#[utoipa::path(
    tag = "transitions",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Application id (UUID)."),
        ("If-Match" = Option<String>, Header, description = "Optional: refuse (412) if the application changed since this ETag, sent with its quotes (`\"3\"`; an unquoted `3` is a 400)."),
    ),
    request_body = DeclareIneligibleInput,
    responses(
        (status = 200, description = "Declared ineligible (final).", body = Application, headers(("ETag" = String))),
        ReadsJson,
        NeedsToken,
        (status = 403, description = "Only staff decide eligibility.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such application, or not yours to see.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not possible in this state (`current_state`, `allowed_actions`).", body = Problem, content_type = "application/problem+json"),
        Versioned,
        (status = 422, description = "Motivation missing, or an assessment of a criterion that is not to check.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/applications/{id}/declare-ineligible")]
pub async fn declare_ineligible(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: JsonBody<DeclareIneligibleInput>,
) -> Result<HttpResponse, AppError> {
    let input = body.take()?;
    run(
        &req,
        &user,
        &state,
        id.into_inner(),
        Command::DeclareIneligible(input),
    )
    .await
}

/// Start the review (staff): record staff's reading of every criterion to check (each must
/// pass) and assign reviewers.
#[utoipa::path(
    tag = "transitions",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Application id (UUID)."),
        ("If-Match" = Option<String>, Header, description = "Optional: refuse (412) if the application changed since this ETag, sent with its quotes (`\"3\"`; an unquoted `3` is a 400)."),
    ),
    request_body = StartReviewInput,
    responses(
        (status = 200, description = "Under review; assignments created.", body = Application, headers(("ETag" = String))),
        ReadsJson,
        NeedsToken,
        (status = 403, description = "Only staff start reviews.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such application, or not yours to see.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not possible in this state (`current_state`, `allowed_actions`).", body = Problem, content_type = "application/problem+json"),
        Versioned,
        (status = 422, description = "No reviewer, an id that is not a reviewer, or a criterion to check without a passing assessment.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/applications/{id}/start-review")]
pub async fn start_review(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: JsonBody<StartReviewInput>,
) -> Result<HttpResponse, AppError> {
    let input = body.take()?;
    run(
        &req,
        &user,
        &state,
        id.into_inner(),
        Command::StartReview(input),
    )
    .await
}

/// Withdraw the application (owner), with a reason.
#[utoipa::path(
    tag = "transitions",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Application id (UUID)."),
        ("If-Match" = Option<String>, Header, description = "Optional: refuse (412) if the application changed since this ETag, sent with its quotes (`\"3\"`; an unquoted `3` is a 400)."),
    ),
    request_body = WithdrawInput,
    responses(
        (status = 200, description = "Withdrawn (final).", body = Application, headers(("ETag" = String))),
        ReadsJson,
        NeedsToken,
        (status = 403, description = "Only the owner withdraws.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such application, or not yours to see.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not possible in this state (`current_state`, `allowed_actions`).", body = Problem, content_type = "application/problem+json"),
        Versioned,
        (status = 422, description = "The reason is missing or too long.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/applications/{id}/withdraw")]
pub async fn withdraw(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: JsonBody<WithdrawInput>,
) -> Result<HttpResponse, AppError> {
    let input = body.take()?;
    run(
        &req,
        &user,
        &state,
        id.into_inner(),
        Command::Withdraw(input),
    )
    .await
}

/// The structure that applied in creation is now registered (DESIGN.md §16): its SIRET (or
/// an association's RNA number) and its creation date replace « en création », so that its
/// convention may be signed and its instalments requested — those waiting for it are
/// requested at once. Once submitted, by the applicant or staff; audited (`registration`).
#[utoipa::path(
    tag = "applications",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Application id (UUID).")),
    request_body = RegistrationInput,
    responses(
        (status = 200, description = "The application, its structure registered.", body = Application, headers(("ETag" = String))),
        ReadsJson,
        NeedsToken,
        (status = 403, description = "Reviewers and communes do not register structures.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such application, or not yours to see.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The structure is not in creation, the application is a draft, or another application of the call has this SIRET (`existing_reference`).", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No identifier, an invalid SIRET or RNA, a date in the future; each named in `errors`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/applications/{id}/registration")]
pub async fn register_structure(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: JsonBody<RegistrationInput>,
) -> Result<HttpResponse, AppError> {
    let input = body.take()?;
    let app = registration::register(
        &state,
        &user,
        crate::services::applications::id(&id)?,
        None,
        input,
    )
    .await?;
    Ok(with_etag(StatusCode::OK, app))
}

//! Calls for projects.

use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;

use crate::api::etag::{require_if_match, versioned};
use crate::api::json_body::JsonBody;
use crate::api::links::page_response;
use crate::api::problems::{NeedsToken, ReadsJson, Versioned};
use crate::auth::{CurrentUser, MaybeUser};
use crate::domain::call::{CallAction, CallState};
use crate::error::{AppError, Problem};
use crate::input::{Page, PageParams};
use crate::services::calls::{self, Call, CallSettings, NewCall};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallFilter {
    /// Only calls in this state (staff; others only ever see published calls).
    pub state: Option<CallState>,
}

fn with_etag(status: actix_web::http::StatusCode, call: Call) -> HttpResponse {
    versioned(status, call.version, &call)
}

/// Create a call in state `draft` (staff).
#[utoipa::path(
    tag = "calls",
    security(("bearer" = [])),
    request_body = NewCall,
    responses(
        (status = 201, description = "The call, in state `draft`.", body = Call, headers(("ETag" = String), ("Location" = String, description = "`/api/v1/calls/{id}` of the new call."))),
        ReadsJson,
        NeedsToken,
        (status = 403, description = "Only staff create calls.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid settings, each named in `errors`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/calls")]
pub async fn create_call(
    user: CurrentUser,
    state: web::Data<AppState>,
    body: JsonBody<NewCall>,
) -> Result<HttpResponse, AppError> {
    user.require_staff()?;
    let input = body.take()?;
    let call = calls::create(&state, &user, input).await?;
    let location = format!("/api/v1/calls/{}", call.id);
    let mut resp = with_etag(actix_web::http::StatusCode::CREATED, call);
    resp.headers_mut().insert(
        actix_web::http::header::LOCATION,
        actix_web::http::header::HeaderValue::from_str(&location)
            .map_err(|e| AppError::Internal(e.into()))?,
    );
    Ok(resp)
}

/// List calls: published ones for everybody, all of them for staff.
#[utoipa::path(
    tag = "calls",
    security((), ("bearer" = [])),
    params(CallFilter, PageParams),
    responses(
        (status = 200, description = "A page of calls, newest first.", body = Page<Call>, headers(("Link" = String, description = "`<…?cursor=…>; rel=\"next\"` (the same query with `cursor` set to `next_cursor`), and `rel=\"prev\"` likewise, when there is such a page."))),
        (status = 400, description = "Invalid query parameter (a `cursor` that is not one or belongs to another list, `page` and `cursor` together).", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "A token was sent but is invalid or expired.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/calls")]
pub async fn list_calls(
    user: MaybeUser,
    state: web::Data<AppState>,
    filter: web::Query<CallFilter>,
    paging: web::Query<PageParams>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let staff = user.0.as_ref().is_some_and(|u| u.role.is_staff());
    let position = paging.into_inner().position()?;
    let page = calls::list(&state, staff, filter.state, position).await?;
    Ok(page_response(&req, &page))
}

/// A call: published ones for everybody, any for staff.
#[utoipa::path(
    tag = "calls",
    security((), ("bearer" = [])),
    params(("id" = String, Path, description = "Call id (UUID).")),
    responses(
        (status = 200, description = "The call, with its envelope (total, awarded, left).", body = Call, headers(("ETag" = String))),
        (status = 401, description = "A token was sent but is invalid or expired.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such call, or not published.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/calls/{id}")]
pub async fn get_call(
    user: MaybeUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let staff = user.0.as_ref().is_some_and(|u| u.role.is_staff());
    let call = calls::get(&state, staff, crate::services::calls::id(&id)?).await?;
    Ok(with_etag(actix_web::http::StatusCode::OK, call))
}

/// Edit a call with a JSON Merge Patch (RFC 7396) of its settings, under `If-Match` (staff).
/// Once an application has been submitted, the rules (rules version, cap, budget share,
/// territory, grid) of a published call are frozen (409); a closed call takes no edits.
#[utoipa::path(
    tag = "calls",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Call id (UUID)."),
        ("If-Match" = String, Header, description = "The ETag of the version being edited, with its quotes: `\"3\"` (an unquoted `3` is a 400)."),
    ),
    request_body(content = CallSettings, content_type = "application/merge-patch+json",
                 description = "Any subset of the settings; `null` resets an optional one."),
    responses(
        (status = 200, description = "The edited call.", body = Call, headers(("ETag" = String))),
        ReadsJson,
        NeedsToken,
        (status = 403, description = "Only staff edit calls.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such call.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The call is closed, or its rules are frozen by submissions.", body = Problem, content_type = "application/problem+json"),
        Versioned,
        (status = 422, description = "Invalid settings.", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "`If-Match` is missing, or `*` instead of a version.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/calls/{id}")]
pub async fn update_call(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    user.require_staff()?;
    let expected = Some(require_if_match(&req)?);
    let call = calls::update(
        &state,
        &user,
        crate::services::calls::id(&id)?,
        expected,
        body.into_inner(),
    )
    .await?;
    Ok(with_etag(actix_web::http::StatusCode::OK, call))
}

/// Publish a draft call (staff): it becomes visible and, inside its window, open to submissions.
#[utoipa::path(
    tag = "calls",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Call id (UUID).")),
    responses(
        (status = 200, description = "The published call.", body = Call, headers(("ETag" = String))),
        NeedsToken,
        (status = 403, description = "Only staff publish calls.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such call.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The call is not a draft (`current_state` says what it is).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/calls/{id}/publish")]
pub async fn publish_call(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    user.require_staff()?;
    let call = calls::transition(
        &state,
        &user,
        crate::services::calls::id(&id)?,
        CallAction::Publish,
    )
    .await?;
    Ok(with_etag(actix_web::http::StatusCode::OK, call))
}

/// Close a published call (staff): no more submissions; reviews and decisions go on.
#[utoipa::path(
    tag = "calls",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Call id (UUID).")),
    responses(
        (status = 200, description = "The closed call.", body = Call, headers(("ETag" = String))),
        NeedsToken,
        (status = 403, description = "Only staff close calls.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such call.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The call is not published (`current_state` says what it is).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/calls/{id}/close")]
pub async fn close_call(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    user.require_staff()?;
    let call = calls::transition(
        &state,
        &user,
        crate::services::calls::id(&id)?,
        CallAction::Close,
    )
    .await?;
    Ok(with_etag(actix_web::http::StatusCode::OK, call))
}

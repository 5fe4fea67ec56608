//! Personal access tokens of the caller (DESIGN.md §14): created, listed and revoked by their
//! owner, signed in with a password (a personal token cannot manage tokens). The secret is in
//! the creation's answer only.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::api::json_body::JsonBody;
use crate::api::problems::{NeedsToken, ReadsJson};
use crate::auth::CurrentUser;
use crate::auth::client_ip::client_ip;
use crate::error::{AppError, Problem};
use crate::services::tokens::{self, CreatedToken, NewToken, PersonalToken};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenRequest {
    /// What the token is for, to recognise it in the list.
    #[schema(example = "Tableur du comité", max_length = 80)]
    pub name: String,
    /// Among `read`, `review`, `manage`, `export`, within the caller's role: reviewers `read`,
    /// `review`; staff and admins `read`, `manage`, `export`; applicants `read`, `manage`.
    #[schema(example = json!(["read", "review"]))]
    pub scopes: Vec<String>,
    /// Last day of validity (Europe/Paris), a year from today at most.
    #[schema(example = "2027-06-30")]
    pub expires_on: NaiveDate,
}

/// Create a personal access token. The answer carries the secret (`token`), shown this once:
/// send it as `Authorization: Bearer essor_pat_…`.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    request_body = NewTokenRequest,
    responses(
        (status = 201, description = "Created; `Location` names it. `token` is the secret, never shown again.", body = CreatedToken,
         headers(("Location" = String, description = "The token's address."))),
        ReadsJson,
        NeedsToken,
        (status = 403, description = "A personal token cannot create tokens: sign in with a password.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Too many active tokens: revoke one first.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid name, a scope unknown or beyond the caller's role, or an expiry not within a year.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/tokens")]
pub async fn create_token(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    body: JsonBody<NewTokenRequest>,
) -> Result<HttpResponse, AppError> {
    let body = body.take()?;
    let created = tokens::create(
        &state,
        &user,
        client_ip(&req),
        NewToken {
            name: body.name,
            scopes: body.scopes,
            expires_on: Some(body.expires_on),
        },
    )
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/me/tokens/{}", created.id),
        ))
        .json(created))
}

/// The caller's personal access tokens, newest first (without their secrets), revoked and
/// expired ones included.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's tokens.", body = Vec<PersonalToken>),
        NeedsToken,
        (status = 403, description = "A personal token cannot list tokens: sign in with a password.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me/tokens")]
pub async fn list_tokens(
    user: CurrentUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(tokens::list(&state, &user).await?))
}

/// One of the caller's personal access tokens (without its secret).
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Token id (UUID).")),
    responses(
        (status = 200, description = "The token.", body = PersonalToken),
        NeedsToken,
        (status = 403, description = "A personal token cannot read tokens: sign in with a password.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such token, or not the caller's.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me/tokens/{id}")]
pub async fn get_token(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(tokens::get(&state, &user, tokens::id(&id)?).await?))
}

/// Revoke one of the caller's personal access tokens: it is refused from the next request on.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Token id (UUID).")),
    responses(
        (status = 204, description = "Revoked (or already revoked)."),
        NeedsToken,
        (status = 403, description = "A personal token cannot revoke tokens: sign in with a password.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such token, or not the caller's.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/me/tokens/{id}")]
pub async fn revoke_token(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    tokens::revoke(&state, &user, client_ip(&req), tokens::id(&id)?).await?;
    Ok(HttpResponse::NoContent().finish())
}

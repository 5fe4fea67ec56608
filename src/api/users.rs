//! The caller's own account, and account management for admins.

use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::api::problems::{JsonBody, NeedsToken};
use crate::auth::CurrentUser;
use crate::domain::account::Role;
use crate::error::{AppError, Problem};
use crate::input::{Page, PageParams, from_json};
use crate::services::accounts::{self, NewAccount, User};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    #[schema(example = "agent@lillemetropole.fr")]
    pub email: String,
    #[schema(
        example = "une phrase de passe solide",
        min_length = 12,
        max_length = 256
    )]
    pub password: String,
    #[schema(example = "Camille Martin")]
    pub full_name: String,
    pub role: Role,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserFilter {
    /// Only accounts with this role.
    pub role: Option<Role>,
}

/// The account behind the token.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's account.", body = User),
        NeedsToken,
        (status = 404, description = "The account behind the token no longer exists.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me")]
pub async fn me(user: CurrentUser, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(accounts::get(&state, user.id).await?))
}

/// Create an account of any role (admins only).
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    request_body = CreateUserRequest,
    responses(
        (status = 201, description = "Account created.", body = User),
        JsonBody,
        NeedsToken,
        (status = 403, description = "Only admins create accounts.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An account already uses this email.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/users")]
pub async fn create_user(
    user: CurrentUser,
    state: web::Data<AppState>,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    user.require(&[Role::Admin])?;
    let body: CreateUserRequest = from_json(body.into_inner())?;
    let account = NewAccount::parse(&body.email, &body.password, &body.full_name, body.role)?;
    let created = accounts::create(&state, account).await?;
    Ok(HttpResponse::Created().json(created))
}

/// List accounts, optionally by role (admins and staff; staff use it to pick reviewers).
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(UserFilter, PageParams),
    responses(
        (status = 200, description = "A page of accounts, oldest first.", body = Page<User>),
        (status = 400, description = "Invalid query parameter.", body = Problem, content_type = "application/problem+json"),
        NeedsToken,
        (status = 403, description = "Only admins and staff list accounts.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/users")]
pub async fn list_users(
    user: CurrentUser,
    state: web::Data<AppState>,
    filter: web::Query<UserFilter>,
    paging: web::Query<PageParams>,
) -> Result<HttpResponse, AppError> {
    user.require_staff()?;
    let paging = paging.into_inner().paging()?;
    Ok(HttpResponse::Ok().json(accounts::list(&state, filter.role, paging).await?))
}

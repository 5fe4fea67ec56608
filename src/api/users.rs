//! The caller's own account, and account management for admins (DESIGN.md §5, §14). Staff,
//! reviewers and admins are invited: no route takes a password chosen for someone else.

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::api::json_body::JsonBody;
use crate::api::links::page_response;
use crate::auth::CurrentUser;
use crate::auth::client_ip::client_ip;
use crate::domain::account::Role;
use crate::error::{AppError, Problem};
use crate::input::{Page, PageParams};
use crate::services::accounts::{self, AccountUpdate, Invitation, User};
use crate::services::personal_data::{self, PersonalData};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationRequest {
    #[schema(example = "agent@lillemetropole.fr")]
    pub email: String,
    #[schema(example = "Camille Martin")]
    pub full_name: String,
    /// `reviewer`, `staff`, `admin` or `commune` (applicants register themselves).
    pub role: Role,
    /// For a `commune` account only: its commune, one of the MEL's 95 INSEE codes (Lomme's
    /// and Hellemmes-Lille's are stored as Lille's, 59350).
    #[schema(example = "59512")]
    pub commune_insee: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    pub role: Option<Role>,
    /// `false` deactivates (every token refused at once), `true` reactivates.
    pub active: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    #[schema(min_length = 12, max_length = 256)]
    pub new_password: String,
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
        (status = 401, description = "Missing, invalid, expired or revoked token, or a deactivated account.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me")]
pub async fn me(user: CurrentUser, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(accounts::get(&state, user.id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMeRequest {
    /// One's name as it appears to the agents and in the mails.
    #[schema(example = "Jeanne Dupont")]
    pub full_name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteMeRequest {
    /// The account's password, to confirm.
    pub password: String,
}

/// Everything essor holds about the caller (RGPD art. 15 and 20), as JSON: the account, the
/// applications with their documents' list, assignments and reviews, mails, sessions and the
/// events of the audit trail done by or about the caller. Nothing about anyone else.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's data, as a download.", body = PersonalData,
         headers(("Content-Disposition" = String, description = "attachment; filename=\"mes-donnees-essor.json\""))),
        (status = 401, description = "Missing, invalid or expired token.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me/data")]
pub async fn my_data(
    user: CurrentUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let data = personal_data::export(&state, &user).await?;
    Ok(HttpResponse::Ok()
        .insert_header((
            "content-disposition",
            "attachment; filename=\"mes-donnees-essor.json\"",
        ))
        .insert_header(("cache-control", "no-store"))
        .json(data))
}

/// Correct one's name (RGPD art. 16).
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    request_body = UpdateMeRequest,
    responses(
        (status = 200, description = "The account as it now is.", body = User),
        (status = 400, description = "Unreadable JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing, invalid or expired token.", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An empty or too long name.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/me")]
pub async fn update_me(
    user: CurrentUser,
    state: web::Data<AppState>,
    body: JsonBody<UpdateMeRequest>,
) -> Result<HttpResponse, AppError> {
    let body = body.take()?;
    Ok(HttpResponse::Ok().json(personal_data::rename(&state, &user, &body.full_name).await?))
}

/// Delete one's account (RGPD art. 17), the password confirming it. What the law asks to
/// keep is kept without the name (accepted applications and their decisions, the reviews
/// behind them, the audit trail); the rest goes (drafts; documents and address of
/// unsuccessful applications; sessions, links, mails). Refused while an application of the
/// caller is being examined (submitted, changes requested, under review) or while the caller
/// reviews one.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    request_body = DeleteMeRequest,
    responses(
        (status = 204, description = "Erased: every token and session of the account stops working."),
        (status = 400, description = "Unreadable JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing, invalid or expired token.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An application is being examined, the caller reviews one, or the caller is the last administrator; the message says which.", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Wrong password.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong passwords on this account; see `Retry-After`.", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds to wait."))),
    )
)]
#[delete("/me")]
pub async fn delete_me(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    body: JsonBody<DeleteMeRequest>,
) -> Result<HttpResponse, AppError> {
    let body = body.take()?;
    personal_data::erase(&state, client_ip(&req), &user, body.password).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Change one's password. Every token and session issued before, this one included, stops
/// working: sign in again with the new password.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Password changed."),
        (status = 400, description = "Unreadable JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing, invalid or expired token.", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Wrong current password, or a new one under 12 characters.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong passwords on this account; see `Retry-After`.", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds to wait."))),
    )
)]
#[post("/me/password")]
pub async fn change_password(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    body: JsonBody<ChangePasswordRequest>,
) -> Result<HttpResponse, AppError> {
    let body = body.take()?;
    accounts::change_password(
        &state,
        client_ip(&req),
        &user,
        body.current_password,
        body.new_password,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Invite a reviewer, an agent or an admin (admins only): the account is created without a
/// password, and a mail carries a link (single use, 7 days) to set one.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    request_body = InvitationRequest,
    responses(
        (status = 201, description = "Invited (`status: invited`); the mail is on its way.", body = User, headers(("Location" = String, description = "`/api/v1/users/{id}` of the new account (the address its `PATCH` takes)."))),
        (status = 400, description = "Unreadable JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing, invalid or expired token.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only admins invite.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An account already uses this email.", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or the applicant role.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/users/invitations")]
pub async fn invite(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    body: JsonBody<InvitationRequest>,
) -> Result<HttpResponse, AppError> {
    user.require(&[Role::Admin])?;
    let body = body.take()?;
    let invitation = Invitation::parse(
        &body.email,
        &body.full_name,
        body.role,
        body.commune_insee.as_deref(),
    )?;
    let created = accounts::invite(&state, client_ip(&req), &user, invitation).await?;
    Ok(HttpResponse::Created()
        .insert_header(("location", format!("/api/v1/users/{}", created.id)))
        .json(created))
}

/// Change an account's role or deactivate / reactivate it (admins only). Takes effect at the
/// account's next request: tokens and sessions issued before are refused.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Account id (UUID).")),
    request_body = UpdateUserRequest,
    responses(
        (status = 200, description = "The account as it now is.", body = User),
        (status = 400, description = "Unreadable JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing, invalid or expired token.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only admins change accounts.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such account.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "One's own account, or a change the account's state refuses.", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Neither `role` nor `active`, or an unknown role.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/users/{id}")]
pub async fn update_user(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: JsonBody<UpdateUserRequest>,
) -> Result<HttpResponse, AppError> {
    user.require(&[Role::Admin])?;
    let body = body.take()?;
    let updated = accounts::update(
        &state,
        client_ip(&req),
        &user,
        accounts::user_id(&id)?,
        AccountUpdate {
            role: body.role,
            active: body.active,
        },
    )
    .await?;
    Ok(HttpResponse::Ok().json(updated))
}

/// List accounts, optionally by role: admins see every account; staff see the team's
/// (reviewers to assign, colleagues), never the applicants', whom they reach through their
/// applications (`role=applicant` is for admins).
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(UserFilter, PageParams),
    responses(
        (status = 200, description = "A page of accounts, oldest first.", body = Page<User>, headers(("Link" = String, description = "`<…?cursor=…>; rel=\"next\"` (the same query with `cursor` set to `next_cursor`), and `rel=\"prev\"` likewise, when there is such a page."))),
        (status = 400, description = "Invalid query parameter (a `cursor` that is not one or belongs to another list, `page` and `cursor` together).", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing, invalid or expired token.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only admins and staff list accounts; only admins list applicants.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/users")]
pub async fn list_users(
    user: CurrentUser,
    state: web::Data<AppState>,
    filter: web::Query<UserFilter>,
    paging: web::Query<PageParams>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let position = paging.into_inner().position()?;
    let page = accounts::list(&state, &user, filter.role, position).await?;
    Ok(page_response(&req, &page))
}

//! Registration, sign-in, and the account links sent by mail (DESIGN.md §5, §14).

use actix_web::{HttpRequest, HttpResponse, http::header, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::json_body::JsonBody;
use crate::auth::CurrentUser;
use crate::auth::client_ip::client_ip;
use crate::domain::account::Role;
use crate::error::{AppError, Problem};
use crate::services::accounts::{self, NewAccount};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    #[schema(example = "porteur@exemple.fr")]
    pub email: String,
    /// At least 12 characters.
    #[schema(
        example = "une phrase de passe solide",
        min_length = 12,
        max_length = 256
    )]
    pub password: String,
    #[schema(example = "Jeanne Dupont")]
    pub full_name: String,
}

/// The answer to a registration, the same whether or not the address was known.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RequestAccepted {
    #[schema(
        example = "Si cette adresse peut être utilisée, un courriel vient d'y être envoyé : suivez son lien."
    )]
    pub message: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    #[schema(example = "porteur@exemple.fr")]
    pub email: String,
    #[schema(example = "une phrase de passe solide")]
    pub password: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Lifetime of the token in seconds.
    #[schema(example = 3600)]
    pub expires_in: i64,
}

/// A token from a mail link (the `token` parameter of the link).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkTokenRequest {
    #[schema(example = "3f1c…", min_length = 1)]
    pub token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    #[schema(example = "porteur@exemple.fr")]
    pub email: String,
}

/// A new password from a mail link (reset or invitation).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPasswordRequest {
    #[schema(example = "3f1c…", min_length = 1)]
    pub token: String,
    #[schema(
        example = "une phrase de passe solide",
        min_length = 12,
        max_length = 256
    )]
    pub password: String,
}

fn accepted(message: &str) -> HttpResponse {
    HttpResponse::Accepted().json(RequestAccepted {
        message: message.to_owned(),
    })
}

/// Create an applicant account (porteur de projet). The answer is the same whether or not the
/// address already has an account (no oracle): a new address gets a verification mail (link
/// valid 24 h), a known one a mail saying an account exists, with a password-reset link.
#[utoipa::path(
    tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 202, description = "Registration taken into account; a mail is on its way.", body = RequestAccepted),
        (status = 400, description = "Unreadable JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (email, password under 12 characters, name).", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many account requests from this address; see `Retry-After`.", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds to wait."))),
    )
)]
#[post("/auth/register")]
pub async fn register(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: JsonBody<RegisterRequest>,
) -> Result<HttpResponse, AppError> {
    let body = body.take()?;
    let account = NewAccount::parse(
        &body.email,
        &body.password,
        &body.full_name,
        Role::Applicant,
    )?;
    accounts::register(&state, client_ip(&req), account).await?;
    Ok(accepted(
        "Demande enregistrée : un courriel vient d'être envoyé à cette adresse. Suivez son lien \
         pour confirmer votre adresse (il est valable 24 heures).",
    ))
}

/// Exchange an email and password for a bearer token. Failed attempts are throttled per
/// account and per client address (successful ones never count).
#[utoipa::path(
    tag = "auth",
    request_body = TokenRequest,
    responses(
        (status = 200, description = "A bearer token.", body = TokenResponse),
        (status = 400, description = "Unreadable JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Unknown email or wrong password (the same answer for both), or a deactivated account.", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is missing or of the wrong type.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed attempts on this account or from this address; see `Retry-After`.", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds to wait."))),
    )
)]
#[post("/auth/token")]
pub async fn token(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: JsonBody<TokenRequest>,
) -> Result<HttpResponse, AppError> {
    let body = body.take()?;
    let signed_in = accounts::sign_in(&state, client_ip(&req), &body.email, body.password).await?;
    let access_token = state.tokens.issue(
        signed_in.user.id.as_str(),
        signed_in.user.role,
        signed_in.generation,
    )?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(TokenResponse {
            access_token,
            token_type: "Bearer".into(),
            expires_in: state.tokens.ttl_seconds(),
        }))
}

/// Verify an address with the token of the registration mail (single use, 24 h).
#[utoipa::path(
    tag = "auth",
    request_body = LinkTokenRequest,
    responses(
        (status = 204, description = "Address verified: the applicant may now submit."),
        (status = 400, description = "Unreadable JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The address is already verified.", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown, used or expired token (`errors.token` says which).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/verify-email")]
pub async fn verify_email(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: JsonBody<LinkTokenRequest>,
) -> Result<HttpResponse, AppError> {
    let body = body.take()?;
    accounts::verify_email(&state, client_ip(&req), body.token).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Send the signed-in applicant a new verification link (the previous one stops working).
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 202, description = "A new link is on its way.", body = RequestAccepted),
        (status = 401, description = "Missing, invalid or expired token.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The address is already verified.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many account requests from this address; see `Retry-After`.", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds to wait."))),
    )
)]
#[post("/auth/verify-email/resend")]
pub async fn resend_verification(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    accounts::resend_verification(&state, client_ip(&req), &user).await?;
    Ok(accepted(
        "Un nouveau lien de confirmation vient d'être envoyé à votre adresse électronique.",
    ))
}

/// Ask for a password-reset link. The same answer whether or not the address has an account
/// (no oracle); an account that may reset gets a mail whose link lasts one hour.
#[utoipa::path(
    tag = "auth",
    request_body = PasswordResetRequest,
    responses(
        (status = 202, description = "If the address has an account, a mail is on its way.", body = RequestAccepted),
        (status = 400, description = "Unreadable JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not an email address.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many account requests from this address; see `Retry-After`.", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds to wait."))),
    )
)]
#[post("/auth/password-reset")]
pub async fn password_reset(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: JsonBody<PasswordResetRequest>,
) -> Result<HttpResponse, AppError> {
    let body = body.take()?;
    accounts::request_password_reset(&state, client_ip(&req), &body.email).await?;
    Ok(accepted(
        "Si un compte existe pour cette adresse, un courriel vient d'y être envoyé : son lien \
         permet de choisir un nouveau mot de passe pendant une heure.",
    ))
}

/// Set a new password with the token of a reset mail (single use, 1 h). Ends every session
/// and token issued before.
#[utoipa::path(
    tag = "auth",
    request_body = SetPasswordRequest,
    responses(
        (status = 204, description = "Password changed; sign in with it."),
        (status = 400, description = "Unreadable JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The account can no longer reset (deactivated).", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown, used or expired token, or a password under 12 characters.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/password-reset/confirm")]
pub async fn password_reset_confirm(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: JsonBody<SetPasswordRequest>,
) -> Result<HttpResponse, AppError> {
    let body = body.take()?;
    accounts::confirm_password_reset(&state, client_ip(&req), body.token, body.password).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Accept an invitation: set one's password with the token of the invitation mail (single
/// use, 7 days).
#[utoipa::path(
    tag = "auth",
    request_body = SetPasswordRequest,
    responses(
        (status = 204, description = "Account ready; sign in with the new password."),
        (status = 400, description = "Unreadable JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The account was deactivated meanwhile.", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown, used or expired token, or a password under 12 characters.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/invitations/accept")]
pub async fn accept_invitation(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: JsonBody<SetPasswordRequest>,
) -> Result<HttpResponse, AppError> {
    let body = body.take()?;
    accounts::accept_invitation(&state, client_ip(&req), body.token, body.password).await?;
    Ok(HttpResponse::NoContent().finish())
}

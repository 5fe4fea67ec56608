//! Registration and sign-in.

use actix_web::{HttpRequest, HttpResponse, http::header, post, web};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::api::problems::JsonBody;
use crate::domain::account::Role;
use crate::error::{AppError, Problem};
use crate::input::from_json;
use crate::services::accounts::{self, NewAccount, User};
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

/// The client's address for rate limiting (the TCP peer: a forwarded-for header is not
/// trusted, since any client can send one).
fn client_ip(req: &HttpRequest) -> std::net::IpAddr {
    req.peer_addr()
        .map(|a| a.ip())
        .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
}

fn rate_limit(state: &AppState, req: &HttpRequest) -> Result<(), AppError> {
    state
        .login_limiter
        .check(client_ip(req), std::time::Instant::now())
        .map_err(|retry_after_seconds| AppError::TooManyRequests {
            retry_after_seconds,
        })
}

/// Create an applicant account (porteur de projet).
#[utoipa::path(
    tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Account created, role `applicant`.", body = User),
        JsonBody,
        (status = 409, description = "An account already uses this email.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (email, password under 12 characters, name).", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts from this address; see `Retry-After`.", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds to wait."))),
    )
)]
#[post("/auth/register")]
pub async fn register(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    rate_limit(&state, &req)?;
    let body: RegisterRequest = from_json(body.into_inner())?;
    let account = NewAccount::parse(
        &body.email,
        &body.password,
        &body.full_name,
        Role::Applicant,
    )?;
    let user = accounts::create(&state, account).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, "/api/v1/me"))
        .json(user))
}

/// Exchange an email and password for a bearer token.
#[utoipa::path(
    tag = "auth",
    request_body = TokenRequest,
    responses(
        (status = 200, description = "A bearer token.", body = TokenResponse),
        JsonBody,
        (status = 401, description = "Unknown email or wrong password (the same answer for both).", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is missing or of the wrong type.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts from this address; see `Retry-After`.", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds to wait."))),
    )
)]
#[post("/auth/token")]
pub async fn token(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    rate_limit(&state, &req)?;
    let body: TokenRequest = from_json(body.into_inner())?;
    let user = accounts::authenticate(&state, &body.email, body.password).await?;
    let access_token = state.tokens.issue(&user.id, user.role)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(TokenResponse {
            access_token,
            token_type: "Bearer".into(),
            expires_in: state.tokens.ttl_seconds(),
        }))
}

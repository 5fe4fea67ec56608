//! A commune's account (DESIGN.md §16): the applications taking place in its commune.

use actix_web::{HttpResponse, get, web};

use crate::api::problems::NeedsToken;
use crate::auth::CurrentUser;
use crate::error::{AppError, Problem};
use crate::services::communes::{self, CommuneApplication, CommuneApplications};
use crate::state::AppState;

/// The submitted applications whose activity takes place in the account's commune (a
/// `commune` account), newest first: who applies, for what, how much, where it stands.
/// Drafts never; documents, reviews, staff notes and other communes' applications never.
#[utoipa::path(
    tag = "communes",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The commune's applications.", body = CommuneApplications),
        NeedsToken,
        (status = 403, description = "Only a commune's accounts read this.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/commune/applications")]
pub async fn list(user: CurrentUser, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(communes::list(&state, &user).await?))
}

/// One application taking place in the account's commune, once submitted; any other — a
/// draft, another commune's, an unknown id — is the same 404.
#[utoipa::path(
    tag = "communes",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Application id (UUID).")),
    responses(
        (status = 200, description = "The application as a commune reads it.", body = CommuneApplication),
        NeedsToken,
        (status = 403, description = "Only a commune's accounts read this.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not an application submitted in this commune.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/commune/applications/{id}")]
pub async fn get_one(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(communes::get(&state, &user, id.into_inner()).await?))
}

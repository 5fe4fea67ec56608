//! The mail outbox: staff and admins read it (what was sent, what waits, what failed); admins
//! re-queue.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::api::links::page_response;
use crate::api::problems::NeedsToken;
use crate::auth::CurrentUser;
use crate::domain::account::Role;
use crate::domain::ids::OutboxId;
use crate::error::{AppError, Problem};
use crate::input::{Page, PageParams};
use crate::notify::outbox::{ListFilter, OutboxMessage, OutboxStatus};
use crate::services;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutboxFilter {
    /// Only messages in this state.
    pub status: Option<OutboxStatus>,
    /// Only the mails of this application.
    pub application_id: Option<Uuid>,
}

/// List the mail outbox, newest first (staff and admins: agents see what was sent to whom).
///
/// `pending`: waiting for its first attempt; `sending`: being sent by an instance; `failed`:
/// the last attempt failed and another is scheduled at `next_attempt_at`; `sent`; `dead`:
/// given up after `mail.max_attempts` attempts or a permanent refusal.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(OutboxFilter, PageParams),
    responses(
        (status = 200, description = "A page of outbox messages, newest first.", body = Page<OutboxMessage>, headers(("Link" = String, description = "`<…?cursor=…>; rel=\"next\"` (the same query with `cursor` set to `next_cursor`), and `rel=\"prev\"` likewise, when there is such a page."))),
        (status = 400, description = "Invalid query parameter (unknown status, malformed id, paging, a `cursor` that is not one or belongs to another list, `page` and `cursor` together).", body = Problem, content_type = "application/problem+json"),
        NeedsToken,
        (status = 403, description = "Only staff and admins see the outbox.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/admin/outbox")]
pub async fn list_outbox(
    user: CurrentUser,
    state: web::Data<AppState>,
    filter: web::Query<OutboxFilter>,
    paging: web::Query<PageParams>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    // The role first: a caller without it gets 403, not a 400 on its paging.
    user.require_staff()?;
    let position = paging.into_inner().position()?;
    let filter = ListFilter {
        status: filter.status,
        application_id: filter.application_id.map(|id| id.to_string()),
    };
    let page = services::outbox::list(&state, &user, filter, position).await?;
    Ok(page_response(&req, &page))
}

/// Re-queue a `failed` or `dead` message (admins only): it becomes `pending`, due at once,
/// with a fresh count of attempts, and keeps its Message-ID.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The outbox message's id (UUID).")),
    responses(
        (status = 200, description = "Re-queued: the message, now pending.", body = OutboxMessage),
        NeedsToken,
        (status = 403, description = "Only admins re-queue mail.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such message (or a malformed id).", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The message is neither failed nor dead (pending, being sent or sent); `current_status` says which.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/outbox/{id}/retry")]
pub async fn retry_outbox(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    user.require(&[Role::Admin])?;
    let id = Uuid::parse_str(&id).map_err(|_| {
        AppError::not_found(format!(
            "Aucun message « {id} » dans la file d'envoi : l'identifiant n'est pas un UUID."
        ))
    })?;
    let message = services::outbox::retry(&state, &user, OutboxId::from_uuid(id)).await?;
    tracing::info!(message_id = %message.message_id, admin = %user.id, "mail re-queued");
    Ok(HttpResponse::Ok().json(message))
}

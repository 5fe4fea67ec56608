//! The mail queue: staff and admins read it (what was sent, what waits, what failed); an
//! admin's hand puts a failed or abandoned message back to pending, through the runner, with
//! its audit event.

use serde_json::json;

use crate::domain::account::Role;
use crate::domain::actor::Actor;
use crate::domain::audit_action::AuditAction;
use crate::domain::ids::OutboxId;
use crate::domain::outbox::OutboxStatus;
use crate::error::ServiceError;
use crate::input::{Page, Position};
use crate::notify::outbox::{self, ListFilter, OutboxMessage};
use crate::services::runner::{Audit, Move, change_state};
use crate::state::AppState;

/// A page of the outbox, newest first (staff and admins; others get 403).
pub async fn list(
    state: &AppState,
    user: &Actor,
    filter: ListFilter,
    position: impl Into<Position>,
) -> Result<Page<OutboxMessage>, ServiceError> {
    user.require_staff()?;
    let (sort, kind) = outbox::LIST_SORT;
    let window = position.into().window(sort, kind)?;
    state
        .db
        .run(move |conn| {
            let (paged, total) = outbox::list(conn, &filter, &window)?;
            Page::from_paged(paged, total, window.per_page(), OutboxMessage::try_from)
        })
        .await
}

/// Puts a `failed` or `dead` message back to `pending`, due now, with a fresh count of
/// attempts. Anything else is a conflict naming the current status; an unknown id, not found.
pub async fn retry(
    state: &AppState,
    user: &Actor,
    id: OutboxId,
) -> Result<OutboxMessage, ServiceError> {
    user.require(&[Role::Admin])?;
    let actor = user.id.clone();
    let notifier = state.notifier.clone();
    let now = state.clock.now();
    state
        .db
        .transaction(move |conn| {
            let row = outbox::find(conn, id.as_str())?.ok_or_else(|| {
                ServiceError::not_found(format!("Aucun message « {id} » dans la file d'envoi."))
            })?;
            let from = OutboxStatus::parse(&row.status).ok_or_else(|| {
                ServiceError::Internal(anyhow::anyhow!("unknown outbox status {:?}", row.status))
            })?;
            let to = from.retry().map_err(|message| {
                let mut extra = serde_json::Map::new();
                extra.insert("current_status".into(), json!(from));
                ServiceError::Conflict { message, extra }
            })?;
            change_state(
                conn,
                &notifier,
                Move { id: &id, from, to },
                Audit {
                    application_id: None,
                    call_id: None,
                    actor_id: &actor,
                    action: AuditAction::OutboxRetry,
                    payload: json!({"message_id": row.message_id}),
                },
                &[],
            )?;
            outbox::reset_for_retry(conn, id.as_str(), now)?;
            let row = outbox::find(conn, id.as_str())?
                .ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("outbox row vanished")))?;
            OutboxMessage::try_from(row)
        })
        .await
}

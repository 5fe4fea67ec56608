//! The one runner of every change of state (`services::runner::change_state`): it moves a row
//! only from the state it is in, and writes the audit event with the move, or nothing.

use diesel::prelude::*;
use essor::db::schema::audit_events;
use essor::domain::audit_action::{AuditAction, CallEvent};
use essor::domain::call::CallState;
use essor::error::ServiceError;
use essor::services::runner::{Audit, Move, change_state};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::TestApp;

both_backends!(a_move_from_a_state_the_row_is_not_in_changes_nothing);

async fn call_events(
    app: &TestApp,
    call_id: &str,
) -> Vec<(String, Option<String>, Option<String>)> {
    let call_id = call_id.to_owned();
    app.db
        .run(move |conn| {
            Ok(audit_events::table
                .filter(audit_events::call_id.eq(call_id))
                .order(audit_events::id.asc())
                .select((
                    audit_events::action,
                    audit_events::from_state,
                    audit_events::to_state,
                ))
                .load(conn)?)
        })
        .await
        .unwrap()
}

/// Runs the runner on the call `id`, from `from` to `to`, in a transaction of its own.
async fn move_call(
    app: &TestApp,
    actor: &str,
    id: &str,
    from: CallState,
    to: CallState,
) -> Result<(), ServiceError> {
    let notifier = app.notifier.clone();
    let actor = essor::domain::ids::UserId::parse(actor).unwrap();
    let id = essor::domain::ids::CallId::parse(id).unwrap();
    app.db
        .transaction(move |conn| {
            change_state(
                conn,
                &notifier,
                Move { id: &id, from, to },
                Audit {
                    application_id: None,
                    call_id: Some(&id),
                    actor_id: &actor,
                    action: AuditAction::Call(CallEvent::Publish),
                    payload: json!({}),
                },
                &[],
            )
        })
        .await
}

async fn a_move_from_a_state_the_row_is_not_in_changes_nothing(app: TestApp) {
    let cast = app.cast().await;
    let call = app.draft_call(&cast.staff.token, json!({})).await;
    let id = call["id"].as_str().unwrap();
    let state = |call: Value| call["state"].as_str().unwrap().to_owned();
    let get = |id: String| {
        let app = &app;
        let token = cast.staff.token.clone();
        async move {
            let resp = app.get_as(&token, &format!("/api/v1/calls/{id}")).await;
            assert_eq!(resp.status(), 200);
            resp.json::<Value>().await.unwrap()
        }
    };
    let before = call_events(&app, id).await;

    // The call is a draft: a move that believes it published is refused, and leaves no trace.
    let refused = move_call(
        &app,
        &cast.staff.id,
        id,
        CallState::Published,
        CallState::Closed,
    )
    .await;
    assert!(
        matches!(refused, Err(ServiceError::Conflict { .. })),
        "{refused:?}"
    );
    assert_eq!(state(get(id.to_owned()).await), "draft");
    assert_eq!(call_events(&app, id).await, before);

    // From the state it is in, the move is written with its event, in the same transaction.
    move_call(
        &app,
        &cast.staff.id,
        id,
        CallState::Draft,
        CallState::Published,
    )
    .await
    .unwrap();
    assert_eq!(state(get(id.to_owned()).await), "published");
    let after = call_events(&app, id).await;
    assert_eq!(after.len(), before.len() + 1);
    assert_eq!(
        after.last().unwrap(),
        &(
            "publish".to_owned(),
            Some("draft".to_owned()),
            Some("published".to_owned())
        )
    );
}

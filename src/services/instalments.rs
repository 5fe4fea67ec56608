//! A grant's instalments (DESIGN.md §15): planned with the grant, from the call's schedule
//! (each line its share, the last the remainder: they sum to the award exactly); requested by
//! essor, through the runner, as soon as an instalment's trigger has fired and the bank
//! details exist — after the award, the signature, or the bank details, whichever comes last.

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::db::DbConnection;
use crate::db::grants::{self, GrantVisibility};
use crate::db::instalments::{self, Instalment, NewInstalment};
use crate::domain::grant::{self as grant_rules, InstalmentTrigger, ScheduleLine};
use crate::domain::history::HistoryAction;
use crate::domain::ids::{GrantId, InstalmentId, UserId};
use crate::domain::instalment::{
    InstalmentAction, InstalmentParty, InstalmentState, next_state, to_request,
};
use crate::domain::money::Cents;
use crate::error::ServiceError;
use crate::notify::{MailEvent, Notifier};
use crate::services::mail_events::{application_and_call, summary};
use crate::services::runner::{Audit, Move, change_state};

/// An instalment as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InstalmentView {
    pub id: InstalmentId,
    /// 1, 2…: the schedule's order.
    pub position: i32,
    #[schema(example = "Avance")]
    pub label: String,
    #[schema(example = 80)]
    pub percent: u8,
    pub trigger: InstalmentTrigger,
    #[schema(value_type = i64, example = 1480000)]
    pub amount_cents: Cents,
    pub state: InstalmentState,
    pub mandate_reference: Option<String>,
    pub paid_on: Option<NaiveDate>,
}

impl From<Instalment> for InstalmentView {
    fn from(i: Instalment) -> Self {
        Self {
            id: i.id,
            position: i.position,
            label: i.label,
            percent: i.percent,
            trigger: i.trigger,
            amount_cents: i.amount,
            state: i.state,
            mandate_reference: i.mandate_reference,
            paid_on: i.paid_on,
        }
    }
}

/// In the award's transaction: the grant's instalments, `planned`, from `schedule`.
pub fn plan(
    conn: &mut DbConnection,
    grant: &GrantId,
    awarded: Cents,
    schedule: &[ScheduleLine],
    at: NaiveDateTime,
) -> Result<(), ServiceError> {
    let amounts = grant_rules::split(awarded, schedule).ok_or_else(|| {
        ServiceError::Internal(anyhow::anyhow!("a schedule that does not sum to 100 %"))
    })?;
    for (n, (line, amount)) in schedule.iter().zip(amounts).enumerate() {
        instalments::insert(
            conn,
            &NewInstalment {
                id: &InstalmentId::new(),
                grant_id: grant,
                position: i32::try_from(n + 1).unwrap_or(i32::MAX),
                label: &line.label,
                percent: line.percent,
                trigger: line.trigger,
                amount,
                at,
            },
        )?;
    }
    Ok(())
}

/// In the transaction of a move that may fire a trigger (the award, the signature, the bank
/// details): requests every planned instalment whose trigger has fired, if the bank details
/// exist, each through the runner (state, audit event, the finance team's mail). Returns how
/// many were requested.
pub fn request_due(
    conn: &mut DbConnection,
    notifier: &Notifier,
    actor_id: &UserId,
    grant_id: &GrantId,
) -> Result<usize, ServiceError> {
    let grant = grants::find_visible(conn, grant_id, &GrantVisibility::All)?
        .ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("grant {grant_id} missing")))?;
    let due: Vec<Instalment> = instalments::of_grant(conn, grant_id)?
        .into_iter()
        .filter(|i| {
            to_request(
                i.state,
                i.trigger,
                grant.state,
                grant.convention_required,
                grant.bank.is_some(),
            )
        })
        .collect();
    if due.is_empty() {
        return Ok(0);
    }
    let (row, call) = application_and_call(conn, &grant)?;
    // No money to a structure not identified yet (§16): its instalments wait for its
    // registration (`services::registration`), which asks again.
    if crate::domain::grant::identifier_missing(&row.parsed_body()?.organisation).is_some() {
        return Ok(0);
    }
    let now = notifier.clock().now();
    for i in &due {
        let to = next_state(i.state, InstalmentAction::Request, InstalmentParty::System)
            .map_err(|e| ServiceError::Internal(anyhow::anyhow!("{e}")))?;
        let app = summary(conn, &row, &call)?;
        change_state(
            conn,
            notifier,
            Move {
                id: &i.id,
                from: i.state,
                to,
            },
            Audit {
                application_id: Some(&grant.application_id),
                call_id: Some(&grant.call_id),
                actor_id,
                action: HistoryAction::Instalment(InstalmentAction::Request).into(),
                payload: json!({
                    "grant_id": grant.id,
                    "instalment_id": i.id,
                    "label": i.label,
                    "amount_cents": i.amount,
                    "to_state": to,
                }),
            },
            &[MailEvent::InstalmentRequested {
                app,
                label: i.label.clone(),
                amount_cents: i.amount.value(),
            }],
        )?;
        instalments::mark_requested(conn, &i.id, now)?;
    }
    Ok(due.len())
}

/// In the transaction that ends a grant without payment (a lapse): each instalment not yet
/// ordered is cancelled through the runner, so that it never reaches the finance list.
/// Ordered or paid ones stay as they are: money that left is a recovery's business.
pub fn cancel_unpaid(
    conn: &mut DbConnection,
    notifier: &Notifier,
    actor_id: &UserId,
    grant: &crate::db::grants::Grant,
) -> Result<usize, ServiceError> {
    let open: Vec<Instalment> = instalments::of_grant(conn, &grant.id)?
        .into_iter()
        .filter(|i| {
            matches!(
                i.state,
                InstalmentState::Planned | InstalmentState::Requested
            )
        })
        .collect();
    for i in &open {
        let to = next_state(i.state, InstalmentAction::Cancel, InstalmentParty::Staff)
            .map_err(|e| ServiceError::Internal(anyhow::anyhow!("{e}")))?;
        change_state(
            conn,
            notifier,
            Move {
                id: &i.id,
                from: i.state,
                to,
            },
            Audit {
                application_id: Some(&grant.application_id),
                call_id: Some(&grant.call_id),
                actor_id,
                action: HistoryAction::Instalment(InstalmentAction::Cancel).into(),
                payload: json!({
                    "grant_id": grant.id,
                    "instalment_id": i.id,
                    "label": i.label,
                    "amount_cents": i.amount,
                    "from_state": i.state,
                    "to_state": to,
                }),
            },
            &[],
        )?;
    }
    Ok(open.len())
}

/// In the transaction of a move that may end the grant (the report's approval, a payment):
/// essor closes it, through the runner, once the report is approved and nothing remains to
/// pay. Returns whether it did.
pub fn close_if_done(
    conn: &mut DbConnection,
    notifier: &Notifier,
    actor_id: &UserId,
    grant_id: &GrantId,
) -> Result<bool, ServiceError> {
    use crate::domain::grant::{GrantAction, GrantParty};
    let grant = grants::find_visible(conn, grant_id, &GrantVisibility::All)?
        .ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("grant {grant_id} missing")))?;
    let states: Vec<InstalmentState> = instalments::of_grant(conn, grant_id)?
        .into_iter()
        .map(|i| i.state)
        .collect();
    if !crate::domain::instalment::closes_grant(grant.state, &states) {
        return Ok(false);
    }
    let to = grant_rules::next_state(grant.state, GrantAction::Close, GrantParty::System)
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("{e}")))?;
    change_state(
        conn,
        notifier,
        Move {
            id: &grant.id,
            from: grant.state,
            to,
        },
        Audit {
            application_id: Some(&grant.application_id),
            call_id: Some(&grant.call_id),
            actor_id,
            action: HistoryAction::Grant(GrantAction::Close).into(),
            payload: json!({
                "grant_id": grant.id,
                "from_state": grant.state,
                "to_state": to,
            }),
        },
        &[],
    )?;
    Ok(true)
}

//! The one function through which every state of every machine changes (DESIGN.md §3): in the
//! caller's transaction it moves the row from its state to the next (a compare-and-set, so a
//! concurrent move makes it fail instead of being overwritten), writes the audit event and
//! queues the mails. The domain tables decide whether the move is allowed; this writes it.

use serde_json::Value;

use crate::db::audit::{self, NewEvent};
use crate::db::{DbConnection, states};
use crate::domain::audit_action::AuditAction;
use crate::domain::ids::{ApplicationId, CallId, UserId};
use crate::domain::machine::{Machine, MachineState};
use crate::error::ServiceError;
use crate::notify::{MailEvent, Notifier};

/// Who did what, for the audit trail.
#[derive(Debug)]
pub struct Audit<'a> {
    /// The application concerned, when there is one (its history shows the event).
    pub application_id: Option<&'a ApplicationId>,
    pub call_id: Option<&'a CallId>,
    pub actor_id: &'a UserId,
    /// What was done, typed; the trail stores its name (`submit`, `assignment-accept`…).
    pub action: AuditAction,
    pub payload: Value,
}

/// A move of one row of one machine.
#[derive(Debug, Clone, Copy)]
pub struct Move<'a, S: MachineState> {
    pub id: &'a S::Id,
    pub from: S,
    pub to: S,
}

/// The audit event is stamped by the notifier's clock, which is the services' clock
/// (`AppState::with_clock` sets both).
pub fn change_state<S: MachineState>(
    conn: &mut DbConnection,
    notifier: &Notifier,
    change: Move<'_, S>,
    audit: Audit<'_>,
    mails: &[MailEvent],
) -> Result<(), ServiceError> {
    if states::set(
        conn,
        S::MACHINE,
        change.id.as_ref(),
        change.from.name(),
        change.to.name(),
    )? != 1
    {
        return Err(ServiceError::conflict(
            "Cet élément a changé d'état entre-temps : rechargez-le puis recommencez.",
        ));
    }
    // The trail's `from_state`/`to_state` are those of an application or a call, as their
    // histories show them; an assignment's, a review's or a message's move is named by the
    // action, and its payload names the row.
    let states_shown = matches!(S::MACHINE, Machine::Application | Machine::Call);
    audit::record(
        conn,
        NewEvent {
            application_id: audit.application_id,
            call_id: audit.call_id,
            actor_id: Some(audit.actor_id),
            action: audit.action,
            from_state: states_shown.then(|| change.from.name()),
            to_state: states_shown.then(|| change.to.name()),
            payload: audit.payload,
            at: notifier.clock().now(),
        },
    )?;
    for mail in mails {
        notifier.queue(conn, mail)?;
    }
    Ok(())
}

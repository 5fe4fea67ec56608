//! The one function through which every state of every machine changes (DESIGN.md §3): in the
//! caller's transaction it moves the row from its state to the next (a compare-and-set, so a
//! concurrent move makes it fail instead of being overwritten), writes the audit event and
//! queues the mails. The domain tables decide whether the move is allowed; this writes it.

use serde_json::Value;
use uuid::Uuid;

use crate::db::audit::{self, AuditRow};
use crate::db::{DbConnection, states};
use crate::domain::machine::{Machine, MachineState};
use crate::error::ServiceError;
use crate::notify::{MailEvent, Notifier};

/// Who did what, for the audit trail.
#[derive(Debug)]
pub struct Audit<'a> {
    /// The application concerned, when there is one (its history shows the event).
    pub application_id: Option<&'a str>,
    pub call_id: Option<&'a str>,
    pub actor_id: &'a str,
    /// The action's name, as the history shows it (`submit`, `assignment-accept`…).
    pub action: &'a str,
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
    audit::insert(
        conn,
        &AuditRow {
            id: Uuid::now_v7().to_string(),
            application_id: audit.application_id.map(str::to_owned),
            call_id: audit.call_id.map(str::to_owned),
            actor_id: Some(audit.actor_id.to_owned()),
            action: audit.action.to_owned(),
            from_state: states_shown.then(|| change.from.name().to_owned()),
            to_state: states_shown.then(|| change.to.name().to_owned()),
            payload: audit.payload.to_string(),
            at: notifier.clock().now(),
        },
    )?;
    for mail in mails {
        notifier.queue(conn, mail)?;
    }
    Ok(())
}

//! The reminders of a grant's life (DESIGN.md §15): the convention still unsigned 7 and 21
//! days after it was issued; the final report due in 30 and 7 days, and late by one. Every instance runs [`run_forever`]; each reminder goes once per
//! grant and kind, whoever sends it, because `grant_reminders`' key refuses a second and the
//! mail is queued in the same transaction (the outbox delivers it). The days are the injected
//! clock's, in Paris, so tests move the clock instead of waiting.

use std::time::Duration as StdDuration;

use crate::clock::paris_date;
use crate::db::grants::{self, GrantFilter, GrantVisibility};
use crate::db::letters;
use crate::domain::grant::{GrantState, due_reminders, due_report_reminder};
use crate::domain::letter::LetterKind;
use crate::error::ServiceError;
use crate::notify::MailEvent;
use crate::services::mail_events::{application_and_call, summary};
use crate::state::AppState;

/// How often each instance looks for reminders due: hourly is enough for reminders counted
/// in days.
pub const EVERY: StdDuration = StdDuration::from_secs(3600);

/// The most grants one pass reads: a call awards a few hundred at most.
const PASS_LIMIT: i64 = 10_000;

/// Queues the reminders due now; returns how many mails were queued.
pub async fn send_due(state: &AppState) -> Result<usize, ServiceError> {
    let notifier = state.notifier.clone();
    let today = state.clock.paris_today();
    let now = state.clock.now();
    state
        .db
        .transaction(move |conn| {
            let waiting = grants::list(
                conn,
                &GrantVisibility::All,
                &GrantFilter {
                    call_id: None,
                    state: Some(GrantState::AwaitingSignature),
                },
                PASS_LIMIT,
            )?;
            let mut queued = 0;
            for grant in waiting {
                let Some((convention, _)) =
                    letters::latest_of_grant(conn, &grant.id, LetterKind::Convention)?
                else {
                    continue;
                };
                let issued_on = paris_date(convention.issued_at.and_utc());
                let Some(reminder) = due_reminders(grant.state, issued_on, today) else {
                    continue;
                };
                if grants::reminder_sent(conn, &grant.id, reminder.as_str())? {
                    continue;
                }
                grants::record_reminder(conn, &grant.id, reminder.as_str(), now)?;
                let (row, call) = application_and_call(conn, &grant)?;
                let app = summary(conn, &row, &call)?;
                queued += notifier.queue(
                    conn,
                    &MailEvent::ConventionReminder {
                        app,
                        days: reminder.days(),
                        letter_id: Some(convention.id.to_string()),
                    },
                )?;
            }
            let running = grants::list(
                conn,
                &GrantVisibility::All,
                &GrantFilter {
                    call_id: None,
                    state: Some(GrantState::Running),
                },
                PASS_LIMIT,
            )?;
            for grant in running {
                let Some(reminder) = due_report_reminder(grant.state, grant.report_due_on, today)
                else {
                    continue;
                };
                if grants::reminder_sent(conn, &grant.id, reminder.as_str())? {
                    continue;
                }
                grants::record_reminder(conn, &grant.id, reminder.as_str(), now)?;
                let (row, call) = application_and_call(conn, &grant)?;
                let app = summary(conn, &row, &call)?;
                queued += notifier.queue(
                    conn,
                    &MailEvent::ReportReminder {
                        app,
                        due_on: grant.report_due_on,
                        days: (grant.report_due_on - today).num_days(),
                        late: reminder.is_late(),
                    },
                )?;
            }
            Ok(queued)
        })
        .await
}

/// Looks for reminders due every [`EVERY`] until the process ends; errors are logged and the
/// next tick tries again.
pub async fn run_forever(state: AppState) {
    let mut tick = tokio::time::interval(EVERY);
    loop {
        tick.tick().await;
        match send_due(&state).await {
            Ok(0) => tracing::debug!("no reminder due"),
            Ok(n) => tracing::info!(queued = n, "reminders queued"),
            Err(e) => tracing::error!(error = %e, "reminders failed"),
        }
    }
}

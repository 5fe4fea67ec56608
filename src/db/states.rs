//! The one write of a state column. `services::runner::change_state` is its only caller: it
//! writes the audit event and the mails in the same transaction. The rows' `update` functions
//! cannot write a state (the columns are `skip_update` in their changesets), and the outbox
//! worker's own moves (claim, sent, failed, dead) are the only other writers of `outbox.status`.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{applications, assignments, calls, grants, instalments, outbox, reviews};
use crate::domain::machine::Machine;

/// Moves the row `id` of `machine` from `from` to `to`, if it is still in `from`: 1 when done,
/// 0 when the row is not there or no longer in `from` (someone else moved it first).
pub fn set(
    conn: &mut DbConnection,
    machine: Machine,
    id: &str,
    from: &str,
    to: &str,
) -> QueryResult<usize> {
    match machine {
        Machine::Application => diesel::update(
            applications::table
                .find(id)
                .filter(applications::state.eq(from)),
        )
        .set(applications::state.eq(to))
        .execute(conn),
        Machine::Call => diesel::update(calls::table.find(id).filter(calls::state.eq(from)))
            .set(calls::state.eq(to))
            .execute(conn),
        Machine::Assignment => diesel::update(
            assignments::table
                .find(id)
                .filter(assignments::status.eq(from)),
        )
        .set(assignments::status.eq(to))
        .execute(conn),
        Machine::Review => diesel::update(reviews::table.find(id).filter(reviews::status.eq(from)))
            .set(reviews::status.eq(to))
            .execute(conn),
        Machine::Grant => diesel::update(grants::table.find(id).filter(grants::state.eq(from)))
            .set(grants::state.eq(to))
            .execute(conn),
        Machine::Instalment => diesel::update(
            instalments::table
                .find(id)
                .filter(instalments::state.eq(from)),
        )
        .set(instalments::state.eq(to))
        .execute(conn),
        Machine::OutboxMessage => {
            diesel::update(outbox::table.find(id).filter(outbox::status.eq(from)))
                .set(outbox::status.eq(to))
                .execute(conn)
        }
    }
}

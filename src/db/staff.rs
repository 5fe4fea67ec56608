//! What the agents' pages read beyond the lists: a call's figures, an application's
//! assignments with the reviewers' names, the reviewer accounts to choose from.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::assignments::AssignmentRow;
use crate::db::schema::{applications, assignments, reviews, users};
use crate::domain::application_state::ApplicationState;
use crate::domain::ids::CallId;
use crate::domain::money::Cents;

/// The amounts requested by a call's applications in one state.
pub fn requested_in_state(
    conn: &mut DbConnection,
    call_id: &CallId,
    state: ApplicationState,
) -> QueryResult<Vec<Cents>> {
    applications::table
        .filter(applications::call_id.eq(call_id))
        .filter(applications::state.eq(state))
        .select(applications::requested_cents)
        .load(conn)
}

/// One application id per submitted review of a call's applications under review.
pub fn submitted_reviews_under_review(
    conn: &mut DbConnection,
    call_id: &CallId,
) -> QueryResult<Vec<String>> {
    reviews::table
        .inner_join(applications::table)
        .filter(applications::call_id.eq(call_id))
        .filter(applications::state.eq(ApplicationState::UnderReview))
        .filter(reviews::status.eq("submitted"))
        .select(reviews::application_id)
        .load(conn)
}

/// (application id, assignment status) of every assignment of a call's applications under
/// review.
pub fn assignments_under_review(
    conn: &mut DbConnection,
    call_id: &CallId,
) -> QueryResult<Vec<(String, String)>> {
    assignments::table
        .inner_join(applications::table)
        .filter(applications::call_id.eq(call_id))
        .filter(applications::state.eq(ApplicationState::UnderReview))
        .select((assignments::application_id, assignments::status))
        .load(conn)
}

/// The application's assignments, oldest first, each with its reviewer's name and the status
/// of their review (if they started one).
pub fn assignments_with_names(
    conn: &mut DbConnection,
    application_id: &str,
) -> QueryResult<Vec<(AssignmentRow, String, Option<String>)>> {
    assignments::table
        .inner_join(users::table.on(users::id.eq(assignments::reviewer_id)))
        .left_join(reviews::table.on(reviews::assignment_id.eq(assignments::id)))
        .filter(assignments::application_id.eq(application_id))
        .order((assignments::assigned_at.asc(), assignments::id.asc()))
        .select((
            AssignmentRow::as_select(),
            users::full_name,
            reviews::status.nullable(),
        ))
        .load(conn)
}

/// Active reviewer accounts, by name: (id, full name, email).
pub fn active_reviewers(conn: &mut DbConnection) -> QueryResult<Vec<(String, String, String)>> {
    users::table
        .filter(users::role.eq("reviewer"))
        .filter(users::active.eq(true))
        .order((users::full_name.asc(), users::id.asc()))
        .select((users::id, users::full_name, users::email))
        .limit(500)
        .load(conn)
}

//! Reviews in the database.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{applications, reviews, users};
use crate::domain::application_state::ApplicationState;
use crate::domain::ids::{ApplicationId, AssignmentId, CallId, ReviewId, UserId};
use crate::domain::money::Cents;
use crate::domain::review::ReviewStatus;
use crate::domain::scoring::Recommendation;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = reviews, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct ReviewRow {
    pub id: ReviewId,
    pub assignment_id: AssignmentId,
    pub application_id: ApplicationId,
    pub reviewer_id: UserId,
    pub scores: String,
    pub comment: String,
    pub recommendation: Option<Recommendation>,
    /// Written only by `db::states::set`, through the services' runner.
    #[diesel(skip_update)]
    pub status: ReviewStatus,
    pub score_hundredths: Option<i32>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub submitted_at: Option<NaiveDateTime>,
}

pub fn for_assignment(
    conn: &mut DbConnection,
    assignment_id: &AssignmentId,
) -> QueryResult<Option<ReviewRow>> {
    reviews::table
        .filter(reviews::assignment_id.eq(assignment_id))
        .select(ReviewRow::as_select())
        .first(conn)
        .optional()
}

pub fn insert(conn: &mut DbConnection, row: &ReviewRow) -> QueryResult<usize> {
    diesel::insert_into(reviews::table)
        .values(row)
        .execute(conn)
}

pub fn update(conn: &mut DbConnection, row: &ReviewRow) -> QueryResult<usize> {
    diesel::update(reviews::table.find(&row.id))
        .set(row)
        .execute(conn)
}

/// Every review of an application with its reviewer's name (staff only).
pub fn for_application(
    conn: &mut DbConnection,
    application_id: &ApplicationId,
) -> QueryResult<Vec<(ReviewRow, String)>> {
    reviews::table
        .inner_join(users::table.on(users::id.eq(reviews::reviewer_id)))
        .filter(reviews::application_id.eq(application_id))
        .order(reviews::created_at.asc())
        .select((ReviewRow::as_select(), users::full_name))
        .load(conn)
}

pub fn submitted_scores(conn: &mut DbConnection, application_id: &str) -> QueryResult<Vec<i32>> {
    reviews::table
        .filter(reviews::application_id.eq(application_id))
        .filter(reviews::status.eq("submitted"))
        .select(reviews::score_hundredths.assume_not_null())
        .load(conn)
}

/// One submitted review of a call's application, with what the ranking shows of it.
#[derive(Debug, Clone, Queryable)]
pub struct ScoreLine {
    pub application_id: ApplicationId,
    pub reference: String,
    pub submitted_at: Option<NaiveDateTime>,
    /// The review's score, in hundredths.
    pub score: i32,
    pub organisation_name: String,
    pub requested_cents: Cents,
    pub state: ApplicationState,
    pub awarded_cents: Option<Cents>,
}

/// Every submitted review of a call's applications that are still in competition or
/// decided, with the application's name, amount and state, in one query.
pub fn scores_for_call(conn: &mut DbConnection, call_id: &CallId) -> QueryResult<Vec<ScoreLine>> {
    reviews::table
        .inner_join(applications::table)
        .filter(applications::call_id.eq(call_id))
        .filter(applications::state.eq_any(["under_review", "accepted", "rejected"]))
        .filter(reviews::status.eq("submitted"))
        .select((
            applications::id,
            applications::reference,
            applications::submitted_at,
            reviews::score_hundredths.assume_not_null(),
            applications::organisation_name,
            applications::requested_cents,
            applications::state,
            applications::awarded_cents,
        ))
        .load(conn)
}

/// The stored bodies of these applications (to read a project's total budget).
pub fn bodies(
    conn: &mut DbConnection,
    ids: &[ApplicationId],
) -> QueryResult<Vec<(ApplicationId, String)>> {
    applications::table
        .filter(applications::id.eq_any(ids))
        .select((applications::id, applications::body))
        .load(conn)
}

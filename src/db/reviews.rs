//! Reviews in the database.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{applications, reviews, users};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = reviews, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct ReviewRow {
    pub id: String,
    pub assignment_id: String,
    pub application_id: String,
    pub reviewer_id: String,
    pub scores: String,
    pub comment: String,
    pub recommendation: String,
    /// Written only by `db::states::set`, through the services' runner.
    #[diesel(skip_update)]
    pub status: String,
    pub score_hundredths: Option<i32>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub submitted_at: Option<NaiveDateTime>,
}

pub fn for_assignment(
    conn: &mut DbConnection,
    assignment_id: &str,
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
    application_id: &str,
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

/// (application id, reference, submitted_at, review score in hundredths).
pub type ScoreLine = (String, String, Option<NaiveDateTime>, i32);

/// (application id, reference, submitted_at, review score) for every submitted review of a
/// call's applications that are still in competition or decided, in one query.
pub fn scores_for_call(conn: &mut DbConnection, call_id: &str) -> QueryResult<Vec<ScoreLine>> {
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
        ))
        .load(conn)
}

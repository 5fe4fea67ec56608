//! Reviewers' assignments.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::assignments;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = assignments, treat_none_as_null = true)]
pub struct AssignmentRow {
    pub id: String,
    pub application_id: String,
    pub reviewer_id: String,
    pub status: String,
    pub statement: Option<String>,
    pub recusal_reason: Option<String>,
    pub assigned_by: String,
    pub assigned_at: NaiveDateTime,
    pub responded_at: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut DbConnection, row: &AssignmentRow) -> QueryResult<usize> {
    diesel::insert_into(assignments::table)
        .values(row)
        .execute(conn)
}

pub fn has_accepted(
    conn: &mut DbConnection,
    application_id: &str,
    reviewer_id: &str,
) -> QueryResult<bool> {
    let n: i64 = assignments::table
        .filter(assignments::application_id.eq(application_id))
        .filter(assignments::reviewer_id.eq(reviewer_id))
        .filter(assignments::status.eq("accepted"))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

pub fn for_application(
    conn: &mut DbConnection,
    application_id: &str,
) -> QueryResult<Vec<AssignmentRow>> {
    assignments::table
        .filter(assignments::application_id.eq(application_id))
        .order(assignments::assigned_at.asc())
        .select(AssignmentRow::as_select())
        .load(conn)
}

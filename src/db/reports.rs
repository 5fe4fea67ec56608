//! A grant's final report in the database (DESIGN.md §15): one row per grant, its body the
//! JSON of `domain::report::ReportBody`, parsed once here. Where it stands is the grant's state.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::grant_reports;
use crate::db::{DbConnection, corrupt};
use crate::domain::ids::GrantId;
use crate::domain::report::ReportBody;
use crate::error::ServiceError;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = grant_reports)]
struct ReportRow {
    grant_id: String,
    body: String,
    version: i32,
    submitted_at: Option<NaiveDateTime>,
    changes_message: Option<String>,
    approved_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

/// A report as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub grant_id: GrantId,
    pub body: ReportBody,
    pub version: i32,
    pub submitted_at: Option<NaiveDateTime>,
    /// What staff asked to change, the last time they did.
    pub changes_message: Option<String>,
    pub approved_at: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
}

fn typed(row: ReportRow) -> Result<Report, ServiceError> {
    Ok(Report {
        body: serde_json::from_str(&row.body).map_err(|e| corrupt("grant_reports.body", e))?,
        grant_id: GrantId::from_stored(row.grant_id),
        version: row.version,
        submitted_at: row.submitted_at,
        changes_message: row.changes_message,
        approved_at: row.approved_at,
        updated_at: row.updated_at,
    })
}

pub fn find(conn: &mut DbConnection, grant: &GrantId) -> Result<Option<Report>, ServiceError> {
    let row: Option<ReportRow> = grant_reports::table
        .filter(grant_reports::grant_id.eq(grant.as_str()))
        .select(ReportRow::as_select())
        .first(conn)
        .optional()?;
    row.map(typed).transpose()
}

/// Writes the draft (the first save creates the row).
pub fn save(
    conn: &mut DbConnection,
    grant: &GrantId,
    body: &ReportBody,
    at: NaiveDateTime,
) -> Result<(), ServiceError> {
    let json = serde_json::to_string(body).map_err(|e| ServiceError::Internal(e.into()))?;
    let updated =
        diesel::update(grant_reports::table.filter(grant_reports::grant_id.eq(grant.as_str())))
            .set((
                grant_reports::body.eq(&json),
                grant_reports::version.eq(grant_reports::version + 1),
                grant_reports::updated_at.eq(at),
            ))
            .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(grant_reports::table)
            .values(ReportRow {
                grant_id: grant.to_string(),
                body: json,
                version: 1,
                submitted_at: None,
                changes_message: None,
                approved_at: None,
                created_at: at,
                updated_at: at,
            })
            .execute(conn)?;
    }
    Ok(())
}

/// Stamps a submission (in the move's transaction).
pub fn mark_submitted(
    conn: &mut DbConnection,
    grant: &GrantId,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(grant_reports::table.filter(grant_reports::grant_id.eq(grant.as_str())))
        .set((
            grant_reports::submitted_at.eq(at),
            grant_reports::updated_at.eq(at),
        ))
        .execute(conn)
}

/// Records what staff ask to change (in the move's transaction).
pub fn mark_changes_requested(
    conn: &mut DbConnection,
    grant: &GrantId,
    message: &str,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(grant_reports::table.filter(grant_reports::grant_id.eq(grant.as_str())))
        .set((
            grant_reports::changes_message.eq(message),
            grant_reports::updated_at.eq(at),
        ))
        .execute(conn)
}

/// Stamps the approval (in the move's transaction).
pub fn mark_approved(
    conn: &mut DbConnection,
    grant: &GrantId,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(grant_reports::table.filter(grant_reports::grant_id.eq(grant.as_str())))
        .set((
            grant_reports::approved_at.eq(at),
            grant_reports::updated_at.eq(at),
        ))
        .execute(conn)
}

/// When each of these grants' report was submitted (last), for the grants' lists and exports.
pub fn submitted_of(
    conn: &mut DbConnection,
    grants: &[String],
) -> Result<std::collections::HashMap<String, NaiveDateTime>, ServiceError> {
    let rows: Vec<(String, Option<NaiveDateTime>)> = grant_reports::table
        .filter(grant_reports::grant_id.eq_any(grants))
        .filter(grant_reports::submitted_at.is_not_null())
        .select((grant_reports::grant_id, grant_reports::submitted_at))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, at)| Some((id, at?)))
        .collect())
}

//! Calls for projects in the database.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{applications, calls};
use crate::db::{DbConnection, corrupt};
use crate::domain::call::CallState;
use crate::domain::ids::{CallId, UserId};
use crate::domain::money::Cents;
use crate::error::ServiceError;
use crate::input::cursor::{Key, KeyKind, Paged, Window};

/// The order of the calls' list (newest first) in cursors.
pub const LIST_SORT: (&str, KeyKind) = ("calls:-created_at", KeyKind::Time);

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = calls, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct CallRow {
    pub id: CallId,
    pub title: String,
    pub description: String,
    pub rules_version: String,
    pub opens_at: Option<NaiveDateTime>,
    pub closes_at: Option<NaiveDateTime>,
    pub budget_cents: Cents,
    pub max_award_cents: Cents,
    pub max_budget_share_pct: Option<i32>,
    pub territory: String,
    pub min_reviews: i32,
    pub scoring_grid: String,
    pub required_documents: String,
    /// Written only by `db::states::set`, through the services' runner.
    #[diesel(skip_update)]
    pub state: CallState,
    pub version: i32,
    pub awarded_cents: Cents,
    pub created_by: UserId,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub published_at: Option<NaiveDateTime>,
    pub closed_at: Option<NaiveDateTime>,
    /// `always`, `above_threshold` or `never` (`domain::grant::ConventionPolicy`).
    pub convention: String,
    pub convention_threshold_cents: Cents,
    pub report_due_months: i32,
    /// The payment schedule, JSON (`[{label, percent, trigger}]`).
    pub instalment_schedule: String,
    /// Days a commune has to give its opinion after a submission (§16).
    pub commune_opinion_days: i32,
    pub reviewers_see_commune_opinions: bool,
}

pub fn insert(conn: &mut DbConnection, row: &CallRow) -> QueryResult<usize> {
    diesel::insert_into(calls::table).values(row).execute(conn)
}

pub fn find(conn: &mut DbConnection, id: &CallId) -> QueryResult<Option<CallRow>> {
    calls::table
        .find(id)
        .select(CallRow::as_select())
        .first(conn)
        .optional()
}

/// The call, locked until the end of the transaction on PostgreSQL (SQLite transactions here
/// are `BEGIN IMMEDIATE`, which already serialises writers).
pub fn find_for_update(conn: &mut DbConnection, id: &CallId) -> QueryResult<Option<CallRow>> {
    match conn {
        DbConnection::Pg(pg) => calls::table
            .find(id)
            .select(CallRow::as_select())
            .for_update()
            .first(pg)
            .optional(),
        DbConnection::Sqlite(sqlite) => calls::table
            .find(id)
            .select(CallRow::as_select())
            .first(sqlite)
            .optional(),
    }
}

/// Writes `row` if its stored version is still `expected_version`; returns the rows changed
/// (0 means someone else changed it first).
pub fn update_versioned(
    conn: &mut DbConnection,
    row: &CallRow,
    expected_version: i32,
) -> QueryResult<usize> {
    diesel::update(
        calls::table
            .filter(calls::id.eq(&row.id))
            .filter(calls::version.eq(expected_version)),
    )
    .set(row)
    .execute(conn)
}

pub fn list(
    conn: &mut DbConnection,
    states: &[CallState],
    window: &Window,
) -> QueryResult<(Paged<CallRow>, i64)> {
    let total = window.total(|| {
        calls::table
            .filter(calls::state.eq_any(states))
            .count()
            .get_result(conn)
    })?;
    let read = window.read(total);
    let rows: Vec<CallRow> = if read.is_empty() {
        Vec::new()
    } else {
        let q = calls::table
            .filter(calls::state.eq_any(states))
            .select(CallRow::as_select())
            .into_boxed();
        crate::keyset_query!(
            q,
            calls::created_at,
            calls::id,
            &read,
            descending = true,
            key = |k: &Key| k.time().unwrap_or_default()
        )
        .load(conn)?
    };
    Ok((
        window.finish(&read, rows, |r| (Key::Time(r.created_at), r.id.to_string())),
        total,
    ))
}

/// The published calls, the one closing first first (a permanent call last).
pub fn published(conn: &mut DbConnection) -> QueryResult<Vec<CallRow>> {
    let mut rows: Vec<CallRow> = calls::table
        .filter(calls::state.eq(CallState::Published))
        .select(CallRow::as_select())
        .load(conn)?;
    rows.sort_by_key(|c| (c.closes_at.is_none(), c.closes_at, c.created_at));
    Ok(rows)
}

/// Has any application of this call left the draft state (i.e. been submitted at least once)?
pub fn has_submissions(conn: &mut DbConnection, call_id: &CallId) -> QueryResult<bool> {
    let n: i64 = applications::table
        .filter(applications::call_id.eq(call_id))
        .filter(applications::submitted_at.is_not_null())
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Adds `amount` to what the call has awarded, only if the envelope still holds it (1 row
/// changed) — the database's own guard, whatever the callers did before.
pub fn consume_envelope(
    conn: &mut DbConnection,
    call_id: &CallId,
    amount: Cents,
) -> QueryResult<usize> {
    let amount = amount.value();
    diesel::update(
        calls::table
            .filter(calls::id.eq(call_id))
            .filter((calls::awarded_cents + amount).le(calls::budget_cents)),
    )
    .set(calls::awarded_cents.eq(calls::awarded_cents + amount))
    .execute(conn)
}

/// What a call says of its grants (§15): the convention rule and the report's delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrantTerms {
    pub convention: crate::domain::grant::ConventionPolicy,
    pub convention_threshold: crate::domain::money::Cents,
    pub report_due_months: u32,
}

pub fn grant_terms(conn: &mut DbConnection, call_id: &CallId) -> Result<GrantTerms, ServiceError> {
    let (convention, convention_threshold, months): (String, Cents, i32) = calls::table
        .find(call_id)
        .select((
            calls::convention,
            calls::convention_threshold_cents,
            calls::report_due_months,
        ))
        .first(conn)?;
    Ok(GrantTerms {
        convention: convention
            .parse()
            .map_err(|e| corrupt("calls.convention", e))?,
        convention_threshold,
        report_due_months: u32::try_from(months)
            .map_err(|e| corrupt("calls.report_due_months", e))?,
    })
}

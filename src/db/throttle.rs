//! Counted attempts for throttling, in the database so that every instance sees the same
//! counts (DESIGN.md §14).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::throttle_events;

/// How many attempts of `scope` by `subject` since `since`, and the oldest of them (from which
/// the wait is computed).
pub fn window(
    conn: &mut DbConnection,
    scope: &str,
    subject: &str,
    since: NaiveDateTime,
) -> QueryResult<(i64, Option<NaiveDateTime>)> {
    let q = throttle_events::table
        .filter(throttle_events::scope.eq(scope))
        .filter(throttle_events::subject.eq(subject))
        .filter(throttle_events::at.gt(since));
    let (n, oldest) = q
        .select((
            diesel::dsl::count_star(),
            diesel::dsl::min(throttle_events::at),
        ))
        .first::<(i64, Option<NaiveDateTime>)>(conn)?;
    Ok((n, oldest))
}

/// Counts one attempt; returns its row's id (a claim a successful sign-in gives back).
pub fn record(
    conn: &mut DbConnection,
    scope: &str,
    subject: &str,
    at: NaiveDateTime,
) -> QueryResult<String> {
    let id = uuid::Uuid::now_v7().to_string();
    diesel::insert_into(throttle_events::table)
        .values((
            throttle_events::id.eq(&id),
            throttle_events::scope.eq(scope),
            throttle_events::subject.eq(subject),
            throttle_events::at.eq(at),
        ))
        .execute(conn)?;
    Ok(id)
}

/// Makes the transactions that count attempts of one `scope` and `subject` take turns, so
/// that an insert-then-count sees every attempt before it. SQLite's write transactions
/// (`BEGIN IMMEDIATE`) already take turns; on PostgreSQL a transaction-scoped advisory lock
/// keyed by the subject does it (released at commit or rollback), across instances since
/// they share the database.
pub fn serialise(conn: &mut DbConnection, scope: &str, subject: &str) -> QueryResult<()> {
    if let DbConnection::Pg(pg) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext($1))::text AS locked")
            .bind::<diesel::sql_types::Text, _>(format!("throttle:{scope}:{subject}"))
            .execute(pg)?;
    }
    Ok(())
}

/// Forgets one counted attempt (a sign-in that succeeded gives its claim back).
pub fn forget(conn: &mut DbConnection, id: &str) -> QueryResult<usize> {
    diesel::delete(throttle_events::table.find(id)).execute(conn)
}

/// Forgets attempts older than `before` (they count in no window any more).
pub fn purge(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(throttle_events::table.filter(throttle_events::at.lt(before))).execute(conn)
}

/// Forgets the attempts of one subject (a successful sign-in clears its account's failures).
pub fn clear(conn: &mut DbConnection, scope: &str, subject: &str) -> QueryResult<usize> {
    diesel::delete(
        throttle_events::table
            .filter(throttle_events::scope.eq(scope))
            .filter(throttle_events::subject.eq(subject)),
    )
    .execute(conn)
}

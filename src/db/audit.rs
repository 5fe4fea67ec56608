//! The audit trail: one row per transition or edit, written in the same transaction.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::audit_events;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events, treat_none_as_default_value = false)]
pub struct AuditRow {
    pub id: String,
    pub application_id: Option<String>,
    pub call_id: Option<String>,
    /// `None`: done by essor itself (the retention job), not by an account.
    pub actor_id: Option<String>,
    pub action: String,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    pub payload: String,
    pub at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, row: &AuditRow) -> QueryResult<usize> {
    diesel::insert_into(audit_events::table)
        .values(row)
        .execute(conn)
}

/// Events of an application, oldest first, with the actor's name and role (events without
/// an actor are not an application's: the retention job writes them without one).
pub fn for_application(
    conn: &mut DbConnection,
    application_id: &str,
) -> QueryResult<Vec<(AuditRow, String, String)>> {
    use crate::db::schema::users;
    audit_events::table
        .inner_join(users::table.on(audit_events::actor_id.eq(users::id.nullable())))
        .filter(audit_events::application_id.eq(application_id))
        .order((audit_events::at.asc(), audit_events::id.asc()))
        .select((AuditRow::as_select(), users::full_name, users::role))
        .load(conn)
}

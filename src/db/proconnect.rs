//! ProConnect's links to accounts and the sign-ins under way (DESIGN.md §17).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{proconnect_flows, proconnect_identities};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = proconnect_flows)]
pub struct FlowRow {
    pub state: String,
    pub browser_hash: String,
    pub nonce: String,
    pub acr: String,
    pub return_to: Option<String>,
    pub created_at: NaiveDateTime,
}

pub fn insert_flow(conn: &mut DbConnection, row: &FlowRow) -> QueryResult<()> {
    diesel::insert_into(proconnect_flows::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// The flow of `state`, deleted as it is read: a `state` is good once.
pub fn take_flow(conn: &mut DbConnection, state: &str) -> QueryResult<Option<FlowRow>> {
    let row = proconnect_flows::table
        .find(state)
        .select(FlowRow::as_select())
        .first(conn)
        .optional()?;
    if row.is_some() {
        diesel::delete(proconnect_flows::table.find(state)).execute(conn)?;
    }
    Ok(row)
}

/// Flows started before `before` and never finished.
pub fn purge_flows(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(proconnect_flows::table.filter(proconnect_flows::created_at.lt(before)))
        .execute(conn)
}

/// The account linked to (`sub`, `idp_id`).
pub fn linked_user(
    conn: &mut DbConnection,
    sub: &str,
    idp_id: &str,
) -> QueryResult<Option<String>> {
    proconnect_identities::table
        .find((sub, idp_id))
        .select(proconnect_identities::user_id)
        .first(conn)
        .optional()
}

pub fn link(
    conn: &mut DbConnection,
    sub: &str,
    idp_id: &str,
    user_id: &str,
    email: &str,
    siret: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(proconnect_identities::table)
        .values((
            proconnect_identities::sub.eq(sub),
            proconnect_identities::idp_id.eq(idp_id),
            proconnect_identities::user_id.eq(user_id),
            proconnect_identities::email.eq(email),
            proconnect_identities::siret.eq(siret),
            proconnect_identities::linked_at.eq(now),
            proconnect_identities::last_sign_in_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn touch(
    conn: &mut DbConnection,
    sub: &str,
    idp_id: &str,
    email: &str,
    siret: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(proconnect_identities::table.find((sub, idp_id)))
        .set((
            proconnect_identities::email.eq(email),
            proconnect_identities::siret.eq(siret),
            proconnect_identities::last_sign_in_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Whether the account has a ProConnect identity.
pub fn has_identity(conn: &mut DbConnection, user_id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        proconnect_identities::table.filter(proconnect_identities::user_id.eq(user_id)),
    ))
    .get_result(conn)
}

/// An erased account's links (RGPD): ProConnect's subject names a person.
pub fn unlink_all(conn: &mut DbConnection, user_id: &str) -> QueryResult<usize> {
    diesel::delete(proconnect_identities::table.filter(proconnect_identities::user_id.eq(user_id)))
        .execute(conn)
}

//! Personal access tokens in the database (DESIGN.md §14). Only the SHA-256 of a secret is
//! stored; the bearer check finds a token by that hash, with its owner's current state, in one
//! query.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{personal_tokens, users};
use crate::db::users::AccountCheckRow;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = personal_tokens, treat_none_as_default_value = false)]
pub struct PersonalTokenRow {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub token_hash: String,
    pub hint: String,
    pub scopes: String,
    pub generation: i32,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut DbConnection, row: &PersonalTokenRow) -> QueryResult<usize> {
    diesel::insert_into(personal_tokens::table)
        .values(row)
        .execute(conn)
}

/// The token with this hash and its owner as they are now (one indexed join).
pub fn find_by_hash(
    conn: &mut DbConnection,
    token_hash: &str,
) -> QueryResult<Option<(PersonalTokenRow, AccountCheckRow)>> {
    personal_tokens::table
        .inner_join(users::table)
        .filter(personal_tokens::token_hash.eq(token_hash))
        .select((PersonalTokenRow::as_select(), AccountCheckRow::as_select()))
        .first(conn)
        .optional()
}

/// The owner's tokens, newest first, with the owner's current generation.
pub fn for_user(conn: &mut DbConnection, user_id: &str) -> QueryResult<Vec<PersonalTokenRow>> {
    personal_tokens::table
        .filter(personal_tokens::user_id.eq(user_id))
        .order((
            personal_tokens::created_at.desc(),
            personal_tokens::id.desc(),
        ))
        .select(PersonalTokenRow::as_select())
        .load(conn)
}

/// One token of this owner (someone else's is not found).
pub fn find_owned(
    conn: &mut DbConnection,
    user_id: &str,
    id: &str,
) -> QueryResult<Option<PersonalTokenRow>> {
    personal_tokens::table
        .filter(personal_tokens::id.eq(id))
        .filter(personal_tokens::user_id.eq(user_id))
        .select(PersonalTokenRow::as_select())
        .first(conn)
        .optional()
}

/// Tokens of the owner still usable at `now` (not revoked, not expired, current generation).
pub fn count_active(
    conn: &mut DbConnection,
    user_id: &str,
    generation: i32,
    now: NaiveDateTime,
) -> QueryResult<i64> {
    personal_tokens::table
        .filter(personal_tokens::user_id.eq(user_id))
        .filter(personal_tokens::revoked_at.is_null())
        .filter(personal_tokens::generation.eq(generation))
        .filter(personal_tokens::expires_at.gt(now))
        .count()
        .get_result(conn)
}

/// Revokes one token of this owner if it is not already: `Ok(false)` when it was.
pub fn revoke(
    conn: &mut DbConnection,
    user_id: &str,
    id: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        personal_tokens::table
            .filter(personal_tokens::id.eq(id))
            .filter(personal_tokens::user_id.eq(user_id))
            .filter(personal_tokens::revoked_at.is_null()),
    )
    .set(personal_tokens::revoked_at.eq(Some(now)))
    .execute(conn)?;
    Ok(n == 1)
}

/// Records a use (the caller decides it is worth a write: at most once a minute).
pub fn touch(conn: &mut DbConnection, id: &str, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(personal_tokens::table.find(id))
        .set(personal_tokens::last_used_at.eq(Some(now)))
        .execute(conn)
}

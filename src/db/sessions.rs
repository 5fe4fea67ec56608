//! The pages' sessions (`web_sessions`): what `auth::session` keeps of a signed-in browser.
//! Only the SHA-256 of the cookie's value is stored, never the value itself.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{users, web_sessions};
use crate::domain::account::Role;
use crate::domain::ids::UserId;

/// A session to start.
pub struct NewSession<'a> {
    pub id_hash: &'a str,
    pub user_id: &'a UserId,
    pub csrf_token: &'a str,
    /// The page state, a JSON object.
    pub data: &'a str,
    /// The account's generation when its credentials were checked.
    pub generation: i32,
    pub at: NaiveDateTime,
}

/// Starts `new`, ending the session whose hash is `previous` (a new id at every sign-in).
pub fn replace(
    conn: &mut DbConnection,
    previous: Option<&str>,
    new: &NewSession<'_>,
) -> QueryResult<()> {
    if let Some(previous) = previous {
        delete(conn, previous)?;
    }
    diesel::insert_into(web_sessions::table)
        .values((
            web_sessions::id_hash.eq(new.id_hash),
            web_sessions::user_id.eq(new.user_id),
            web_sessions::csrf_token.eq(new.csrf_token),
            web_sessions::data.eq(new.data),
            web_sessions::generation.eq(new.generation),
            web_sessions::created_at.eq(new.at),
            web_sessions::last_seen_at.eq(new.at),
        ))
        .execute(conn)?;
    Ok(())
}

/// A session with its account's current state.
#[derive(Debug, Queryable)]
pub struct LiveSession {
    pub user_id: UserId,
    pub csrf_token: String,
    pub data: String,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub role: Role,
    pub full_name: String,
    pub email_verified_at: Option<NaiveDateTime>,
}

/// The session `id_hash`, if its account is active and it was issued at the account's current
/// generation. A deactivated account's sessions end at once (the account events that end
/// sessions also delete them: `services::accounts`); a password change, a reset, a role
/// change or a deactivation bump the generation, so a session that slipped in beside the
/// change's deletion of the sessions opens nothing (as a bearer token: `auth::account::check`).
pub fn find_live(conn: &mut DbConnection, id_hash: &str) -> QueryResult<Option<LiveSession>> {
    web_sessions::table
        .inner_join(users::table.on(users::id.eq(web_sessions::user_id)))
        .filter(web_sessions::id_hash.eq(id_hash))
        .filter(users::active.eq(true))
        .filter(web_sessions::generation.eq(users::generation))
        .select((
            web_sessions::user_id,
            web_sessions::csrf_token,
            web_sessions::data,
            web_sessions::created_at,
            web_sessions::last_seen_at,
            users::role,
            users::full_name,
            users::email_verified_at,
        ))
        .first(conn)
        .optional()
}

/// Ends every web session of an account (its password changed, it was deactivated…).
pub fn end_all_of(conn: &mut DbConnection, user_id: &str) -> QueryResult<usize> {
    diesel::delete(web_sessions::table.filter(web_sessions::user_id.eq(user_id))).execute(conn)
}

pub fn delete(conn: &mut DbConnection, id_hash: &str) -> QueryResult<usize> {
    diesel::delete(web_sessions::table.find(id_hash)).execute(conn)
}

pub fn touch(conn: &mut DbConnection, id_hash: &str, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(web_sessions::table.find(id_hash))
        .set(web_sessions::last_seen_at.eq(at))
        .execute(conn)
}

pub fn set_data(conn: &mut DbConnection, id_hash: &str, data: &str) -> QueryResult<usize> {
    diesel::update(web_sessions::table.find(id_hash))
        .set(web_sessions::data.eq(data))
        .execute(conn)
}

//! Accounts in the database.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::users;
use crate::input::cursor::{Key, KeyKind, Paged, Window};

/// The order of the accounts' list (oldest first) in cursors.
pub const LIST_SORT: (&str, KeyKind) = ("users:created_at", KeyKind::Time);

fn time_key(k: &Key) -> NaiveDateTime {
    k.time().unwrap_or_default()
}

impl UserRow {
    /// Its place in the list (what a cursor names).
    pub fn key(&self) -> (Key, String) {
        (Key::Time(self.created_at), self.id.clone())
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    pub full_name: String,
    pub role: crate::domain::account::Role,
    pub created_at: NaiveDateTime,
    pub active: bool,
    pub generation: i32,
    pub email_verified_at: Option<NaiveDateTime>,
    /// Erased at its owner's request (RGPD art. 17): the row stays, anonymised.
    pub erased_at: Option<NaiveDateTime>,
    /// A commune account's commune (INSEE code); null for every other role.
    pub commune_insee: Option<String>,
}

/// What an invited account holds until its owner sets a password: not a PHC string, so no
/// password ever verifies against it.
pub const NO_PASSWORD: &str = "!";

/// What an account that signs in with ProConnect alone holds: no password verifies against it
/// either, but the account is no longer waiting for its invitation.
pub const PROCONNECT_ONLY: &str = "!proconnect";

impl UserRow {
    /// A password that can be checked (not one of the `!` markers).
    pub fn has_password(&self) -> bool {
        !self.password_hash.starts_with('!')
    }

    /// A way to sign in: a password, or ProConnect.
    pub fn has_credential(&self) -> bool {
        self.password_hash != NO_PASSWORD
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub id: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub full_name: &'a str,
    pub role: &'a str,
    pub created_at: NaiveDateTime,
    pub email_verified_at: Option<NaiveDateTime>,
    pub commune_insee: Option<&'a str>,
}

pub fn insert(conn: &mut DbConnection, user: &NewUser) -> QueryResult<usize> {
    diesel::insert_into(users::table).values(user).execute(conn)
}

pub fn find_by_email(conn: &mut DbConnection, email: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::email.eq(email))
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

/// Users with the given ids and role (used to check reviewer ids).
pub fn find_many_with_role(
    conn: &mut DbConnection,
    ids: &[String],
    role: &str,
) -> QueryResult<Vec<UserRow>> {
    users::table
        .filter(users::id.eq_any(ids))
        .filter(users::role.eq(role))
        .select(UserRow::as_select())
        .load(conn)
}

/// A page of accounts; `hide_role`: leave that role out (staff do not see applicants' accounts).
pub fn list(
    conn: &mut DbConnection,
    role: Option<&str>,
    hide_role: Option<&str>,
    window: &Window,
) -> QueryResult<(Paged<UserRow>, i64)> {
    let mut count = users::table.count().into_boxed();
    let mut page = users::table.select(UserRow::as_select()).into_boxed();
    if let Some(role) = role {
        count = count.filter(users::role.eq(role.to_owned()));
        page = page.filter(users::role.eq(role.to_owned()));
    }
    if let Some(hidden) = hide_role {
        count = count.filter(users::role.ne(hidden.to_owned()));
        page = page.filter(users::role.ne(hidden.to_owned()));
    }
    let total = window.total(|| count.get_result(conn))?;
    let read = window.read(total);
    let rows: Vec<UserRow> = if read.is_empty() {
        Vec::new()
    } else {
        crate::keyset_query!(
            page,
            users::created_at,
            users::id,
            &read,
            descending = false,
            key = time_key
        )
        .load(conn)?
    };
    Ok((window.finish(&read, rows, UserRow::key), total))
}

/// What the per-request account check reads: one primary-key lookup.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct AccountCheckRow {
    pub role: crate::domain::account::Role,
    pub active: bool,
    pub generation: i32,
    pub email_verified_at: Option<NaiveDateTime>,
}

pub fn find_for_check(conn: &mut DbConnection, id: &str) -> QueryResult<Option<AccountCheckRow>> {
    crate::on_backend!(conn, |c| users::table
        .find(id)
        .select(AccountCheckRow::as_select())
        .first(c)
        .optional())
}

/// The changes an account event writes; `None` leaves a column alone. The generation is
/// bumped when `bump_generation` (credentials issued before stop working).
#[derive(Debug, Default)]
pub struct AccountChange<'a> {
    pub password_hash: Option<&'a str>,
    pub role: Option<&'a str>,
    pub active: Option<bool>,
    pub email_verified_at: Option<NaiveDateTime>,
    pub bump_generation: bool,
}

pub fn update_account(conn: &mut DbConnection, id: &str, c: &AccountChange) -> QueryResult<usize> {
    #[derive(AsChangeset)]
    #[diesel(table_name = users)]
    struct Set<'a> {
        password_hash: Option<&'a str>,
        role: Option<&'a str>,
        active: Option<bool>,
        email_verified_at: Option<Option<NaiveDateTime>>,
    }
    let set = Set {
        password_hash: c.password_hash,
        role: c.role,
        active: c.active,
        email_verified_at: c.email_verified_at.map(Some),
    };
    let target = users::table.find(id);
    if c.bump_generation {
        diesel::update(target)
            .set((set, users::generation.eq(users::generation + 1)))
            .execute(conn)
    } else if c.password_hash.is_none()
        && c.role.is_none()
        && c.active.is_none()
        && c.email_verified_at.is_none()
    {
        Ok(0)
    } else {
        diesel::update(target).set(set).execute(conn)
    }
}

//! What a commune's account reaches (DESIGN.md §16): its commune, and the applications whose
//! activity takes place there once submitted — scoped in the query itself, so another
//! commune's application, or a draft, is simply not found.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{application_communes, applications, users};
use crate::domain::account::Role;

/// The commune of an active commune account; `None` for any other account.
pub fn commune_of(conn: &mut DbConnection, user_id: &str) -> QueryResult<Option<String>> {
    Ok(users::table
        .find(user_id)
        .filter(users::role.eq(Role::Commune.as_str()))
        .filter(users::active.eq(true))
        .select(users::commune_insee)
        .first::<Option<String>>(conn)
        .optional()?
        .flatten())
}

/// The addresses of the active accounts of every commune where an application takes place:
/// whom to tell of its submission.
pub fn addresses_for_application(
    conn: &mut DbConnection,
    application_id: &str,
) -> QueryResult<Vec<String>> {
    users::table
        .filter(users::role.eq(Role::Commune.as_str()))
        .filter(users::active.eq(true))
        .filter(users::erased_at.is_null())
        .filter(
            users::commune_insee.eq_any(
                application_communes::table
                    .filter(application_communes::application_id.eq(application_id.to_owned()))
                    .select(application_communes::commune_insee.nullable()),
            ),
        )
        .order(users::email)
        .select(users::email)
        .load(conn)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = applications)]
pub struct CommuneApplicationRow {
    pub id: crate::domain::ids::ApplicationId,
    pub reference: String,
    pub call_id: crate::domain::ids::CallId,
    pub state: crate::domain::application_state::ApplicationState,
    pub body: String,
    pub organisation_name: String,
    pub project_title: String,
    pub requested_cents: crate::domain::money::Cents,
    pub submitted_at: Option<NaiveDateTime>,
}

/// The submitted applications taking place in `commune_insee`, newest submission first.
pub fn applications(
    conn: &mut DbConnection,
    commune_insee: &str,
) -> QueryResult<Vec<CommuneApplicationRow>> {
    applications::table
        .filter(
            applications::id.eq_any(
                application_communes::table
                    .filter(application_communes::commune_insee.eq(commune_insee.to_owned()))
                    .select(application_communes::application_id),
            ),
        )
        .filter(applications::submitted_at.is_not_null())
        .order((applications::submitted_at.desc(), applications::id.desc()))
        .select(CommuneApplicationRow::as_select())
        .load(conn)
}

/// One of them, or `None` when it is not (yet) the commune's to read.
pub fn application(
    conn: &mut DbConnection,
    commune_insee: &str,
    id: &crate::domain::ids::ApplicationId,
) -> QueryResult<Option<CommuneApplicationRow>> {
    applications::table
        .find(id)
        .filter(
            applications::id.eq_any(
                application_communes::table
                    .filter(application_communes::commune_insee.eq(commune_insee.to_owned()))
                    .select(application_communes::application_id),
            ),
        )
        .filter(applications::submitted_at.is_not_null())
        .select(CommuneApplicationRow::as_select())
        .first(conn)
        .optional()
}

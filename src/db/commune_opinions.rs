//! The communes' opinions on applications (`commune_opinions`, DESIGN.md §16) and their
//! referrals of project holders (`referrals`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{applications, calls, commune_opinions, referrals, users};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = commune_opinions)]
pub struct OpinionRow {
    pub application_id: crate::domain::ids::ApplicationId,
    pub commune_insee: String,
    pub opinion: String,
    pub comment: String,
    pub author_id: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// The commune's opinion on an application, if it gave one.
pub fn find(
    conn: &mut DbConnection,
    application_id: &str,
    commune_insee: &str,
) -> QueryResult<Option<OpinionRow>> {
    commune_opinions::table
        .find((application_id, commune_insee))
        .select(OpinionRow::as_select())
        .first(conn)
        .optional()
}

/// Writes the opinion: a first one is inserted, a later one replaces it (keeping when the
/// first was given). Called inside the transaction that also audits it.
pub fn save(conn: &mut DbConnection, row: &OpinionRow) -> QueryResult<()> {
    let changed = diesel::update(
        commune_opinions::table.find((row.application_id.as_str(), row.commune_insee.as_str())),
    )
    .set((
        commune_opinions::opinion.eq(&row.opinion),
        commune_opinions::comment.eq(&row.comment),
        commune_opinions::author_id.eq(&row.author_id),
        commune_opinions::updated_at.eq(row.updated_at),
    ))
    .execute(conn)?;
    if changed == 0 {
        diesel::insert_into(commune_opinions::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

/// Every opinion on an application, with its author's name, by commune.
pub fn for_application(
    conn: &mut DbConnection,
    application_id: &str,
) -> QueryResult<Vec<(OpinionRow, String)>> {
    commune_opinions::table
        .inner_join(users::table)
        .filter(commune_opinions::application_id.eq(application_id))
        .order(commune_opinions::commune_insee)
        .select((OpinionRow::as_select(), users::full_name))
        .load(conn)
}

/// The opinions on several applications (a page of the ranking board, a chunk of an export).
pub fn for_applications(
    conn: &mut DbConnection,
    application_ids: &[crate::domain::ids::ApplicationId],
) -> QueryResult<Vec<OpinionRow>> {
    if application_ids.is_empty() {
        return Ok(Vec::new());
    }
    commune_opinions::table
        .filter(commune_opinions::application_id.eq_any(application_ids))
        .order((
            commune_opinions::application_id,
            commune_opinions::commune_insee,
        ))
        .select(OpinionRow::as_select())
        .load(conn)
}

/// Forgets the opinions on applications that are deleted.
pub fn forget(
    conn: &mut DbConnection,
    application_ids: &[crate::domain::ids::ApplicationId],
) -> QueryResult<usize> {
    diesel::delete(
        commune_opinions::table.filter(commune_opinions::application_id.eq_any(application_ids)),
    )
    .execute(conn)
}

/// The opinion window of a call: how many days, and whether its reviewers read the opinions.
pub fn call_terms(conn: &mut DbConnection, call_id: &str) -> QueryResult<(i32, bool)> {
    calls::table
        .find(call_id)
        .select((
            calls::commune_opinion_days,
            calls::reviewers_see_commune_opinions,
        ))
        .first(conn)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = referrals)]
pub struct ReferralRow {
    pub id: String,
    pub code: String,
    pub commune_insee: String,
    pub call_id: String,
    pub organisation_name: String,
    pub email: String,
    pub message: String,
    pub author_id: String,
    pub created_at: NaiveDateTime,
}

pub fn insert_referral(conn: &mut DbConnection, row: &ReferralRow) -> QueryResult<usize> {
    diesel::insert_into(referrals::table)
        .values(row)
        .execute(conn)
}

/// The referral a code stands for.
pub fn referral_by_code(conn: &mut DbConnection, code: &str) -> QueryResult<Option<ReferralRow>> {
    referrals::table
        .filter(referrals::code.eq(code))
        .select(ReferralRow::as_select())
        .first(conn)
        .optional()
}

/// One of a commune's referrals; `None` for another commune's (the same as an unknown id).
pub fn referral_of(
    conn: &mut DbConnection,
    commune_insee: &str,
    id: &str,
) -> QueryResult<Option<ReferralRow>> {
    referrals::table
        .find(id)
        .filter(referrals::commune_insee.eq(commune_insee))
        .select(ReferralRow::as_select())
        .first(conn)
        .optional()
}

/// A commune's referrals, newest first.
pub fn referrals_of(conn: &mut DbConnection, commune_insee: &str) -> QueryResult<Vec<ReferralRow>> {
    referrals::table
        .filter(referrals::commune_insee.eq(commune_insee))
        .order((referrals::created_at.desc(), referrals::id.desc()))
        .select(ReferralRow::as_select())
        .load(conn)
}

/// Tags an application with the commune whose referral it was started from.
pub fn mark_referred(
    conn: &mut DbConnection,
    application_id: &str,
    commune_insee: &str,
) -> QueryResult<usize> {
    diesel::update(applications::table.find(application_id))
        .set(applications::referred_by_commune.eq(commune_insee))
        .execute(conn)
}

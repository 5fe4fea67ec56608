//! A grant's instalments in the database (DESIGN.md §15). Rows come back as domain types; the
//! state column is written only by `db::states::set` (through the services' runner).

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::instalments;
use crate::db::{DbConnection, corrupt};
use crate::domain::grant::InstalmentTrigger;
use crate::domain::ids::{ApplicationId, CallId, GrantId, InstalmentId};
use crate::domain::instalment::InstalmentState;
use crate::domain::money::Cents;
use crate::error::ServiceError;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = instalments)]
struct InstalmentRow {
    id: String,
    grant_id: String,
    position: i32,
    label: String,
    percent: i32,
    fires_on: String,
    amount_cents: i64,
    state: String,
    mandate_reference: Option<String>,
    paid_on: Option<NaiveDate>,
    requested_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

/// One instalment of a grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instalment {
    pub id: InstalmentId,
    pub grant_id: GrantId,
    /// 1, 2…: the schedule's order.
    pub position: i32,
    pub label: String,
    pub percent: u8,
    pub trigger: InstalmentTrigger,
    pub amount: Cents,
    pub state: InstalmentState,
    pub mandate_reference: Option<String>,
    pub paid_on: Option<NaiveDate>,
    pub requested_at: Option<NaiveDateTime>,
}

fn typed(row: InstalmentRow) -> Result<Instalment, ServiceError> {
    Ok(Instalment {
        state: row
            .state
            .parse()
            .map_err(|e| corrupt("instalments.state", e))?,
        trigger: row
            .fires_on
            .parse()
            .map_err(|e| corrupt("instalments.fires_on", e))?,
        amount: Cents::new(row.amount_cents).map_err(|e| corrupt("instalments.amount_cents", e))?,
        percent: u8::try_from(row.percent).map_err(|e| corrupt("instalments.percent", e))?,
        id: InstalmentId::from_stored(row.id),
        grant_id: GrantId::from_stored(row.grant_id),
        position: row.position,
        label: row.label,
        mandate_reference: row.mandate_reference,
        paid_on: row.paid_on,
        requested_at: row.requested_at,
    })
}

/// A new instalment, `planned`.
#[derive(Debug, Clone)]
pub struct NewInstalment<'a> {
    pub id: &'a InstalmentId,
    pub grant_id: &'a GrantId,
    pub position: i32,
    pub label: &'a str,
    pub percent: u8,
    pub trigger: InstalmentTrigger,
    pub amount: Cents,
    pub at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, i: &NewInstalment<'_>) -> QueryResult<usize> {
    diesel::insert_into(instalments::table)
        .values(InstalmentRow {
            id: i.id.to_string(),
            grant_id: i.grant_id.to_string(),
            position: i.position,
            label: i.label.to_owned(),
            percent: i32::from(i.percent),
            fires_on: i.trigger.as_str().to_owned(),
            amount_cents: i.amount.value(),
            state: InstalmentState::Planned.as_str().to_owned(),
            mandate_reference: None,
            paid_on: None,
            requested_at: None,
            created_at: i.at,
            updated_at: i.at,
        })
        .execute(conn)
}

/// The instalments of a grant, in the schedule's order.
pub fn of_grant(conn: &mut DbConnection, grant: &GrantId) -> Result<Vec<Instalment>, ServiceError> {
    let rows: Vec<InstalmentRow> = instalments::table
        .filter(instalments::grant_id.eq(grant.as_str()))
        .order(instalments::position.asc())
        .select(InstalmentRow::as_select())
        .load(conn)?;
    rows.into_iter().map(typed).collect()
}

/// The instalments of several grants (a list of grants), in each grant's order.
pub fn of_grants(
    conn: &mut DbConnection,
    grants: &[String],
) -> Result<Vec<Instalment>, ServiceError> {
    let rows: Vec<InstalmentRow> = instalments::table
        .filter(instalments::grant_id.eq_any(grants))
        .order((instalments::grant_id.asc(), instalments::position.asc()))
        .select(InstalmentRow::as_select())
        .load(conn)?;
    rows.into_iter().map(typed).collect()
}

/// Stamps the moment essor requested it (in the move's transaction).
pub fn mark_requested(
    conn: &mut DbConnection,
    id: &InstalmentId,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(instalments::table.filter(instalments::id.eq(id.as_str())))
        .set((
            instalments::requested_at.eq(at),
            instalments::updated_at.eq(at),
        ))
        .execute(conn)
}

/// An instalment of a call with what the finance list and the import need of its grant.
#[derive(Debug, Clone)]
pub struct OfCall {
    pub instalment: Instalment,
    pub awarded: Cents,
    pub reference: String,
    pub organisation_name: String,
    /// `siret:<14 digits>`, `rna:<W…>` or `hosted:<host's SIRET>:<holder>` (`applications.org_key`).
    pub org_key: Option<String>,
    pub application_id: ApplicationId,
    pub bank_iban: Option<String>,
    pub bank_bic: Option<String>,
    pub bank_holder: Option<String>,
}

type OfCallRow = (
    InstalmentRow,
    i64,
    String,
    String,
    Option<String>,
    ApplicationId,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// The instalments of a call's grants (of one state, if given), by reference then position:
/// the finance list, and what an import is judged against. The call's own grants only: an id
/// of another call's instalment is not found.
pub fn of_call(
    conn: &mut DbConnection,
    call_id: &CallId,
    state: Option<InstalmentState>,
) -> Result<Vec<OfCall>, ServiceError> {
    select_of_call(conn, call_id, state, i64::MAX, true)
}

/// The first `limit` of [`of_call`] (a page shows some and counts the rest), in the order
/// of the index on (state, grant): a page's first rows without sorting the call's all.
pub fn of_call_limited(
    conn: &mut DbConnection,
    call_id: &CallId,
    state: Option<InstalmentState>,
    limit: i64,
) -> Result<Vec<OfCall>, ServiceError> {
    select_of_call(conn, call_id, state, limit, false)
}

fn select_of_call(
    conn: &mut DbConnection,
    call_id: &CallId,
    state: Option<InstalmentState>,
    limit: i64,
    by_reference: bool,
) -> Result<Vec<OfCall>, ServiceError> {
    use crate::db::schema::{applications, grants};
    let mut q = instalments::table
        .inner_join(grants::table.inner_join(applications::table))
        .filter(grants::call_id.eq(call_id))
        .select((
            InstalmentRow::as_select(),
            grants::awarded_cents,
            applications::reference,
            applications::organisation_name,
            applications::org_key,
            applications::id,
            grants::bank_iban,
            grants::bank_bic,
            grants::bank_holder,
        ))
        .into_boxed::<crate::db::MultiBackend>();
    if let Some(state) = state {
        q = q.filter(instalments::state.eq(state.as_str()));
    }
    let q = if by_reference {
        q.order((applications::reference.asc(), instalments::position.asc()))
    } else {
        q.order((instalments::grant_id.asc(), instalments::position.asc()))
    };
    let rows: Vec<OfCallRow> = q.limit(limit).load(conn)?;
    rows.into_iter()
        .map(
            |(
                row,
                awarded,
                reference,
                organisation_name,
                org_key,
                application_id,
                iban,
                bic,
                holder,
            )| {
                Ok(OfCall {
                    instalment: typed(row)?,
                    awarded: Cents::new(awarded).map_err(|e| corrupt("grants.awarded_cents", e))?,
                    reference,
                    organisation_name,
                    org_key,
                    application_id,
                    bank_iban: iban,
                    bank_bic: bic,
                    bank_holder: holder,
                })
            },
        )
        .collect()
}

/// Records the finance service's mandate, in the move's transaction.
pub fn record_order(
    conn: &mut DbConnection,
    id: &InstalmentId,
    mandate_reference: &str,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(instalments::table.filter(instalments::id.eq(id.as_str())))
        .set((
            instalments::mandate_reference.eq(mandate_reference),
            instalments::updated_at.eq(at),
        ))
        .execute(conn)
}

/// Records the payment (and its mandate), in the move's transaction.
pub fn record_payment(
    conn: &mut DbConnection,
    id: &InstalmentId,
    mandate_reference: &str,
    paid_on: NaiveDate,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(instalments::table.filter(instalments::id.eq(id.as_str())))
        .set((
            instalments::mandate_reference.eq(mandate_reference),
            instalments::paid_on.eq(paid_on),
            instalments::updated_at.eq(at),
        ))
        .execute(conn)
}

/// A call's instalments counted by state, with their amounts (the sum cast to BIGINT, as
/// for the grants).
pub fn totals_by_state(
    conn: &mut DbConnection,
    call_id: &CallId,
) -> Result<Vec<(InstalmentState, i64, i64)>, ServiceError> {
    use crate::db::schema::grants;
    use diesel::dsl::{count_star, sql};
    use diesel::sql_types::BigInt;
    let rows: Vec<(String, i64, i64)> = instalments::table
        .inner_join(grants::table)
        .filter(grants::call_id.eq(call_id))
        .group_by(instalments::state)
        .select((
            instalments::state,
            count_star(),
            sql::<BigInt>("CAST(COALESCE(SUM(instalments.amount_cents), 0) AS BIGINT)"),
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(state, n, cents)| {
            Ok((
                state.parse().map_err(|e| corrupt("instalments.state", e))?,
                n,
                cents,
            ))
        })
        .collect()
}

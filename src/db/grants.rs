//! Grants in the database (DESIGN.md §15). Rows come back as `domain` types: a typed id, the
//! state enum, `Cents`; the state column is written only by `db::states::set`.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::{applications, grant_reminders, grants};
use crate::db::{DbConnection, corrupt};
use crate::domain::grant::GrantState;
use crate::domain::ids::{ApplicationId, CallId, GrantId, UserId};
use crate::domain::money::Cents;
use crate::error::ServiceError;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = grants)]
struct GrantRow {
    id: GrantId,
    application_id: ApplicationId,
    call_id: CallId,
    awarded_cents: Cents,
    state: String,
    convention_required: bool,
    report_due_on: NaiveDate,
    signatory_name: Option<String>,
    signatory_quality: Option<String>,
    signed_at: Option<NaiveDateTime>,
    countersigned_at: Option<NaiveDateTime>,
    countersigned_by: Option<String>,
    bank_iban: Option<String>,
    bank_bic: Option<String>,
    bank_holder: Option<String>,
    bank_details_at: Option<NaiveDateTime>,
    version: i32,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    recovery_cents: Option<i64>,
    recovery_motivation: Option<String>,
    recovery_requested_at: Option<NaiveDateTime>,
}

/// A grant, with what its lists show of the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub id: GrantId,
    pub application_id: ApplicationId,
    pub call_id: CallId,
    pub awarded: Cents,
    pub state: GrantState,
    pub convention_required: bool,
    pub report_due_on: NaiveDate,
    /// Who signed the convention for the beneficiary, in which quality, when.
    pub signature: Option<Signature>,
    /// When staff countersigned (the SCDL's `dateConvention`), and who.
    pub countersigned_at: Option<NaiveDateTime>,
    pub countersigned_by: Option<String>,
    /// The bank details the beneficiary gave, if they have.
    pub bank: Option<BankDetails>,
    /// What staff asked back (reversement), once they have.
    pub recovery: Option<Recovery>,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The application's owner: the beneficiary.
    pub beneficiary_id: UserId,
    pub reference: String,
    pub organisation_name: String,
    /// `siret:<14 digits>` or `rna:<W…>`: the structure's identifier (`applications.org_key`).
    pub org_key: Option<String>,
}

/// A grant's bank details as stored (checked when written).
#[derive(Clone, PartialEq, Eq)]
pub struct BankDetails {
    pub iban: crate::domain::bank::Iban,
    pub bic: String,
    pub holder: String,
    pub at: NaiveDateTime,
}

impl std::fmt::Debug for BankDetails {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BankDetails")
            .field("iban", &self.iban)
            .field("at", &self.at)
            .finish_non_exhaustive()
    }
}

/// A recovery (reversement) staff asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    pub amount: Cents,
    pub motivation: String,
    pub at: NaiveDateTime,
}

/// The beneficiary's signature of the convention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub name: String,
    pub quality: String,
    pub at: NaiveDateTime,
}

/// A new grant, in its first state (`awarded`).
#[derive(Debug, Clone)]
pub struct NewGrant<'a> {
    pub id: &'a GrantId,
    pub application_id: &'a ApplicationId,
    pub call_id: &'a CallId,
    pub awarded: Cents,
    pub convention_required: bool,
    pub report_due_on: NaiveDate,
    pub at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, g: &NewGrant<'_>) -> QueryResult<usize> {
    diesel::insert_into(grants::table)
        .values(GrantRow {
            id: g.id.clone(),
            application_id: g.application_id.clone(),
            call_id: g.call_id.clone(),
            awarded_cents: g.awarded,
            state: GrantState::Awarded.as_str().to_owned(),
            convention_required: g.convention_required,
            report_due_on: g.report_due_on,
            signatory_name: None,
            signatory_quality: None,
            signed_at: None,
            countersigned_at: None,
            countersigned_by: None,
            bank_iban: None,
            bank_bic: None,
            bank_holder: None,
            bank_details_at: None,
            version: 1,
            created_at: g.at,
            updated_at: g.at,
            recovery_cents: None,
            recovery_motivation: None,
            recovery_requested_at: None,
        })
        .execute(conn)
}

/// Whose grants a query may reach: staff all, a beneficiary those of their applications.
#[derive(Debug, Clone)]
pub enum GrantVisibility {
    All,
    BeneficiaryIs(UserId),
}

type Joined = (GrantRow, (UserId, String, String, Option<String>));

fn typed(
    (row, (beneficiary_id, reference, organisation_name, org_key)): Joined,
) -> Result<Grant, ServiceError> {
    Ok(Grant {
        state: row.state.parse().map_err(|e| corrupt("grants.state", e))?,
        awarded: row.awarded_cents,
        id: row.id,
        application_id: row.application_id,
        call_id: row.call_id,
        convention_required: row.convention_required,
        report_due_on: row.report_due_on,
        signature: match (row.signatory_name, row.signatory_quality, row.signed_at) {
            (Some(name), Some(quality), Some(at)) => Some(Signature { name, quality, at }),
            _ => None,
        },
        countersigned_at: row.countersigned_at,
        countersigned_by: row.countersigned_by,
        bank: match (
            row.bank_iban,
            row.bank_bic,
            row.bank_holder,
            row.bank_details_at,
        ) {
            (Some(iban), Some(bic), Some(holder), Some(at)) => Some(BankDetails {
                iban: crate::domain::bank::Iban::parse(&iban)
                    .map_err(|e| corrupt("grants.bank_iban", e.to_string()))?,
                bic,
                holder,
                at,
            }),
            _ => None,
        },
        recovery: match (
            row.recovery_cents,
            row.recovery_motivation,
            row.recovery_requested_at,
        ) {
            (Some(cents), Some(motivation), Some(at)) => Some(Recovery {
                amount: Cents::new(cents).map_err(|e| corrupt("grants.recovery_cents", e))?,
                motivation,
                at,
            }),
            _ => None,
        },
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
        beneficiary_id,
        reference,
        organisation_name,
        org_key,
    })
}

const SHOWN: (
    applications::applicant_id,
    applications::reference,
    applications::organisation_name,
    applications::org_key,
) = (
    applications::applicant_id,
    applications::reference,
    applications::organisation_name,
    applications::org_key,
);

/// The grants joined to their applications, narrowed to what `v` may see: one query, the
/// authorization in its `WHERE`.
macro_rules! visible_grants {
    ($v:expr) => {{
        let q = grants::table
            .inner_join(applications::table)
            .select((GrantRow::as_select(), SHOWN))
            .into_boxed::<crate::db::MultiBackend>();
        match $v {
            GrantVisibility::All => q,
            GrantVisibility::BeneficiaryIs(user) => {
                q.filter(applications::applicant_id.eq(user.clone()))
            }
        }
    }};
}

/// The grant `id` if `v` may see it.
pub fn find_visible(
    conn: &mut DbConnection,
    id: &GrantId,
    v: &GrantVisibility,
) -> Result<Option<Grant>, ServiceError> {
    let row: Option<Joined> = visible_grants!(v)
        .filter(grants::id.eq(id.to_string()))
        .first(conn)
        .optional()?;
    row.map(typed).transpose()
}

/// The grant of an application, whoever asks (the services decide who may see it).
pub fn of_application(
    conn: &mut DbConnection,
    application_id: &str,
) -> Result<Option<Grant>, ServiceError> {
    let row: Option<Joined> = grants::table
        .inner_join(applications::table)
        .filter(grants::application_id.eq(application_id))
        .select((GrantRow::as_select(), SHOWN))
        .first(conn)
        .optional()?;
    row.map(typed).transpose()
}

/// The filter of the grants' list.
#[derive(Debug, Clone, Default)]
pub struct GrantFilter {
    pub call_id: Option<String>,
    pub state: Option<GrantState>,
}

/// The grants `v` may see, oldest first (at most `limit`). A call holds at most a few hundred
/// grants: the list is one page.
pub fn list(
    conn: &mut DbConnection,
    v: &GrantVisibility,
    filter: &GrantFilter,
    limit: i64,
) -> Result<Vec<Grant>, ServiceError> {
    let mut q = visible_grants!(v);
    if let Some(call) = &filter.call_id {
        q = q.filter(grants::call_id.eq(call.clone()));
    }
    if let Some(state) = filter.state {
        q = q.filter(grants::state.eq(state.as_str()));
    }
    let rows: Vec<Joined> = q.order(grants::id.asc()).limit(limit).load(conn)?;
    rows.into_iter().map(typed).collect()
}

/// Records the beneficiary's signature, in the transaction that moves the grant to `signed`
/// (after the move: a concurrent signature has already failed on the state).
pub fn record_signature(
    conn: &mut DbConnection,
    id: &GrantId,
    signature: &Signature,
) -> QueryResult<usize> {
    diesel::update(grants::table.filter(grants::id.eq(id.as_str())))
        .set((
            grants::signatory_name.eq(&signature.name),
            grants::signatory_quality.eq(&signature.quality),
            grants::signed_at.eq(signature.at),
        ))
        .execute(conn)
}

/// Records staff's countersignature, in the transaction that moves the grant to `running`.
pub fn record_countersignature(
    conn: &mut DbConnection,
    id: &GrantId,
    by: &str,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(grants::table.filter(grants::id.eq(id.as_str())))
        .set((
            grants::countersigned_at.eq(at),
            grants::countersigned_by.eq(by),
        ))
        .execute(conn)
}

/// Whether the reminder `kind` was sent about the grant.
pub fn reminder_sent(conn: &mut DbConnection, id: &GrantId, kind: &str) -> QueryResult<bool> {
    use diesel::dsl::{exists, select};
    select(exists(
        grant_reminders::table
            .filter(grant_reminders::grant_id.eq(id.as_str()))
            .filter(grant_reminders::kind.eq(kind)),
    ))
    .get_result(conn)
}

/// Records that the reminder `kind` is sent (in the transaction that queues its mail); the
/// key refuses a second of the same kind, from whichever instance.
pub fn record_reminder(
    conn: &mut DbConnection,
    id: &GrantId,
    kind: &str,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::insert_into(grant_reminders::table)
        .values((
            grant_reminders::grant_id.eq(id.as_str()),
            grant_reminders::kind.eq(kind),
            grant_reminders::sent_at.eq(at),
        ))
        .execute(conn)
}

/// Records the grant's bank details (checked by the caller).
pub fn record_bank_details(
    conn: &mut DbConnection,
    id: &GrantId,
    iban: &crate::domain::bank::Iban,
    bic: &str,
    holder: &str,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(grants::table.filter(grants::id.eq(id.as_str())))
        .set((
            grants::bank_iban.eq(iban.electronic()),
            grants::bank_bic.eq(bic),
            grants::bank_holder.eq(holder),
            grants::bank_details_at.eq(at),
            grants::updated_at.eq(at),
        ))
        .execute(conn)
}

/// Records a recovery, in the transaction that moves the grant to `recovery_requested`.
pub fn record_recovery(
    conn: &mut DbConnection,
    id: &GrantId,
    amount: Cents,
    motivation: &str,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(grants::table.filter(grants::id.eq(id.as_str())))
        .set((
            grants::recovery_cents.eq(amount.value()),
            grants::recovery_motivation.eq(motivation),
            grants::recovery_requested_at.eq(at),
            grants::updated_at.eq(at),
        ))
        .execute(conn)
}

/// A call's grants counted by state, with the amounts awarded: the financements board's
/// figures, whatever the number of grants. The sum is cast to BIGINT: `SUM` of a BIGINT is
/// NUMERIC on PostgreSQL.
pub fn totals_by_state(
    conn: &mut DbConnection,
    call_id: &CallId,
) -> Result<Vec<(GrantState, i64, i64)>, ServiceError> {
    use diesel::dsl::{count_star, sql};
    use diesel::sql_types::BigInt;
    let rows: Vec<(String, i64, i64)> = grants::table
        .filter(grants::call_id.eq(call_id))
        .group_by(grants::state)
        .select((
            grants::state,
            count_star(),
            sql::<BigInt>("CAST(COALESCE(SUM(grants.awarded_cents), 0) AS BIGINT)"),
        ))
        .load(conn)?;
    let mut totals = rows
        .into_iter()
        .map(|(state, n, cents)| {
            Ok((
                state.parse().map_err(|e| corrupt("grants.state", e))?,
                n,
                cents,
            ))
        })
        .collect::<Result<Vec<(GrantState, i64, i64)>, ServiceError>>()?;
    // In the order of a grant's life.
    totals.sort_by_key(|(s, _, _)| *s);
    Ok(totals)
}

/// How many of a call's running grants have their report due before `today` (late).
pub fn count_late(conn: &mut DbConnection, call_id: &CallId, today: NaiveDate) -> QueryResult<i64> {
    grants::table
        .filter(grants::call_id.eq(call_id))
        .filter(grants::state.eq(GrantState::Running.as_str()))
        .filter(grants::report_due_on.lt(today))
        .count()
        .get_result(conn)
}

//! Applications in the database, with visibility enforced in the queries themselves: an
//! applicant's query only ever reaches their own rows, a reviewer's only assigned ones.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{applications, assignments, reference_counters};
use crate::domain::application_state::ApplicationState;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = applications, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct ApplicationRow {
    pub id: String,
    pub reference: String,
    pub call_id: String,
    pub applicant_id: String,
    /// Written only by `db::states::set`, through the services' runner.
    #[diesel(skip_update)]
    pub state: String,
    pub version: i32,
    pub body: String,
    pub organisation_name: String,
    pub project_title: String,
    pub requested_cents: i64,
    pub eligibility: Option<String>,
    pub eligibility_verdict: Option<String>,
    pub awarded_cents: Option<i64>,
    pub decision_motivation: Option<String>,
    pub committee_date: Option<NaiveDate>,
    pub decision_reference: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub submitted_at: Option<NaiveDateTime>,
    pub decided_at: Option<NaiveDateTime>,
    /// `siret:…` or `rna:…` ([`crate::domain::application::Organisation::registry_key`]):
    /// unique per call among applications not withdrawn (a partial unique index).
    pub org_key: Option<String>,
    /// Folded text the agents' search reads (`domain::search`); written with the body.
    pub search_text: Option<String>,
    /// The organisation's commune (INSEE code), copied from the body for the filter.
    pub commune_insee: Option<String>,
}

/// Whose applications a query may reach.
#[derive(Debug, Clone)]
pub enum Visibility {
    /// Staff and admins.
    All,
    /// An applicant: their own.
    OwnedBy(String),
    /// A reviewer: those they are assigned to and have not recused themselves from.
    AssignedTo(String),
}

type BoxedQuery<'a> = applications::BoxedQuery<'a, crate::db::MultiBackend>;

fn visible(v: &Visibility) -> BoxedQuery<'static> {
    let q = applications::table.into_boxed();
    match v {
        Visibility::All => q,
        Visibility::OwnedBy(user) => q.filter(applications::applicant_id.eq(user.clone())),
        Visibility::AssignedTo(user) => q.filter(
            applications::id.eq_any(
                assignments::table
                    .filter(assignments::reviewer_id.eq(user.clone()))
                    .filter(assignments::status.ne("recused"))
                    .select(assignments::application_id),
            ),
        ),
    }
}

pub fn insert(conn: &mut DbConnection, row: &ApplicationRow) -> QueryResult<usize> {
    diesel::insert_into(applications::table)
        .values(row)
        .execute(conn)
}

pub fn find_visible(
    conn: &mut DbConnection,
    id: &str,
    v: &Visibility,
) -> QueryResult<Option<ApplicationRow>> {
    if let Visibility::All = v {
        // Not boxed: diesel caches the prepared statement of a static query (the hot read).
        return applications::table
            .find(id)
            .select(ApplicationRow::as_select())
            .first(conn)
            .optional();
    }
    visible(v)
        .filter(applications::id.eq(id.to_owned()))
        .select(ApplicationRow::as_select())
        .first(conn)
        .optional()
}

/// The reference of the application of this structure (`org_key`) to this call that is not
/// withdrawn, other than `except_id`: the one that stands in the way of another.
pub fn holder_of_org_key(
    conn: &mut DbConnection,
    call_id: &str,
    org_key: &str,
    except_id: Option<&str>,
) -> QueryResult<Option<String>> {
    let mut q = applications::table
        .filter(applications::call_id.eq(call_id.to_owned()))
        .filter(applications::org_key.eq(org_key.to_owned()))
        .filter(applications::state.ne(ApplicationState::Withdrawn.as_str()))
        .select(applications::reference)
        .into_boxed();
    if let Some(id) = except_id {
        q = q.filter(applications::id.ne(id.to_owned()));
    }
    q.first(conn).optional()
}

/// Whether a database error is the one-application-per-structure index refusing a row.
pub fn is_org_key_conflict(e: &diesel::result::Error) -> bool {
    match e {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            info,
        ) => {
            info.constraint_name() == Some("applications_call_org_key")
                || info.message().contains("org_key")
        }
        _ => false,
    }
}

/// The application, row-locked on PostgreSQL for the rest of the transaction.
pub fn find_for_update(conn: &mut DbConnection, id: &str) -> QueryResult<Option<ApplicationRow>> {
    match conn {
        DbConnection::Pg(pg) => applications::table
            .find(id)
            .select(ApplicationRow::as_select())
            .for_update()
            .first(pg)
            .optional(),
        DbConnection::Sqlite(sqlite) => applications::table
            .find(id)
            .select(ApplicationRow::as_select())
            .first(sqlite)
            .optional(),
    }
}

/// Writes the row if nobody changed it since `expected_version`; 0 rows = lost the race.
pub fn update_versioned(
    conn: &mut DbConnection,
    row: &ApplicationRow,
    expected_version: i32,
) -> QueryResult<usize> {
    diesel::update(
        applications::table
            .filter(applications::id.eq(&row.id))
            .filter(applications::version.eq(expected_version)),
    )
    .set(row)
    .execute(conn)
}

#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub call_id: Option<String>,
    /// Any of these states (all when empty).
    pub states: Vec<String>,
    /// A `LIKE` pattern over `search_text` (see `domain::search::like_pattern`).
    pub search: Option<String>,
    /// The organisation's commune (INSEE code).
    pub commune_insee: Option<String>,
    pub sort: ListSort,
}

/// The order of a list; ties broken by id, so pages never overlap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ListSort {
    /// Newest first (the default).
    #[default]
    CreatedDesc,
    CreatedAsc,
    ReferenceAsc,
    ReferenceDesc,
    NameAsc,
    NameDesc,
    RequestedAsc,
    RequestedDesc,
    SubmittedAsc,
    SubmittedDesc,
}

impl ListSort {
    pub const ALL: [ListSort; 10] = [
        Self::CreatedDesc,
        Self::CreatedAsc,
        Self::ReferenceAsc,
        Self::ReferenceDesc,
        Self::NameAsc,
        Self::NameDesc,
        Self::RequestedAsc,
        Self::RequestedDesc,
        Self::SubmittedAsc,
        Self::SubmittedDesc,
    ];

    /// The API's spelling: a column name, `-` first for descending.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreatedDesc => "-created_at",
            Self::CreatedAsc => "created_at",
            Self::ReferenceAsc => "reference",
            Self::ReferenceDesc => "-reference",
            Self::NameAsc => "organisation_name",
            Self::NameDesc => "-organisation_name",
            Self::RequestedAsc => "requested_cents",
            Self::RequestedDesc => "-requested_cents",
            Self::SubmittedAsc => "submitted_at",
            Self::SubmittedDesc => "-submitted_at",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s.trim())
    }
}

/// A line of a list: the columns a summary shows, none of the large JSON ones.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = applications)]
pub struct SummaryRow {
    pub id: String,
    pub reference: String,
    pub call_id: String,
    pub state: String,
    pub organisation_name: String,
    pub project_title: String,
    pub requested_cents: i64,
    pub awarded_cents: Option<i64>,
    pub eligibility_verdict: Option<String>,
    pub created_at: NaiveDateTime,
    pub submitted_at: Option<NaiveDateTime>,
}

/// A page of a list, newest first. The page's ids come from an index-only scan (every filter
/// has an index ending in (created_at, id)), then only those rows are read: OFFSET never
/// walks through table rows and their large JSON columns.
pub fn list(
    conn: &mut DbConnection,
    v: &Visibility,
    filter: &ListFilter,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<SummaryRow>, i64)> {
    let build = || {
        let mut q = visible(v);
        if let Some(c) = &filter.call_id {
            q = q.filter(applications::call_id.eq(c.clone()));
        }
        match filter.states.as_slice() {
            [] => {}
            [one] => q = q.filter(applications::state.eq(one.clone())),
            many => q = q.filter(applications::state.eq_any(many.to_vec())),
        }
        if let Some(p) = &filter.search {
            q = q.filter(applications::search_text.like(p.clone()).escape('\\'));
        }
        if let Some(c) = &filter.commune_insee {
            q = q.filter(applications::commune_insee.eq(c.clone()));
        }
        q
    };
    let total = build().count().get_result(conn)?;
    use applications::dsl as a;
    let q = build().select(applications::id);
    let q = match filter.sort {
        ListSort::CreatedDesc => q.order((a::created_at.desc(), a::id.desc())),
        ListSort::CreatedAsc => q.order((a::created_at.asc(), a::id.asc())),
        ListSort::ReferenceAsc => q.order((a::reference.asc(), a::id.asc())),
        ListSort::ReferenceDesc => q.order((a::reference.desc(), a::id.desc())),
        ListSort::NameAsc => q.order((a::organisation_name.asc(), a::id.asc())),
        ListSort::NameDesc => q.order((a::organisation_name.desc(), a::id.desc())),
        ListSort::RequestedAsc => q.order((a::requested_cents.asc(), a::id.asc())),
        ListSort::RequestedDesc => q.order((a::requested_cents.desc(), a::id.desc())),
        // Drafts (never submitted) last either way.
        ListSort::SubmittedAsc => q.order((
            a::submitted_at.is_null().asc(),
            a::submitted_at.asc(),
            a::id.asc(),
        )),
        ListSort::SubmittedDesc => q.order((
            a::submitted_at.is_null().asc(),
            a::submitted_at.desc(),
            a::id.desc(),
        )),
    };
    let ids: Vec<String> = q.offset(offset).limit(limit).load(conn)?;
    let mut rows: Vec<SummaryRow> = applications::table
        .filter(applications::id.eq_any(&ids))
        .select(SummaryRow::as_select())
        .load(conn)?;
    rows.sort_by_key(|r| ids.iter().position(|id| id == &r.id));
    Ok((rows, total))
}

/// The next `EA-<year>-<5 digits>` reference. The counter row is incremented inside the
/// caller's transaction: concurrent creations queue on its row lock (PostgreSQL) or on the
/// write lock (SQLite), and a rollback gives the number back, so numbers are unique and
/// gap-free per year, across any number of instances.
pub fn next_reference(conn: &mut DbConnection, year: i32) -> QueryResult<String> {
    diesel::sql_query(format!(
        "INSERT INTO reference_counters (year, last_value) VALUES ({year}, 0) \
         ON CONFLICT (year) DO NOTHING"
    ))
    .execute(conn)?;
    diesel::update(reference_counters::table.find(year))
        .set(reference_counters::last_value.eq(reference_counters::last_value + 1))
        .execute(conn)?;
    let n: i32 = reference_counters::table
        .find(year)
        .select(reference_counters::last_value)
        .first(conn)?;
    Ok(format!("EA-{year}-{n:05}"))
}

/// Fills `search_text` and `commune_insee` of rows written before they existed (run after
/// the migrations; a no-op once every row has them).
pub fn backfill_search(conn: &mut DbConnection) -> QueryResult<usize> {
    let mut done = 0;
    loop {
        let batch: Vec<(String, String, String)> = applications::table
            .filter(applications::search_text.is_null())
            .select((
                applications::id,
                applications::reference,
                applications::body,
            ))
            .order(applications::id)
            .limit(500)
            .load(conn)?;
        if batch.is_empty() {
            return Ok(done);
        }
        for (id, reference, body) in batch {
            let (text, commune) =
                match serde_json::from_str::<crate::domain::application::ApplicationBody>(&body) {
                    Ok(b) => (
                        crate::domain::search::search_text(
                            &reference,
                            b.organisation.siret.as_deref(),
                            b.organisation.rna.as_deref(),
                            &b.organisation.name,
                            &b.project.title,
                        ),
                        Some(b.organisation.commune_insee).filter(|c| !c.is_empty()),
                    ),
                    // A body this version cannot read: found by its reference at least.
                    Err(_) => (crate::domain::search::fold(&reference), None),
                };
            diesel::update(applications::table.find(&id))
                .set((
                    applications::search_text.eq(text),
                    applications::commune_insee.eq(commune),
                ))
                .execute(conn)?;
            done += 1;
        }
    }
}

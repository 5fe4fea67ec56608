//! Applications in the database, with visibility enforced in the queries themselves: an
//! applicant's query only ever reaches their own rows, a reviewer's only assigned ones.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use diesel::sql_types::Bool;

use crate::db::schema::{applications, assignments, reference_counters};
use crate::db::{DbConnection, MultiBackend};
use crate::domain::application_state::ApplicationState;
use crate::domain::ids::{ApplicationId, CallId, UserId};
use crate::domain::money::Cents;
use crate::input::cursor::{Key, KeyKind, Paged, Read, Window};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = applications, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct ApplicationRow {
    pub id: ApplicationId,
    pub reference: String,
    pub call_id: CallId,
    pub applicant_id: UserId,
    /// Written only by `db::states::set`, through the services' runner.
    #[diesel(skip_update)]
    pub state: ApplicationState,
    pub version: i32,
    pub body: String,
    pub organisation_name: String,
    pub project_title: String,
    pub requested_cents: Cents,
    pub eligibility: Option<String>,
    pub eligibility_verdict: Option<String>,
    pub awarded_cents: Option<Cents>,
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
    OwnedBy(UserId),
    /// A reviewer: those they are assigned to and have not recused themselves from.
    AssignedTo(UserId),
}

type BoxedQuery<'a> = applications::BoxedQuery<'a, crate::db::MultiBackend>;
/// A query of applications' ids.
type IdQuery = applications::BoxedQuery<'static, MultiBackend, diesel::sql_types::Text>;
/// A condition of a boxed query of applications.
type Condition = Box<dyn BoxableExpression<applications::table, MultiBackend, SqlType = Bool>>;

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
    id: &ApplicationId,
    v: &Visibility,
) -> QueryResult<Option<ApplicationRow>> {
    if let Visibility::All = v {
        // Not boxed: diesel caches the prepared statement of a static query (the hot read).
        return crate::on_backend!(conn, |c| applications::table
            .find(id)
            .select(ApplicationRow::as_select())
            .first(c)
            .optional());
    }
    visible(v)
        .filter(applications::id.eq(id.clone()))
        .select(ApplicationRow::as_select())
        .first(conn)
        .optional()
}

/// The account check's columns of `user_id` and, in the same statement, application `id` if
/// that account may see it as staff or as its owner (`Visibility::All` or `OwnedBy`, decided
/// on the account's current role in the join's condition): the hot read in one round trip
/// (issue 33). `None` when the account does not exist. A reviewer's applications are those
/// of their assignments, which this does not join: read them with `find_visible`.
pub fn find_with_account(
    conn: &mut DbConnection,
    user_id: &UserId,
    id: &ApplicationId,
) -> QueryResult<Option<(crate::db::users::AccountCheckRow, Option<ApplicationRow>)>> {
    use crate::db::schema::users;
    use crate::domain::account::Role;
    // `=` twice rather than `IN`: a statement diesel prepares once and keeps (an `IN` list is
    // not cached).
    crate::on_backend!(conn, |c| users::table
        .left_join(
            applications::table.on(applications::id.eq(id).and(
                users::role
                    .eq(Role::Staff.as_str())
                    .or(users::role.eq(Role::Admin.as_str()))
                    .or(applications::applicant_id.eq(users::id)),
            )),
        )
        .filter(users::id.eq(user_id))
        .select((
            crate::db::users::AccountCheckRow::as_select(),
            Option::<ApplicationRow>::as_select(),
        ))
        .first(c)
        .optional())
}

/// The reference of the application of this structure (`org_key`) to this call that is not
/// withdrawn, other than `except_id`: the one that stands in the way of another.
pub fn holder_of_org_key(
    conn: &mut DbConnection,
    call_id: &CallId,
    org_key: &str,
    except_id: Option<&ApplicationId>,
) -> QueryResult<Option<String>> {
    let mut q = applications::table
        .filter(applications::call_id.eq(call_id.clone()))
        .filter(applications::org_key.eq(org_key.to_owned()))
        .filter(applications::state.ne(ApplicationState::Withdrawn))
        .select(applications::reference)
        .into_boxed();
    if let Some(id) = except_id {
        q = q.filter(applications::id.ne(id.clone()));
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
pub fn find_for_update(
    conn: &mut DbConnection,
    id: &ApplicationId,
) -> QueryResult<Option<ApplicationRow>> {
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
    pub call_id: Option<CallId>,
    /// Any of these states (all when empty).
    pub states: Vec<ApplicationState>,
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
    pub id: ApplicationId,
    pub reference: String,
    pub call_id: CallId,
    pub state: ApplicationState,
    pub organisation_name: String,
    pub project_title: String,
    pub requested_cents: Cents,
    pub awarded_cents: Option<Cents>,
    pub eligibility_verdict: Option<String>,
    pub created_at: NaiveDateTime,
    pub submitted_at: Option<NaiveDateTime>,
}

impl ListSort {
    /// The name of this order in cursors: a cursor of one order is refused by another.
    pub fn cursor_sort(self) -> &'static str {
        match self {
            Self::CreatedDesc => "applications:-created_at",
            Self::CreatedAsc => "applications:created_at",
            Self::ReferenceAsc => "applications:reference",
            Self::ReferenceDesc => "applications:-reference",
            Self::NameAsc => "applications:organisation_name",
            Self::NameDesc => "applications:-organisation_name",
            Self::RequestedAsc => "applications:requested_cents",
            Self::RequestedDesc => "applications:-requested_cents",
            Self::SubmittedAsc => "applications:submitted_at",
            Self::SubmittedDesc => "applications:-submitted_at",
        }
    }

    /// The type of the sort key, to read a cursor's.
    pub fn key_kind(self) -> KeyKind {
        match self {
            Self::CreatedDesc | Self::CreatedAsc => KeyKind::Time,
            Self::ReferenceAsc | Self::ReferenceDesc | Self::NameAsc | Self::NameDesc => {
                KeyKind::Text
            }
            Self::RequestedAsc | Self::RequestedDesc => KeyKind::Int,
            Self::SubmittedAsc | Self::SubmittedDesc => KeyKind::OptTime,
        }
    }

    fn descending(self) -> bool {
        matches!(
            self,
            Self::CreatedDesc
                | Self::ReferenceDesc
                | Self::NameDesc
                | Self::RequestedDesc
                | Self::SubmittedDesc
        )
    }
}

impl SummaryRow {
    /// This row's key in the order `sort`, and its id (what a cursor names).
    pub fn key(&self, sort: ListSort) -> (Key, String) {
        let key = match sort {
            ListSort::CreatedDesc | ListSort::CreatedAsc => Key::Time(self.created_at),
            ListSort::ReferenceAsc | ListSort::ReferenceDesc => Key::Text(self.reference.clone()),
            ListSort::NameAsc | ListSort::NameDesc => Key::Text(self.organisation_name.clone()),
            ListSort::RequestedAsc | ListSort::RequestedDesc => {
                Key::Int(self.requested_cents.into())
            }
            ListSort::SubmittedAsc | ListSort::SubmittedDesc => {
                self.submitted_at.map_or(Key::Null, Key::Time)
            }
        };
        (key, self.id.as_str().to_owned())
    }
}

fn key_time(k: &Key) -> NaiveDateTime {
    k.time().unwrap_or_default()
}

fn key_text(k: &Key) -> String {
    match k {
        Key::Text(s) => s.clone(),
        _ => String::new(),
    }
}

fn key_int(k: &Key) -> i64 {
    match k {
        Key::Int(n) => *n,
        _ => 0,
    }
}

/// The submission order (drafts, never submitted, last both ways) read from `after` on:
/// `submitted_at` then id, both descending when `desc`, NULLs last unless `reversed`.
fn submitted_query(mut q: IdQuery, read: &Read, desc: bool) -> IdQuery {
    use applications::dsl as a;
    let nulls_last = !read.reversed;
    if let Some((k, last)) = &read.after {
        let last = last.clone();
        let id_after = move || -> Condition {
            if desc {
                Box::new(a::id.lt(last.clone()))
            } else {
                Box::new(a::id.gt(last.clone()))
            }
        };
        let s = a::submitted_at.assume_not_null();
        q = match (k, nulls_last) {
            // After a dated row: the later dated ones (a range over the dates), then every draft.
            (Key::Time(k), true) => {
                let dated: Condition = if desc {
                    Box::new(s.le(*k).and(s.lt(*k).or(id_after())))
                } else {
                    Box::new(s.ge(*k).and(s.gt(*k).or(id_after())))
                };
                q.filter(dated.or(a::submitted_at.is_null()))
            }
            // After a draft: the drafts after it.
            (_, true) => q.filter(a::submitted_at.is_null().and(id_after())),
            // Backwards (drafts first) from a dated row: the dated ones before it.
            (Key::Time(k), false) => {
                if desc {
                    q.filter(s.le(*k).and(s.lt(*k).or(id_after())))
                } else {
                    q.filter(s.ge(*k).and(s.gt(*k).or(id_after())))
                }
            }
            // Backwards from a draft: the drafts before it, then every dated row.
            (_, false) => q.filter(a::submitted_at.is_not_null().or(id_after())),
        };
    }
    let drafts = a::submitted_at.is_null();
    match (nulls_last, desc) {
        (true, true) => q.order((drafts.asc(), a::submitted_at.desc(), a::id.desc())),
        (true, false) => q.order((drafts.asc(), a::submitted_at.asc(), a::id.asc())),
        (false, true) => q.order((drafts.desc(), a::submitted_at.desc(), a::id.desc())),
        (false, false) => q.order((drafts.desc(), a::submitted_at.asc(), a::id.asc())),
    }
}

/// How many applications `call_id` (every call when `None`) has in any of `states` (every
/// state when empty), from the counters the database keeps exact: a few rows whatever the
/// number of applications. Equal to a `COUNT(*)` over the same filter (tests/api/counts.rs).
pub fn counted(
    conn: &mut DbConnection,
    call_id: Option<&CallId>,
    states: &[ApplicationState],
) -> QueryResult<i64> {
    use crate::db::schema::application_counts as c;
    // Summed here: SUM's type differs between the backends (NUMERIC on PostgreSQL), and a
    // call has at most one row per state.
    if let (Some(call_id), [one]) = (call_id, states) {
        // The agents' table and the lists by call and state: a primary-key lookup.
        let n = crate::on_backend!(conn, |conn| c::table
            .find((call_id, one))
            .select(c::n)
            .first::<i64>(conn)
            .optional())?;
        return Ok(n.unwrap_or(0));
    }
    let mut q = c::table.select(c::n).into_boxed::<MultiBackend>();
    if let Some(call_id) = call_id {
        q = q.filter(c::call_id.eq(call_id.clone()));
    }
    if !states.is_empty() {
        q = q.filter(c::state.eq_any(states.to_vec()));
    }
    Ok(q.load::<i64>(conn)?.into_iter().sum())
}

/// How many applications `call_id` has in each state (the states it has none in left out).
pub fn counts_by_state(
    conn: &mut DbConnection,
    call_id: &CallId,
) -> QueryResult<Vec<(ApplicationState, i64)>> {
    use crate::db::schema::application_counts as c;
    c::table
        .filter(c::call_id.eq(call_id))
        .filter(c::n.ne(0))
        .select((c::state, c::n))
        .load(conn)
}

/// A page of a list in the filter's order. The page's ids come from an index-only scan
/// (every filter has an index ending in (created_at, id)), then only those rows are read:
/// neither a cursor nor OFFSET walks through table rows and their large JSON columns. With a
/// cursor, a keyset condition starts the scan at the cursor's row; a page number past the
/// middle is read backwards from the end.
pub fn list(
    conn: &mut DbConnection,
    v: &Visibility,
    filter: &ListFilter,
    window: &Window,
) -> QueryResult<(Paged<SummaryRow>, i64)> {
    let build = || {
        let mut q = visible(v);
        if let Some(c) = &filter.call_id {
            q = q.filter(applications::call_id.eq(c.clone()));
        }
        match filter.states.as_slice() {
            [] => {}
            [one] => q = q.filter(applications::state.eq(*one)),
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
    let total = window.total(|| match (v, &filter.search, &filter.commune_insee) {
        // Staff's lists by call and state, the agents' table among them: the counters the
        // database keeps (`application_counts`) instead of a count over the filter.
        (Visibility::All, None, None) => counted(conn, filter.call_id.as_ref(), &filter.states),
        _ => build().count().get_result(conn),
    })?;
    let read = window.read(total);
    if read.is_empty() {
        return Ok((
            window.finish(&read, Vec::new(), |r| r.key(filter.sort)),
            total,
        ));
    }
    use applications::dsl as a;
    let q = build().select(applications::id);
    let desc = filter.sort.descending();
    let q = match filter.sort {
        ListSort::CreatedDesc | ListSort::CreatedAsc => crate::keyset_query!(
            q,
            a::created_at,
            a::id,
            &read,
            descending = desc,
            key = key_time
        ),
        ListSort::ReferenceAsc | ListSort::ReferenceDesc => crate::keyset_query!(
            q,
            a::reference,
            a::id,
            &read,
            descending = desc,
            key = key_text
        ),
        ListSort::NameAsc | ListSort::NameDesc => crate::keyset_query!(
            q,
            a::organisation_name,
            a::id,
            &read,
            descending = desc,
            key = key_text
        ),
        ListSort::RequestedAsc | ListSort::RequestedDesc => crate::keyset_query!(
            q,
            a::requested_cents,
            a::id,
            &read,
            descending = desc,
            key = key_int
        ),
        ListSort::SubmittedAsc | ListSort::SubmittedDesc => {
            submitted_query(q, &read, read.descending(desc))
                .offset(read.offset)
                .limit(read.limit)
        }
    };
    let ids: Vec<ApplicationId> = q.load(conn)?;
    let mut rows: Vec<SummaryRow> = applications::table
        .filter(applications::id.eq_any(&ids))
        .select(SummaryRow::as_select())
        .load(conn)?;
    rows.sort_by_key(|r| ids.iter().position(|id| id == &r.id));
    Ok((window.finish(&read, rows, |r| r.key(filter.sort)), total))
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

/// The application's body as stored (JSON text): the copy of a person's data shows it, the
/// minimisation rewrites its address.
pub fn stored_body(conn: &mut DbConnection, id: &ApplicationId) -> QueryResult<String> {
    applications::table
        .find(id)
        .select(applications::body)
        .first(conn)
}

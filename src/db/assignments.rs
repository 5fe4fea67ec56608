//! Reviewers' assignments.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::assignments;
use crate::domain::application_state::ApplicationState;
use crate::domain::assignment::AssignmentStatus;
use crate::domain::ids::{ApplicationId, AssignmentId, CallId, UserId};
use crate::input::cursor::{Key, KeyKind, Paged, Window};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = assignments, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct AssignmentRow {
    pub id: AssignmentId,
    pub application_id: ApplicationId,
    pub reviewer_id: UserId,
    /// Written only by `db::states::set`, through the services' runner.
    #[diesel(skip_update)]
    pub status: AssignmentStatus,
    pub statement: Option<String>,
    pub recusal_reason: Option<String>,
    pub assigned_by: String,
    pub assigned_at: NaiveDateTime,
    pub responded_at: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut DbConnection, row: &AssignmentRow) -> QueryResult<usize> {
    diesel::insert_into(assignments::table)
        .values(row)
        .execute(conn)
}

pub fn has_accepted(
    conn: &mut DbConnection,
    application_id: &ApplicationId,
    reviewer_id: &UserId,
) -> QueryResult<bool> {
    let n: i64 = assignments::table
        .filter(assignments::application_id.eq(application_id))
        .filter(assignments::reviewer_id.eq(reviewer_id))
        .filter(assignments::status.eq("accepted"))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

pub fn for_application(
    conn: &mut DbConnection,
    application_id: &ApplicationId,
) -> QueryResult<Vec<AssignmentRow>> {
    assignments::table
        .filter(assignments::application_id.eq(application_id))
        .order(assignments::assigned_at.asc())
        .select(AssignmentRow::as_select())
        .load(conn)
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<AssignmentRow>> {
    assignments::table
        .find(id)
        .select(AssignmentRow::as_select())
        .first(conn)
        .optional()
}

pub fn update(conn: &mut DbConnection, row: &AssignmentRow) -> QueryResult<usize> {
    diesel::update(assignments::table.find(&row.id))
        .set(row)
        .execute(conn)
}

/// One line of a reviewer's work list.
#[derive(Debug, Clone, Queryable)]
pub struct WorkItem {
    pub assignment: AssignmentRow,
    pub reference: String,
    pub call_id: CallId,
    pub application_state: ApplicationState,
    pub review_status: Option<String>,
    /// What a reviewer needs to know whether they have a conflict (DESIGN.md §9).
    pub organisation_name: String,
    pub project_title: String,
    /// The application's body (JSON), for the SIRET and the commune.
    pub body: String,
}

type WorkTuple = (
    AssignmentRow,
    String,
    CallId,
    ApplicationState,
    Option<String>,
    String,
    String,
    String,
);

fn work_item(
    (
        assignment,
        reference,
        call_id,
        application_state,
        review_status,
        organisation_name,
        project_title,
        body,
    ): WorkTuple,
) -> WorkItem {
    WorkItem {
        assignment,
        reference,
        call_id,
        application_state,
        review_status,
        organisation_name,
        project_title,
        body,
    }
}

/// The order of the work list (latest assignment first) in cursors.
pub const LIST_SORT: (&str, KeyKind) = ("assignments:-assigned_at", KeyKind::Time);

/// A page of assignments, with their application and review, for one reviewer or (None)
/// everyone, latest first.
pub fn work_list(
    conn: &mut DbConnection,
    reviewer: Option<&str>,
    window: &Window,
) -> QueryResult<(Paged<WorkItem>, i64)> {
    use crate::db::schema::{applications, reviews};
    let mut count = assignments::table.count().into_boxed();
    if let Some(r) = reviewer {
        count = count.filter(assignments::reviewer_id.eq(r.to_owned()));
    }
    let total = window.total(|| count.get_result(conn))?;
    let read = window.read(total);
    let rows: Vec<WorkItem> = if read.is_empty() {
        Vec::new()
    } else {
        let mut q = assignments::table
            .inner_join(applications::table)
            .left_join(reviews::table.on(reviews::assignment_id.eq(assignments::id)))
            .select((
                AssignmentRow::as_select(),
                applications::reference,
                applications::call_id,
                applications::state,
                reviews::status.nullable(),
                applications::organisation_name,
                applications::project_title,
                applications::body,
            ))
            .into_boxed();
        if let Some(r) = reviewer {
            q = q.filter(assignments::reviewer_id.eq(r.to_owned()));
        }
        crate::keyset_query!(
            q,
            assignments::assigned_at,
            assignments::id,
            &read,
            descending = true,
            key = |k: &Key| k.time().unwrap_or_default()
        )
        .load::<WorkTuple>(conn)?
        .into_iter()
        .map(work_item)
        .collect()
    };
    let key = |w: &WorkItem| {
        (
            Key::Time(w.assignment.assigned_at),
            w.assignment.id.to_string(),
        )
    };
    Ok((window.finish(&read, rows, key), total))
}

/// One reviewer's whole work list (what finds one of its lines).
pub fn work_items(conn: &mut DbConnection, reviewer: &str) -> QueryResult<Vec<WorkItem>> {
    use crate::db::schema::{applications, reviews};
    Ok(assignments::table
        .inner_join(applications::table)
        .left_join(reviews::table.on(reviews::assignment_id.eq(assignments::id)))
        .select((
            AssignmentRow::as_select(),
            applications::reference,
            applications::call_id,
            applications::state,
            reviews::status.nullable(),
            applications::organisation_name,
            applications::project_title,
            applications::body,
        ))
        .filter(assignments::reviewer_id.eq(reviewer.to_owned()))
        .order((assignments::assigned_at.desc(), assignments::id.desc()))
        .load::<WorkTuple>(conn)?
        .into_iter()
        .map(work_item)
        .collect())
}

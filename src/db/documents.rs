//! Documents attached to applications (metadata; the bytes live under the data directory).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::application_documents as docs;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = docs)]
pub struct DocumentRow {
    pub id: String,
    pub application_id: String,
    pub kind: String,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub uploaded_by: String,
    pub uploaded_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, row: &DocumentRow) -> QueryResult<usize> {
    diesel::insert_into(docs::table).values(row).execute(conn)
}

pub fn list(conn: &mut DbConnection, application_id: &str) -> QueryResult<Vec<DocumentRow>> {
    docs::table
        .filter(docs::application_id.eq(application_id))
        .order((docs::uploaded_at.asc(), docs::id.asc()))
        .select(DocumentRow::as_select())
        .load(conn)
}

pub fn find(
    conn: &mut DbConnection,
    application_id: &str,
    id: &str,
) -> QueryResult<Option<DocumentRow>> {
    docs::table
        .filter(docs::application_id.eq(application_id))
        .filter(docs::id.eq(id))
        .select(DocumentRow::as_select())
        .first(conn)
        .optional()
}

pub fn delete(conn: &mut DbConnection, id: &str) -> QueryResult<usize> {
    diesel::delete(docs::table.find(id)).execute(conn)
}

/// The distinct kinds attached to an application.
pub fn kinds(conn: &mut DbConnection, application_id: &str) -> QueryResult<Vec<String>> {
    docs::table
        .filter(docs::application_id.eq(application_id))
        .select(docs::kind)
        .distinct()
        .load(conn)
}

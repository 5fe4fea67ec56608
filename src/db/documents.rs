//! Documents attached to applications: their rows, and their contents in chunks
//! (`document_chunks`), so every instance reads every document.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::application_documents as docs;
use crate::db::schema::document_chunks as chunks;
use crate::domain::ids::{ApplicationId, DocumentId, UserId};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = docs)]
pub struct DocumentRow {
    pub id: DocumentId,
    pub application_id: ApplicationId,
    pub kind: String,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub uploaded_by: UserId,
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
    application_id: &ApplicationId,
    id: &DocumentId,
) -> QueryResult<Option<DocumentRow>> {
    docs::table
        .filter(docs::application_id.eq(application_id))
        .filter(docs::id.eq(id))
        .select(DocumentRow::as_select())
        .first(conn)
        .optional()
}

pub fn delete(conn: &mut DbConnection, id: &DocumentId) -> QueryResult<usize> {
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

/// Bytes per stored chunk: a download holds one chunk in memory at a time.
pub const CHUNK_BYTES: usize = 256 * 1024;

/// Stores one chunk of a document's content (`seq` from 0).
pub fn insert_chunk(
    conn: &mut DbConnection,
    document_id: &DocumentId,
    seq: i32,
    data: &[u8],
) -> QueryResult<usize> {
    diesel::insert_into(chunks::table)
        .values((
            chunks::document_id.eq(document_id),
            chunks::seq.eq(seq),
            chunks::data.eq(data),
        ))
        .execute(conn)
}

/// One chunk of a document's content; `None` past the last.
pub fn chunk(
    conn: &mut DbConnection,
    document_id: &DocumentId,
    seq: i32,
) -> QueryResult<Option<Vec<u8>>> {
    chunks::table
        .filter(chunks::document_id.eq(document_id))
        .filter(chunks::seq.eq(seq))
        .select(chunks::data)
        .first(conn)
        .optional()
}

/// How many chunks a document has (0 for one stored on disk before contents moved into the
/// database).
pub fn chunk_count(conn: &mut DbConnection, document_id: &DocumentId) -> QueryResult<i64> {
    chunks::table
        .filter(chunks::document_id.eq(document_id))
        .count()
        .get_result(conn)
}

/// Documents attached to an application (for the per-application limit).
pub fn count(conn: &mut DbConnection, application_id: &str) -> QueryResult<i64> {
    docs::table
        .filter(docs::application_id.eq(application_id))
        .count()
        .get_result(conn)
}

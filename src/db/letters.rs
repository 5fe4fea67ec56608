//! The letters essor issued: written once, never updated (a correction is a new row).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{applications, letters};
use crate::db::{DbConnection, corrupt};
use crate::domain::ids::{ApplicationId, GrantId, LetterId};
use crate::domain::letter::LetterKind;
use crate::error::ServiceError;

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = letters)]
struct LetterRow<'a> {
    id: &'a str,
    application_id: &'a str,
    grant_id: Option<&'a str>,
    kind: &'a str,
    sha256: &'a str,
    size_bytes: i64,
    inputs: Option<&'a str>,
    content: &'a [u8],
    issued_at: NaiveDateTime,
}

/// A letter as lists show it (no bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter {
    pub id: LetterId,
    pub application_id: String,
    pub grant_id: Option<GrantId>,
    pub kind: LetterKind,
    pub sha256: String,
    pub size_bytes: i64,
    pub issued_at: NaiveDateTime,
}

#[derive(Debug)]
pub struct NewLetter<'a> {
    pub id: &'a LetterId,
    pub application_id: &'a ApplicationId,
    pub grant_id: Option<&'a GrantId>,
    pub kind: LetterKind,
    pub sha256: &'a str,
    /// What the template read (JSON), kept when the letter will be rendered again with more
    /// (the convention, signed later); `None` for a scanned copy.
    pub inputs: Option<&'a str>,
    pub content: &'a [u8],
    pub issued_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, l: &NewLetter<'_>) -> QueryResult<usize> {
    diesel::insert_into(letters::table)
        .values(LetterRow {
            id: l.id.as_str(),
            application_id: l.application_id.as_str(),
            grant_id: l.grant_id.map(GrantId::as_str),
            kind: l.kind.as_str(),
            sha256: l.sha256,
            size_bytes: l.content.len() as i64,
            inputs: l.inputs,
            content: l.content,
            issued_at: l.issued_at,
        })
        .execute(conn)
}

type Listed = (
    String,
    String,
    Option<String>,
    String,
    String,
    i64,
    NaiveDateTime,
);

const LISTED: (
    letters::id,
    letters::application_id,
    letters::grant_id,
    letters::kind,
    letters::sha256,
    letters::size_bytes,
    letters::issued_at,
) = (
    letters::id,
    letters::application_id,
    letters::grant_id,
    letters::kind,
    letters::sha256,
    letters::size_bytes,
    letters::issued_at,
);

fn typed(
    (id, application_id, grant_id, kind, sha256, size_bytes, issued_at): Listed,
) -> Result<Letter, ServiceError> {
    Ok(Letter {
        id: LetterId::from_stored(id),
        application_id,
        grant_id: grant_id.map(GrantId::from_stored),
        kind: kind.parse().map_err(|e| corrupt("letters.kind", e))?,
        sha256,
        size_bytes,
        issued_at,
    })
}

/// The letters of an application, in the order they were issued.
pub fn of_application(
    conn: &mut DbConnection,
    application_id: &str,
) -> Result<Vec<Letter>, ServiceError> {
    let rows: Vec<Listed> = letters::table
        .filter(letters::application_id.eq(application_id))
        .order((letters::issued_at.asc(), letters::id.asc()))
        .select(LISTED)
        .load(conn)?;
    rows.into_iter().map(typed).collect()
}

/// The letters of several applications (a list of grants), in the order they were issued.
pub fn of_applications(
    conn: &mut DbConnection,
    application_ids: &[String],
) -> Result<Vec<Letter>, ServiceError> {
    let rows: Vec<Listed> = letters::table
        .filter(letters::application_id.eq_any(application_ids))
        .order((letters::issued_at.asc(), letters::id.asc()))
        .select(LISTED)
        .load(conn)?;
    rows.into_iter().map(typed).collect()
}

/// A letter with its bytes, and whose application it belongs to.
#[derive(Debug)]
pub struct LetterContent {
    pub letter: Letter,
    pub content: Vec<u8>,
    /// The application's owner: the letter's addressee.
    pub owner_id: String,
    pub reference: String,
}

/// A letter and its bytes (the services decide who may read it).
pub fn find_with_content(
    conn: &mut DbConnection,
    id: &LetterId,
) -> Result<Option<LetterContent>, ServiceError> {
    let row: Option<(Listed, Vec<u8>, String, String)> = letters::table
        .inner_join(applications::table)
        .filter(letters::id.eq(id.as_str()))
        .select((
            LISTED,
            letters::content,
            applications::applicant_id,
            applications::reference,
        ))
        .first(conn)
        .optional()?;
    row.map(|(listed, content, owner_id, reference)| {
        Ok(LetterContent {
            letter: typed(listed)?,
            content,
            owner_id,
            reference,
        })
    })
    .transpose()
}

/// A letter's kind, its application's reference and its bytes, for the outbox worker
/// attaching it to a mail.
pub fn content(
    conn: &mut DbConnection,
    id: &str,
) -> Result<Option<(LetterKind, String, Vec<u8>)>, ServiceError> {
    let row: Option<(String, String, Vec<u8>)> = letters::table
        .inner_join(applications::table)
        .filter(letters::id.eq(id))
        .select((letters::kind, applications::reference, letters::content))
        .first(conn)
        .optional()?;
    row.map(|(kind, reference, bytes)| {
        Ok((
            kind.parse().map_err(|e| corrupt("letters.kind", e))?,
            reference,
            bytes,
        ))
    })
    .transpose()
}

/// The latest letter of `kind` issued for a grant, with the inputs its template read and its
/// digest: the convention a signature completes.
pub fn latest_of_grant(
    conn: &mut DbConnection,
    grant_id: &GrantId,
    kind: LetterKind,
) -> Result<Option<(Letter, Option<String>)>, ServiceError> {
    let row: Option<(Listed, Option<String>)> = letters::table
        .filter(letters::grant_id.eq(grant_id.as_str()))
        .filter(letters::kind.eq(kind.as_str()))
        .order((letters::issued_at.desc(), letters::id.desc()))
        .select((LISTED, letters::inputs))
        .first(conn)
        .optional()?;
    row.map(|(listed, inputs)| Ok((typed(listed)?, inputs)))
        .transpose()
}

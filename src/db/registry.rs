//! The register's answers kept a day (`registry_cache`) and the evidence kept at submission
//! (`registry_evidence`), DESIGN.md §17.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{registry_cache, registry_evidence};
use crate::domain::registry::EvidenceStatus;

/// The cached answer for `siret` if it was fetched at or after `fresh_since`.
pub fn cached(
    conn: &mut DbConnection,
    siret: &str,
    fresh_since: NaiveDateTime,
) -> QueryResult<Option<(String, NaiveDateTime)>> {
    registry_cache::table
        .find(siret)
        .filter(registry_cache::fetched_at.ge(fresh_since))
        .select((registry_cache::answer, registry_cache::fetched_at))
        .first(conn)
        .optional()
}

/// Keeps the register's answer for `siret` (replacing an older one).
pub fn remember(
    conn: &mut DbConnection,
    siret: &str,
    answer: &str,
    at: NaiveDateTime,
) -> QueryResult<()> {
    let changed = diesel::update(registry_cache::table.find(siret))
        .set((
            registry_cache::answer.eq(answer),
            registry_cache::fetched_at.eq(at),
        ))
        .execute(conn)?;
    if changed == 0 {
        // Two instances may fetch the same SIRET at once: the second insert changes nothing.
        crate::on_backend!(conn, |c| diesel::insert_into(registry_cache::table)
            .values((
                registry_cache::siret.eq(siret),
                registry_cache::answer.eq(answer),
                registry_cache::fetched_at.eq(at),
            ))
            .on_conflict_do_nothing()
            .execute(c))?;
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = registry_evidence)]
pub struct EvidenceRow {
    pub application_id: String,
    pub siret: String,
    pub source: String,
    pub status: String,
    pub retrieved_at: NaiveDateTime,
    pub answer: Option<String>,
    pub answer_sha256: Option<String>,
    pub error: Option<String>,
}

impl EvidenceRow {
    pub fn status(&self) -> EvidenceStatus {
        EvidenceStatus::parse(&self.status).unwrap_or(EvidenceStatus::Unavailable)
    }
}

/// Writes an application's evidence, replacing the one of an earlier submission.
pub fn put_evidence(conn: &mut DbConnection, row: &EvidenceRow) -> QueryResult<()> {
    diesel::delete(registry_evidence::table.find(&row.application_id)).execute(conn)?;
    diesel::insert_into(registry_evidence::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn evidence_of(
    conn: &mut DbConnection,
    application_id: &str,
) -> QueryResult<Option<EvidenceRow>> {
    registry_evidence::table
        .find(application_id)
        .select(EvidenceRow::as_select())
        .first(conn)
        .optional()
}

/// The evidence of several applications (an export's page), by application.
pub fn evidence_of_many(
    conn: &mut DbConnection,
    application_ids: &[String],
) -> QueryResult<Vec<EvidenceRow>> {
    registry_evidence::table
        .filter(registry_evidence::application_id.eq_any(application_ids))
        .select(EvidenceRow::as_select())
        .load(conn)
}

/// The evidence the register could not give at submission, oldest attempt first.
pub fn unavailable(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<EvidenceRow>> {
    registry_evidence::table
        .filter(registry_evidence::status.eq(EvidenceStatus::Unavailable.as_str()))
        .order(registry_evidence::retrieved_at.asc())
        .limit(limit)
        .select(EvidenceRow::as_select())
        .load(conn)
}

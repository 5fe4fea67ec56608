//! The audit trail: one row per transition or edit, written in the same transaction, chained
//! (DESIGN.md §18, `domain::audit_chain`). [`insert`] is the one place a row is written: it
//! takes the trail's lock, reads the chain head, and writes the row with its `seq`, salt,
//! commitment, leaf and chain hash, all in the caller's transaction.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{audit_checkpoints, audit_events};
use crate::domain::audit_action::AuditAction;
use crate::domain::audit_chain::{
    self, ChainedEvent, Checkpoint, Digest, GENESIS, SALT_LEN, Unsealed,
};
use crate::domain::ids::{ApplicationId, CallId, UserId};

/// An event as the services describe it; [`insert`] seals and writes it.
#[derive(Debug, Clone)]
pub struct AuditRow {
    pub id: String,
    pub application_id: Option<String>,
    pub call_id: Option<String>,
    /// `None`: done by essor itself (the retention job), not by an account.
    pub actor_id: Option<String>,
    pub action: String,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    pub payload: String,
    pub at: NaiveDateTime,
}

/// An event as read back for a history: `payload` is `None` once erased.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct AuditEvent {
    pub id: String,
    pub application_id: Option<String>,
    pub call_id: Option<String>,
    pub actor_id: Option<String>,
    pub action: String,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    pub payload: Option<String>,
    pub at: NaiveDateTime,
}

/// A whole row, as stored (hashes are `None` only before [`backfill_chain`] ran).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events, treat_none_as_default_value = false)]
pub struct StoredEvent {
    pub id: String,
    pub seq: i64,
    pub application_id: Option<String>,
    pub call_id: Option<String>,
    pub actor_id: Option<String>,
    pub action: String,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    pub payload: Option<String>,
    pub at: NaiveDateTime,
    pub salt: Option<String>,
    pub commitment: Option<String>,
    pub leaf: Option<String>,
    pub chain: Option<String>,
}

impl StoredEvent {
    /// The row as the verifier reads it (a hash not yet written is the empty text, which
    /// fails as malformed).
    pub fn into_chained(self) -> ChainedEvent {
        ChainedEvent {
            seq: self.seq,
            id: self.id,
            at: self.at,
            actor_id: self.actor_id,
            action: self.action,
            application_id: self.application_id,
            call_id: self.call_id,
            from_state: self.from_state,
            to_state: self.to_state,
            payload: self.payload,
            salt: self.salt,
            commitment: self.commitment.unwrap_or_default(),
            leaf: self.leaf.unwrap_or_default(),
            chain: self.chain.unwrap_or_default(),
        }
    }
}

/// Advisory-lock key of the trail on PostgreSQL (an arbitrary constant, as for migrations).
const CHAIN_LOCK_KEY: i64 = 0x6573_736f_725f_6175; // "essor_au"

/// Makes the writers of the trail take turns until the end of their transaction. SQLite has
/// one writer already (every write transaction begins `IMMEDIATE`); on PostgreSQL a
/// transaction-scoped advisory lock, so two transactions never read the same head. The unique
/// index on `seq` stays as the last guard.
fn lock_chain(conn: &mut DbConnection) -> QueryResult<()> {
    if let DbConnection::Pg(pg) = conn {
        diesel::sql_query(format!("SELECT pg_advisory_xact_lock({CHAIN_LOCK_KEY})")).execute(pg)?;
    }
    Ok(())
}

fn bad_hash(what: &str, seq: i64) -> diesel::result::Error {
    diesel::result::Error::DeserializationError(
        format!("audit event {seq}: its {what} is not a hash").into(),
    )
}

/// The chain head: the last `seq` and its chain hash (0 and [`GENESIS`] for an empty trail).
/// Rows not yet chained (written before the chain existed) are chained first.
fn head(conn: &mut DbConnection) -> QueryResult<(i64, Digest)> {
    for _ in 0..2 {
        let last: Option<(i64, Option<String>)> = audit_events::table
            .order(audit_events::seq.desc())
            .select((audit_events::seq, audit_events::chain))
            .first(conn)
            .optional()?;
        match last {
            None => return Ok((0, GENESIS)),
            Some((seq, Some(chain))) => {
                let digest = audit_chain::from_hex(&chain)
                    .and_then(|b| Digest::try_from(b).ok())
                    .ok_or_else(|| bad_hash("chain", seq))?;
                return Ok((seq, digest));
            }
            Some((_, None)) => {
                fill_unchained(conn)?;
            }
        }
    }
    Err(diesel::result::Error::DeserializationError(
        "the audit trail's last event stays without its chain hash".into(),
    ))
}

fn seal_after(row: &AuditRow, seq: i64, prev: &Digest) -> (StoredEvent, Digest) {
    let at = audit_chain::to_micros(row.at);
    let salt: [u8; SALT_LEN] = rand::random();
    let (sealed, next) = audit_chain::seal(
        &Unsealed {
            seq,
            id: &row.id,
            at,
            actor_id: row.actor_id.as_deref(),
            action: &row.action,
            application_id: row.application_id.as_deref(),
            call_id: row.call_id.as_deref(),
            from_state: row.from_state.as_deref(),
            to_state: row.to_state.as_deref(),
            payload: &row.payload,
        },
        &salt,
        prev,
    );
    (
        StoredEvent {
            id: row.id.clone(),
            seq,
            application_id: row.application_id.clone(),
            call_id: row.call_id.clone(),
            actor_id: row.actor_id.clone(),
            action: row.action.clone(),
            from_state: row.from_state.clone(),
            to_state: row.to_state.clone(),
            payload: Some(row.payload.clone()),
            at,
            salt: Some(sealed.salt),
            commitment: Some(sealed.commitment),
            leaf: Some(sealed.leaf),
            chain: Some(sealed.chain),
        },
        next,
    )
}

/// An event as a service describes it, typed: who (an account, or essor itself), what (an
/// [`AuditAction`]), on which application or call. [`record`] names it and writes it.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub application_id: Option<&'a ApplicationId>,
    pub call_id: Option<&'a CallId>,
    /// `None`: done by essor itself (the retention job), not by an account.
    pub actor_id: Option<&'a UserId>,
    pub action: AuditAction,
    /// The states an application's or a call's history shows, by name.
    pub from_state: Option<&'static str>,
    pub to_state: Option<&'static str>,
    pub payload: serde_json::Value,
    pub at: NaiveDateTime,
}

/// Writes a service's event at the end of the chain, in the caller's transaction.
pub fn record(conn: &mut DbConnection, e: NewEvent<'_>) -> QueryResult<usize> {
    insert(
        conn,
        &AuditRow {
            id: uuid::Uuid::now_v7().to_string(),
            application_id: e.application_id.map(|id| id.as_str().to_owned()),
            call_id: e.call_id.map(|id| id.as_str().to_owned()),
            actor_id: e.actor_id.map(|id| id.as_str().to_owned()),
            action: e.action.as_str().to_owned(),
            from_state: e.from_state.map(str::to_owned),
            to_state: e.to_state.map(str::to_owned),
            payload: e.payload.to_string(),
            at: e.at,
        },
    )
}

/// Writes one event at the end of the chain, in the caller's transaction.
pub fn insert(conn: &mut DbConnection, row: &AuditRow) -> QueryResult<usize> {
    lock_chain(conn)?;
    let (last, prev) = head(conn)?;
    let (stored, _) = seal_after(row, last + 1, &prev);
    diesel::insert_into(audit_events::table)
        .values(&stored)
        .execute(conn)
}

/// Seals many events at once (the bulk seed), in order, after the current head; the caller
/// inserts them in the same transaction.
pub fn seal_all(conn: &mut DbConnection, rows: &[AuditRow]) -> QueryResult<Vec<StoredEvent>> {
    lock_chain(conn)?;
    let (mut last, mut prev) = head(conn)?;
    Ok(rows
        .iter()
        .map(|row| {
            last += 1;
            let (stored, next) = seal_after(row, last, &prev);
            prev = next;
            stored
        })
        .collect())
}

/// Chains the rows written before the chain existed (numbered by the migration), in `seq`
/// order, with fresh salts. Run after the migrations; a no-op once every row has its hash.
/// Takes the trail's lock, in its own transaction.
pub fn backfill_chain(conn: &mut DbConnection) -> Result<usize, crate::error::ServiceError> {
    crate::db::write_transaction(conn, |conn| {
        lock_chain(conn)?;
        Ok(fill_unchained(conn)?)
    })
}

fn fill_unchained(conn: &mut DbConnection) -> QueryResult<usize> {
    let mut done = 0;
    loop {
        let batch: Vec<StoredEvent> = audit_events::table
            .filter(audit_events::chain.is_null())
            .order(audit_events::seq.asc())
            .limit(500)
            .select(StoredEvent::as_select())
            .load(conn)?;
        let Some(first) = batch.first() else {
            return Ok(done);
        };
        let prev: Option<Option<String>> = audit_events::table
            .filter(audit_events::seq.lt(first.seq))
            .order(audit_events::seq.desc())
            .select(audit_events::chain)
            .first(conn)
            .optional()?;
        let mut prev = match prev {
            None => GENESIS,
            Some(Some(hex)) => audit_chain::from_hex(&hex)
                .and_then(|b| Digest::try_from(b).ok())
                .ok_or_else(|| bad_hash("chain", first.seq - 1))?,
            Some(None) => return Err(bad_hash("chain", first.seq - 1)),
        };
        for e in batch {
            let row = AuditRow {
                id: e.id.clone(),
                application_id: e.application_id,
                call_id: e.call_id,
                actor_id: e.actor_id,
                action: e.action,
                from_state: e.from_state,
                to_state: e.to_state,
                payload: e.payload.clone().unwrap_or_default(),
                at: e.at,
            };
            let (mut stored, next) = seal_after(&row, e.seq, &prev);
            if e.payload.is_none() {
                // Erased before it was chained: nothing to commit to but the empty text.
                stored.payload = None;
                stored.salt = None;
            }
            diesel::update(audit_events::table.find(&e.id))
                .set((
                    audit_events::at.eq(stored.at),
                    audit_events::salt.eq(&stored.salt),
                    audit_events::commitment.eq(&stored.commitment),
                    audit_events::leaf.eq(&stored.leaf),
                    audit_events::chain.eq(&stored.chain),
                ))
                .execute(conn)?;
            prev = next;
            done += 1;
        }
    }
}

/// Clears the payloads and salts of the events an account did (its erasure): the rows and
/// their hashes stay, so the chain still verifies.
pub fn erase_payloads_by_actor(conn: &mut DbConnection, actor_id: &str) -> QueryResult<usize> {
    diesel::update(
        audit_events::table
            .filter(audit_events::actor_id.eq(actor_id))
            .filter(audit_events::payload.is_not_null()),
    )
    .set((
        audit_events::payload.eq(None::<String>),
        audit_events::salt.eq(None::<String>),
    ))
    .execute(conn)
}

/// Clears the payloads and salts of the events of applications (a draft deleted, an
/// application minimised): the rows stay.
pub fn erase_payloads_of_applications(
    conn: &mut DbConnection,
    application_ids: &[ApplicationId],
) -> QueryResult<usize> {
    diesel::update(
        audit_events::table
            .filter(audit_events::application_id.eq_any(application_ids))
            .filter(audit_events::payload.is_not_null()),
    )
    .set((
        audit_events::payload.eq(None::<String>),
        audit_events::salt.eq(None::<String>),
    ))
    .execute(conn)
}

/// Events of an application, oldest first, with the actor's name and role (events without
/// an actor are not an application's: the retention job writes them without one).
pub fn for_application(
    conn: &mut DbConnection,
    application_id: &str,
) -> QueryResult<Vec<(AuditEvent, String, String)>> {
    use crate::db::schema::users;
    audit_events::table
        .inner_join(users::table.on(audit_events::actor_id.eq(users::id.nullable())))
        .filter(audit_events::application_id.eq(application_id))
        .order((audit_events::at.asc(), audit_events::id.asc()))
        .select((AuditEvent::as_select(), users::full_name, users::role))
        .load(conn)
}

/// The events from `after` (exclusive), at most `limit`, in `seq` order: the verifier and the
/// export walk the trail by pages.
pub fn page(conn: &mut DbConnection, after: i64, limit: i64) -> QueryResult<Vec<StoredEvent>> {
    audit_events::table
        .filter(audit_events::seq.gt(after))
        .order(audit_events::seq.asc())
        .limit(limit)
        .select(StoredEvent::as_select())
        .load(conn)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_checkpoints)]
pub struct CheckpointRow {
    pub id: String,
    pub size: i64,
    pub root: String,
    pub at: NaiveDateTime,
    pub public_key: String,
    pub signature: String,
}

impl From<CheckpointRow> for Checkpoint {
    fn from(r: CheckpointRow) -> Self {
        Checkpoint {
            size: r.size,
            root: r.root,
            at: r.at,
            key: r.public_key,
            signature: r.signature,
        }
    }
}

pub fn insert_checkpoint(conn: &mut DbConnection, c: &Checkpoint) -> QueryResult<usize> {
    diesel::insert_into(audit_checkpoints::table)
        .values(&CheckpointRow {
            id: uuid::Uuid::now_v7().to_string(),
            size: c.size,
            root: c.root.clone(),
            at: c.at,
            public_key: c.key.clone(),
            signature: c.signature.clone(),
        })
        .execute(conn)
}

/// Every checkpoint, oldest first.
pub fn checkpoints(conn: &mut DbConnection) -> QueryResult<Vec<Checkpoint>> {
    Ok(audit_checkpoints::table
        .order((audit_checkpoints::at.asc(), audit_checkpoints::id.asc()))
        .select(CheckpointRow::as_select())
        .load(conn)?
        .into_iter()
        .map(Checkpoint::from)
        .collect())
}

/// The chain head now (for a checkpoint): its size and hash, under the trail's lock so the
/// head read is the last committed one.
pub fn current_head(conn: &mut DbConnection) -> QueryResult<(i64, Digest)> {
    lock_chain(conn)?;
    head(conn)
}

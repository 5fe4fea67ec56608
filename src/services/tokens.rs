//! Personal access tokens (DESIGN.md §14): their owner creates, lists and revokes them. The
//! secret is returned once, at creation; only its hash is kept. Creation and revocation are
//! audited (`account.token_created`, `account.token_revoked`) in the same transaction as the
//! change. The bearer check is `auth::personal_token`; the scope rules `domain::tokens`.

use std::net::IpAddr;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::audit::{self, NewEvent};
use crate::db::personal_tokens::{self, PersonalTokenRow};
use crate::db::{DbConnection, users};
use crate::domain::actor::Actor;
use crate::domain::audit_action::{AccountAudit, AuditAction};
use crate::domain::ids::{TokenId, UserId};
use crate::domain::tokens::{self, Scope, TokenStatus};
use crate::error::ServiceError;
use crate::state::AppState;

/// A personal access token as its owner sees it (never the secret).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PersonalToken {
    #[schema(example = "01936f4e-5a7b-7c3d-9e2f-0a1b2c3d4e5f")]
    pub id: String,
    #[schema(example = "Tableur du comité")]
    pub name: String,
    pub scopes: Vec<Scope>,
    /// The secret's first characters, to tell tokens apart.
    #[schema(example = "essor_pat_3f9a1c…")]
    pub hint: String,
    /// Last day of validity (Europe/Paris): the token ends at the following midnight.
    pub expires_on: NaiveDate,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    /// Recorded at most once a minute.
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// `active`, `expired`, `revoked` (by its owner) or `ended` (by a deactivation, a role or
    /// a password change).
    pub status: TokenStatus,
}

/// A token just created: the only answer that carries the secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreatedToken {
    pub id: String,
    pub name: String,
    pub scopes: Vec<Scope>,
    pub hint: String,
    pub expires_on: NaiveDate,
    pub expires_at: DateTime<Utc>,
    /// The secret, shown this once: `Authorization: Bearer <token>`.
    #[schema(example = "essor_pat_3f9a1c…")]
    pub token: String,
}

/// What an owner asks for (already parsed from JSON or a form; checked here).
#[derive(Debug, Clone)]
pub struct NewToken {
    pub name: String,
    pub scopes: Vec<String>,
    pub expires_on: Option<NaiveDate>,
}

fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

fn expires_on(expires_at: NaiveDateTime) -> NaiveDate {
    tokens::paris_date(expires_at) - Duration::days(1)
}

fn view(row: PersonalTokenRow, owner_generation: i32, now: NaiveDateTime) -> PersonalToken {
    PersonalToken {
        status: TokenStatus::derive(
            row.revoked_at.is_some(),
            row.generation == owner_generation,
            row.expires_at,
            now,
        ),
        scopes: Scope::split(&row.scopes),
        expires_on: expires_on(row.expires_at),
        expires_at: utc(row.expires_at),
        created_at: utc(row.created_at),
        last_used_at: row.last_used_at.map(utc),
        revoked_at: row.revoked_at.map(utc),
        id: row.id,
        name: row.name,
        hint: row.hint,
    }
}

fn owner_generation(conn: &mut DbConnection, user_id: &str) -> Result<i32, ServiceError> {
    users::find_for_check(conn, user_id)?
        .map(|u| u.generation)
        .ok_or_else(|| ServiceError::not_found("Ce compte n'existe pas."))
}

fn record(
    conn: &mut DbConnection,
    user_id: &UserId,
    client_ip: IpAddr,
    action: AccountAudit,
    row: &PersonalTokenRow,
    now: NaiveDateTime,
) -> Result<(), ServiceError> {
    audit::record(
        conn,
        NewEvent {
            application_id: None,
            call_id: None,
            actor_id: Some(user_id),
            action: AuditAction::Account(action),
            from_state: None,
            to_state: None,
            payload: serde_json::json!({
                "user_id": user_id,
                "client_ip": client_ip.to_string(),
                "token_id": row.id,
                "name": row.name,
                "scopes": row.scopes,
                "expires_at": utc(row.expires_at),
            }),
            at: now,
        },
    )?;
    Ok(())
}

/// Creates a token for the caller: scopes within the caller's role, a year at most.
pub async fn create(
    state: &AppState,
    user: &Actor,
    client_ip: IpAddr,
    input: NewToken,
) -> Result<CreatedToken, ServiceError> {
    let now = state.clock.now();
    let valid = tokens::check_request(
        &input.name,
        &input.scopes,
        input.expires_on,
        user.role,
        tokens::paris_date(now),
    )
    .map_err(ServiceError::invalid)?;
    let (secret, hint) = tokens::secret_from(rand::random());
    let user_id = user.id.clone();
    let row = state
        .db
        .transaction(move |conn| {
            let generation = owner_generation(conn, user_id.as_str())?;
            if personal_tokens::count_active(conn, user_id.as_str(), generation, now)?
                >= tokens::MAX_ACTIVE_PER_ACCOUNT
            {
                return Err(ServiceError::conflict(format!(
                    "Vous avez déjà {} jetons actifs : révoquez-en un avant d'en créer un autre.",
                    tokens::MAX_ACTIVE_PER_ACCOUNT
                )));
            }
            let row = PersonalTokenRow {
                id: Uuid::now_v7().to_string(),
                user_id: user_id.to_string(),
                name: valid.name,
                token_hash: tokens::hash(&secret),
                hint,
                scopes: Scope::join(&valid.scopes),
                generation,
                created_at: now,
                expires_at: tokens::expires_at(valid.expires_on),
                last_used_at: None,
                revoked_at: None,
            };
            personal_tokens::insert(conn, &row)?;
            record(
                conn,
                &user_id,
                client_ip,
                AccountAudit::TokenCreated,
                &row,
                now,
            )?;
            Ok((row, secret))
        })
        .await?;
    let (row, secret) = row;
    Ok(CreatedToken {
        scopes: Scope::split(&row.scopes),
        expires_on: expires_on(row.expires_at),
        expires_at: utc(row.expires_at),
        id: row.id,
        name: row.name,
        hint: row.hint,
        token: secret,
    })
}

/// The caller's tokens, newest first (revoked and expired ones too, marked so).
pub async fn list(state: &AppState, user: &Actor) -> Result<Vec<PersonalToken>, ServiceError> {
    let now = state.clock.now();
    let user_id = user.id.clone();
    state
        .db
        .run(move |conn| {
            let generation = owner_generation(conn, user_id.as_str())?;
            Ok(personal_tokens::for_user(conn, user_id.as_str())?
                .into_iter()
                .map(|r| view(r, generation, now))
                .collect())
        })
        .await
}

/// One of the caller's tokens; someone else's is not found.
pub async fn get(
    state: &AppState,
    user: &Actor,
    id: TokenId,
) -> Result<PersonalToken, ServiceError> {
    let now = state.clock.now();
    let user_id = user.id.clone();
    state
        .db
        .run(move |conn| {
            let generation = owner_generation(conn, user_id.as_str())?;
            personal_tokens::find_owned(conn, user_id.as_str(), id.as_str())?
                .map(|r| view(r, generation, now))
                .ok_or_else(not_found)
        })
        .await
}

fn not_found() -> ServiceError {
    ServiceError::not_found("Ce jeton n'existe pas, ou il n'est pas à vous.")
}

/// A token's id as a face received it: a malformed one is « not found », like someone else's.
pub fn id(text: &str) -> Result<TokenId, ServiceError> {
    TokenId::parse(text).ok_or_else(not_found)
}

/// Revokes one of the caller's tokens, at once. Revoking a revoked token changes nothing (and
/// is not audited twice); someone else's is not found.
pub async fn revoke(
    state: &AppState,
    user: &Actor,
    client_ip: IpAddr,
    id: TokenId,
) -> Result<(), ServiceError> {
    let now = state.clock.now();
    let user_id = user.id.clone();
    state
        .db
        .transaction(move |conn| {
            let row = personal_tokens::find_owned(conn, user_id.as_str(), id.as_str())?
                .ok_or_else(not_found)?;
            if personal_tokens::revoke(conn, user_id.as_str(), id.as_str(), now)? {
                record(
                    conn,
                    &user_id,
                    client_ip,
                    AccountAudit::TokenRevoked,
                    &row,
                    now,
                )?;
            }
            Ok(())
        })
        .await
}

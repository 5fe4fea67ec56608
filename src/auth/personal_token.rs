//! The bearer check of personal access tokens (`Authorization: Bearer essor_pat_…`, DESIGN.md
//! §14): the secret's SHA-256 finds the token and its owner's current state in one query; the
//! token must not be revoked nor expired, its owner must be active and at the generation the
//! token was created at (a deactivation, a role or a password change ends it). Its last use is
//! written at most once a minute, so a busy script costs one write a minute, not one a request.
//! Which routes a token may use is `domain::tokens`; the extractor applies it.

use chrono::{Duration, NaiveDateTime};

use crate::auth::account::CurrentAccount;
use crate::db::{DbConnection, personal_tokens};
use crate::domain::ids::UserId;
use crate::domain::tokens::{PREFIX, Scope};
use crate::error::ServiceError;

/// A use is recorded when the last one recorded is older than this.
pub const TOUCH_EVERY_SECONDS: i64 = 60;

pub fn is_personal(bearer: &str) -> bool {
    bearer.starts_with(PREFIX)
}

/// Why a personal token opens nothing (401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatRefusal {
    #[error("ce jeton personnel n'existe pas")]
    Unknown,
    #[error("ce jeton personnel a été révoqué")]
    Revoked,
    #[error("ce jeton personnel a expiré : créez-en un nouveau")]
    Expired,
    #[error("ce compte a été désactivé")]
    Deactivated,
    #[error(
        "ce jeton personnel a pris fin avec un changement du compte (rôle ou mot de passe) : \
         créez-en un nouveau"
    )]
    Ended,
}

impl From<PatRefusal> for ServiceError {
    fn from(r: PatRefusal) -> Self {
        ServiceError::Unauthenticated(format!("Authentification refusée : {r}."))
    }
}

/// The owner as they are now and the token's scopes, or why the token is refused.
pub fn check(
    conn: &mut DbConnection,
    secret: &str,
    now: NaiveDateTime,
) -> Result<Result<(CurrentAccount, Vec<Scope>), PatRefusal>, ServiceError> {
    let Some((token, owner)) =
        personal_tokens::find_by_hash(conn, &crate::domain::tokens::hash(secret))?
    else {
        return Ok(Err(PatRefusal::Unknown));
    };
    if !owner.active {
        return Ok(Err(PatRefusal::Deactivated));
    }
    if token.revoked_at.is_some() {
        return Ok(Err(PatRefusal::Revoked));
    }
    if token.generation != owner.generation {
        return Ok(Err(PatRefusal::Ended));
    }
    if token.expires_at <= now {
        return Ok(Err(PatRefusal::Expired));
    }
    let role = owner.role;
    let stale = token
        .last_used_at
        .is_none_or(|at| now - at >= Duration::seconds(TOUCH_EVERY_SECONDS));
    if stale {
        personal_tokens::touch(conn, &token.id, now)?;
    }
    Ok(Ok((
        CurrentAccount {
            id: UserId::from_stored(token.user_id),
            role,
            generation: owner.generation,
            email_verified: owner.email_verified_at.is_some(),
        },
        Scope::split(&token.scopes),
    )))
}

//! The per-request account check, shared by the bearer-token extractor and the web sessions:
//! a credential names an account and the generation it was issued at; the account must still
//! exist, be active and be at that generation. Deactivation, a role change, a password change
//! or reset bump the generation, so what was issued before stops working at the next request.
//! One primary-key lookup of four columns.

use crate::db::DbConnection;
use crate::db::users;
use crate::domain::account::Role;
use crate::domain::ids::UserId;
use crate::error::{AppError, ServiceError};

/// The account as it is now (the role is the current one, not the credential's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentAccount {
    pub id: UserId,
    pub role: Role,
    pub generation: i32,
    pub email_verified: bool,
}

/// Why a credential no longer opens its account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AccountRefusal {
    #[error("ce compte n'existe plus")]
    Unknown,
    #[error("ce compte a été désactivé")]
    Deactivated,
    #[error("ce jeton a été révoqué (mot de passe ou rôle changé) : reconnectez-vous")]
    Revoked,
}

impl From<AccountRefusal> for ServiceError {
    fn from(r: AccountRefusal) -> Self {
        ServiceError::Unauthenticated(format!("Authentification refusée : {r}."))
    }
}

impl From<AccountRefusal> for AppError {
    fn from(r: AccountRefusal) -> Self {
        ServiceError::from(r).into()
    }
}

/// Checks a credential for `user_id` issued at `generation` against the account's current
/// state. `Ok(Err(_))` is a refusal; the outer `Err` a database failure.
pub fn check(
    conn: &mut DbConnection,
    user_id: &UserId,
    generation: i32,
) -> Result<Result<CurrentAccount, AccountRefusal>, ServiceError> {
    let Some(row) = users::find_for_check(conn, user_id.as_str())? else {
        return Ok(Err(AccountRefusal::Unknown));
    };
    judge(user_id, generation, row)
}

/// The check itself, on the account's columns read by `check` or by a hot read that joined
/// them (`db::applications::find_with_account`).
pub fn judge(
    user_id: &UserId,
    generation: i32,
    row: users::AccountCheckRow,
) -> Result<Result<CurrentAccount, AccountRefusal>, ServiceError> {
    if !row.active {
        return Ok(Err(AccountRefusal::Deactivated));
    }
    if row.generation != generation {
        return Ok(Err(AccountRefusal::Revoked));
    }
    Ok(Ok(CurrentAccount {
        id: user_id.clone(),
        role: row.role,
        generation: row.generation,
        email_verified: row.email_verified_at.is_some(),
    }))
}

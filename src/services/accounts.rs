//! Registration, sign-in and account management.

use chrono::Utc;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::password;
use crate::db::users::{self, NewUser, UserRow};
use crate::domain::account::{EmailAddress, Role, check_full_name, check_password};
use crate::error::{FieldErrors, ServiceError};
use crate::input::{Page, Paging};
use crate::state::AppState;

/// What a client learns of an account (never the hash).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct User {
    #[schema(example = "01936f4e-5a7b-7c3d-9e2f-0a1b2c3d4e5f")]
    pub id: String,
    #[schema(example = "porteur@exemple.fr")]
    pub email: String,
    #[schema(example = "Jeanne Dupont")]
    pub full_name: String,
    pub role: Role,
    pub created_at: chrono::DateTime<Utc>,
}

impl TryFrom<UserRow> for User {
    type Error = ServiceError;
    fn try_from(row: UserRow) -> Result<Self, ServiceError> {
        let role = Role::parse(&row.role).ok_or_else(|| {
            ServiceError::Internal(anyhow::anyhow!("unknown role {:?} in users", row.role))
        })?;
        Ok(Self {
            id: row.id,
            email: row.email,
            full_name: row.full_name,
            role,
            created_at: row.created_at.and_utc(),
        })
    }
}

/// A new account, once its fields are checked.
pub struct NewAccount {
    pub email: EmailAddress,
    pub password: String,
    pub full_name: String,
    pub role: Role,
}

impl NewAccount {
    /// Checks every field and reports all problems at once.
    pub fn parse(
        email: &str,
        password: &str,
        full_name: &str,
        role: Role,
    ) -> Result<Self, ServiceError> {
        let mut errors = FieldErrors::new();
        let email = EmailAddress::parse(email)
            .map_err(|m| errors.entry("email".into()).or_default().push(m.into()))
            .ok();
        if let Err(m) = check_password(password) {
            errors.entry("password".into()).or_default().push(m);
        }
        let full_name = check_full_name(full_name)
            .map_err(|m| errors.entry("full_name".into()).or_default().push(m))
            .ok();
        match (email, full_name) {
            (Some(email), Some(full_name)) if errors.is_empty() => Ok(Self {
                email,
                password: password.to_owned(),
                full_name,
                role,
            }),
            _ => Err(ServiceError::invalid(errors)),
        }
    }
}

pub async fn create(state: &AppState, account: NewAccount) -> Result<User, ServiceError> {
    let hash =
        actix_web::web::block(move || password::hash(&account.password).map(|h| (h, account)))
            .await
            .map_err(|e| ServiceError::Internal(anyhow::anyhow!("blocking: {e}")))??;
    let (hash, account) = hash;
    let id = Uuid::now_v7().to_string();
    let now = crate::db::now();
    state
        .db
        .run(move |conn| {
            let row = NewUser {
                id: &id,
                email: account.email.as_str(),
                password_hash: &hash,
                full_name: &account.full_name,
                role: account.role.as_str(),
                created_at: now,
            };
            match users::insert(conn, &row) {
                Ok(_) => {}
                Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                    return Err(ServiceError::conflict(
                        "Un compte existe déjà avec cette adresse électronique : connectez-vous \
                         ou utilisez une autre adresse.",
                    ));
                }
                Err(e) => return Err(e.into()),
            }
            users::find(conn, &id)?
                .ok_or_else(|| ServiceError::not_found("compte"))?
                .try_into()
        })
        .await
}

/// Checks an email and password. Unknown email and wrong password give the same answer,
/// after the same amount of work.
pub async fn authenticate(state: &AppState, email: &str, pw: String) -> Result<User, ServiceError> {
    let refused =
        || ServiceError::Unauthenticated("Adresse électronique ou mot de passe incorrect.".into());
    let email = match EmailAddress::parse(email) {
        Ok(e) => e.into_string(),
        Err(_) => String::new(),
    };
    let row = state
        .db
        .run(move |conn| Ok(users::find_by_email(conn, &email)?))
        .await?;
    let ok_row = actix_web::web::block(move || match row {
        Some(row) if password::verify(&pw, &row.password_hash) => Some(row),
        Some(_) => None,
        None => {
            password::verify_dummy(&pw);
            None
        }
    })
    .await
    .map_err(|e| ServiceError::Internal(anyhow::anyhow!("blocking: {e}")))?;
    ok_row.ok_or_else(refused)?.try_into()
}

pub async fn get(state: &AppState, id: String) -> Result<User, ServiceError> {
    state
        .db
        .run(move |conn| {
            users::find(conn, &id)?
                .ok_or_else(|| ServiceError::not_found("Ce compte n'existe pas."))?
                .try_into()
        })
        .await
}

pub async fn list(
    state: &AppState,
    role: Option<Role>,
    paging: Paging,
) -> Result<Page<User>, ServiceError> {
    state
        .db
        .run(move |conn| {
            let (rows, total) = users::list(
                conn,
                role.map(Role::as_str),
                paging.offset(),
                paging.limit(),
            )?;
            let items = rows
                .into_iter()
                .map(User::try_from)
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Page::new(items, total, paging))
        })
        .await
}

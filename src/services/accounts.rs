//! Accounts (DESIGN.md §5, §14): registration with address verification, sign-in with
//! throttling, password reset and change, invitations, and what admins change. Every change
//! goes through `apply_event`, which runs the account state machine (`domain::account`) and
//! writes the account, the audit event and the mail in one transaction.

use std::net::IpAddr;

use chrono::{Duration, NaiveDateTime, Utc};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::account_tokens::{self, AccountTokenRow};
use crate::db::audit::{self, AuditRow};
use crate::db::users::{self, AccountChange, NO_PASSWORD, NewUser, UserRow};
use crate::db::{DbConnection, throttle as throttle_db};
use crate::domain::account::{
    AccountEvent, AccountState, EmailAddress, Role, check_full_name, check_password,
};
use crate::domain::actor::Actor;
use crate::domain::audit_action::{AccountAudit, AuditAction};
use crate::domain::ids::UserId;
use crate::domain::password_policy;
use crate::error::{FieldErrors, ServiceError};
use crate::input::{Page, Position};
use crate::notify::{AccountMail, AccountRecipient};
use crate::services::throttle::{self, Limit};
use crate::state::AppState;

/// What a client learns of an account (never the hash).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct User {
    #[schema(value_type = String, example = "01936f4e-5a7b-7c3d-9e2f-0a1b2c3d4e5f")]
    pub id: UserId,
    #[schema(example = "porteur@exemple.fr")]
    pub email: String,
    #[schema(example = "Jeanne Dupont")]
    pub full_name: String,
    pub role: Role,
    /// `invited` (no password yet), `unverified` (address not verified: may draft, not
    /// submit), `active`, `deactivated`.
    #[schema(example = "active")]
    pub status: String,
    pub active: bool,
    pub email_verified: bool,
    pub created_at: chrono::DateTime<Utc>,
    /// A commune account's commune (INSEE code); absent for every other role.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "59512")]
    pub commune_insee: Option<String>,
}

impl TryFrom<UserRow> for User {
    type Error = ServiceError;
    fn try_from(row: UserRow) -> Result<Self, ServiceError> {
        let role = row.role;
        Ok(Self {
            status: account_state(&row).as_str().to_owned(),
            id: UserId::from_stored(row.id),
            email: row.email,
            full_name: row.full_name,
            role,
            active: row.active,
            email_verified: row.email_verified_at.is_some(),
            created_at: row.created_at.and_utc(),
            commune_insee: row.commune_insee,
        })
    }
}

fn account_state(row: &UserRow) -> AccountState {
    AccountState::derive(
        row.active,
        row.has_credential(),
        row.email_verified_at.is_some(),
    )
}

/// A new account, once its fields are checked.
pub struct NewAccount {
    pub email: EmailAddress,
    pub password: String,
    pub full_name: String,
    pub role: Role,
}

fn push(errors: &mut FieldErrors, field: &str, msg: impl Into<String>) {
    errors.entry(field.into()).or_default().push(msg.into());
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
        let (email_input, full_name_input) = (email, full_name);
        let email = EmailAddress::parse(email)
            .map_err(|m| push(&mut errors, "email", m))
            .ok();
        if let Err(m) = check_password(password).and_then(|()| {
            password_policy::check_strength(
                password,
                &password_policy::user_inputs(email_input.trim(), full_name_input.trim()),
            )
        }) {
            push(&mut errors, "password", m);
        }
        let full_name = check_full_name(full_name)
            .map_err(|m| push(&mut errors, "full_name", m))
            .ok();
        if role == Role::Commune {
            push(
                &mut errors,
                "role",
                "un compte de commune s'invite avec sa commune (POST /api/v1/users/invitations, \
                 role « commune » et commune_insee)",
            );
        }
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

// ---------------------------------------------------------------------------------------------
// Tokens of mail links

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    VerifyEmail,
    PasswordReset,
    Invitation,
}

impl LinkPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::PasswordReset => "password_reset",
            Self::Invitation => "invitation",
        }
    }

    /// How long a link lasts (DESIGN.md §14).
    pub fn lifetime(self) -> Duration {
        match self {
            Self::VerifyEmail => Duration::hours(24),
            Self::PasswordReset => Duration::hours(1),
            Self::Invitation => Duration::days(7),
        }
    }
}

/// 256 random bits, URL-safe: what the mail carries. Only its SHA-256 is stored.
fn new_link_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn token_hash(token: &str) -> String {
    Sha256::digest(token.trim().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Stores a new link for `user_id` (ending those of the same purpose still pending) and
/// returns the token to mail.
fn issue_link(
    conn: &mut DbConnection,
    user_id: &str,
    purpose: LinkPurpose,
    now: NaiveDateTime,
) -> Result<String, ServiceError> {
    account_tokens::revoke_pending(conn, user_id, purpose.as_str(), now)?;
    let token = new_link_token();
    account_tokens::insert(
        conn,
        &AccountTokenRow {
            id: Uuid::now_v7().to_string(),
            user_id: user_id.to_owned(),
            purpose: purpose.as_str().to_owned(),
            token_hash: token_hash(&token),
            created_at: now,
            expires_at: now + purpose.lifetime(),
            used_at: None,
        },
    )?;
    Ok(token)
}

/// What a used verification link says when its address is confirmed.
pub const ALREADY_CONFIRMED: &str =
    "votre adresse est déjà confirmée : ce lien a déjà servi, vous pouvez vous connecter";

/// Uses a link: it must exist, be of this purpose, unused and unexpired. Returns its account.
fn consume_link(
    conn: &mut DbConnection,
    token: &str,
    purpose: LinkPurpose,
    now: NaiveDateTime,
) -> Result<UserRow, ServiceError> {
    let invalid = |msg: &str| ServiceError::invalid_field("token", msg);
    let row = account_tokens::find_by_hash(conn, &token_hash(token))?
        .filter(|r| r.purpose == purpose.as_str())
        .ok_or_else(|| {
            invalid("ce lien n'est pas valide : vérifiez qu'il a été copié en entier, ou demandez-en un nouveau")
        })?;
    if row.used_at.is_some() {
        // A verification link opened again once the address is confirmed: say so, rather
        // than send the person after a new link they do not need.
        if purpose == LinkPurpose::VerifyEmail
            && users::find(conn, &row.user_id)?.is_some_and(|u| u.email_verified_at.is_some())
        {
            return Err(invalid(ALREADY_CONFIRMED));
        }
        return Err(invalid(
            "ce lien a déjà servi (il ne sert qu'une fois) : demandez-en un nouveau si besoin",
        ));
    }
    if row.expires_at <= now {
        return Err(invalid("ce lien a expiré : demandez-en un nouveau"));
    }
    if !account_tokens::consume(conn, &row.id, now)? {
        return Err(invalid("ce lien a déjà servi (il ne sert qu'une fois)"));
    }
    users::find(conn, &row.user_id)?.ok_or_else(|| invalid("ce lien n'est plus valide"))
}

// ---------------------------------------------------------------------------------------------
// The one writer of account changes

/// Who caused an account event, and from where (for the audit trail).
#[derive(Debug, Clone)]
pub struct Origin {
    /// The acting account (the admin, or the account itself).
    pub actor_id: String,
    pub client_ip: IpAddr,
}

fn record_audit(
    conn: &mut DbConnection,
    origin: &Origin,
    user_id: &str,
    action: AccountAudit,
    (from, to): (Option<AccountState>, Option<AccountState>),
    extra: serde_json::Value,
    now: NaiveDateTime,
) -> Result<(), ServiceError> {
    let mut payload = serde_json::json!({
        "user_id": user_id,
        "client_ip": origin.client_ip.to_string(),
    });
    if let (Some(map), serde_json::Value::Object(more)) = (payload.as_object_mut(), extra) {
        map.extend(more);
    }
    audit::insert(
        conn,
        &AuditRow {
            id: Uuid::now_v7().to_string(),
            application_id: None,
            call_id: None,
            actor_id: Some(origin.actor_id.clone()),
            action: AuditAction::Account(action).as_str().to_owned(),
            from_state: from.map(|s| s.as_str().to_owned()),
            to_state: to.map(|s| s.as_str().to_owned()),
            payload: payload.to_string(),
            at: now,
        },
    )?;
    Ok(())
}

/// Runs `event` on `row` through the state machine and writes the change (with a generation
/// bump when the event ends sessions) and its audit event, on the caller's transaction.
fn apply_event(
    conn: &mut DbConnection,
    row: &UserRow,
    event: AccountEvent,
    mut change: AccountChange,
    origin: &Origin,
    extra: serde_json::Value,
    now: NaiveDateTime,
) -> Result<(), ServiceError> {
    let from = account_state(row);
    let t = from
        .apply(event)
        .map_err(|why| ServiceError::conflict(format!("Action impossible : {why}.")))?;
    change.bump_generation = t.ends_sessions;
    users::update_account(conn, &row.id, &change)?;
    if t.ends_sessions {
        // Bearer tokens die with the generation; web sessions are rows: delete them.
        crate::db::sessions::end_all_of(conn, &row.id)?;
    }
    let updated = users::find(conn, &row.id)?
        .ok_or_else(|| ServiceError::not_found("Ce compte n'existe pas."))?;
    let action = match event {
        AccountEvent::VerifyEmail => AccountAudit::EmailVerified,
        AccountEvent::AcceptInvitation => AccountAudit::InvitationAccepted,
        AccountEvent::ResetPassword => AccountAudit::PasswordReset,
        AccountEvent::ChangePassword => AccountAudit::PasswordChanged,
        AccountEvent::ChangeRole => AccountAudit::RoleChanged,
        AccountEvent::Deactivate => AccountAudit::Deactivated,
        AccountEvent::Reactivate => AccountAudit::Reactivated,
    };
    record_audit(
        conn,
        origin,
        &row.id,
        action,
        (Some(from), Some(account_state(&updated))),
        extra,
        now,
    )
}

fn recipient(row: &UserRow) -> Result<AccountRecipient, ServiceError> {
    Ok(AccountRecipient {
        email: row.email.clone(),
        full_name: row.full_name.clone(),
        role: row.role,
    })
}

// ---------------------------------------------------------------------------------------------
// Use cases

/// An account created by `essor create-user` (or a test): with a password, its address taken
/// as verified (whoever runs the command vouches for it).
pub async fn create(state: &AppState, account: NewAccount) -> Result<User, ServiceError> {
    let hash = state.passwords.hash(account.password.clone()).await?;
    let id = Uuid::now_v7().to_string();
    let now = state.clock.now();
    state
        .db
        .transaction(move |conn| {
            let row = NewUser {
                id: &id,
                email: account.email.as_str(),
                password_hash: &hash,
                full_name: &account.full_name,
                role: account.role.as_str(),
                created_at: now,
                email_verified_at: Some(now),
                commune_insee: None,
            };
            match users::insert(conn, &row) {
                Ok(_) => {}
                Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                    return Err(ServiceError::conflict(
                        "Un compte existe déjà avec cette adresse électronique.",
                    ));
                }
                Err(e) => return Err(e.into()),
            }
            let origin = Origin {
                actor_id: id.clone(),
                client_ip: IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            };
            record_audit(
                conn,
                &origin,
                &id,
                AccountAudit::Created,
                (None, Some(AccountState::Active)),
                serde_json::json!({"role": account.role.as_str(), "by": "command line"}),
                now,
            )?;
            users::find(conn, &id)?
                .ok_or_else(|| ServiceError::not_found("compte"))?
                .try_into()
        })
        .await
}

/// Counts one account request (registration, verification or reset mail) from `ip`, refusing
/// it with 429 over the limit.
pub async fn count_account_request(state: &AppState, ip: IpAddr) -> Result<(), ServiceError> {
    let limit = Limit::account_requests(&state.settings.auth);
    let now = state.clock.now();
    state
        .db
        .transaction(move |conn| {
            let subject = throttle::address_subject(ip);
            throttle::check(conn, &limit, &subject, now)?;
            throttle::record(conn, &limit, &subject, now)
        })
        .await
}

/// Self-registration (DESIGN.md §5): the same answer for a known address and a new one. A new
/// address gets an unverified applicant account and a verification mail; a known one gets a
/// mail saying so, with a reset link, and nothing else changes.
pub async fn register(
    state: &AppState,
    ip: IpAddr,
    account: NewAccount,
) -> Result<(), ServiceError> {
    count_account_request(state, ip).await?;
    // Hashed whether or not the address is known, so that the time taken tells nothing.
    let hash = state.passwords.hash(account.password.clone()).await?;
    let notifier = state.notifier.clone();
    let now = state.clock.now();
    let result = state
        .db
        .transaction(move |conn| {
            if let Some(existing) = users::find_by_email(conn, account.email.as_str())? {
                let origin = Origin {
                    actor_id: existing.id.clone(),
                    client_ip: ip,
                };
                let state_now = account_state(&existing);
                if state_now.apply(AccountEvent::ResetPassword).is_ok() {
                    let token = issue_link(conn, &existing.id, LinkPurpose::PasswordReset, now)?;
                    notifier.queue_account(
                        conn,
                        &AccountMail::AccountExists {
                            to: recipient(&existing)?,
                            token,
                        },
                    )?;
                }
                return record_audit(
                    conn,
                    &origin,
                    &existing.id,
                    AccountAudit::RegistrationForExisting,
                    (Some(state_now), Some(state_now)),
                    serde_json::json!({}),
                    now,
                );
            }
            let id = Uuid::now_v7().to_string();
            users::insert(
                conn,
                &NewUser {
                    id: &id,
                    email: account.email.as_str(),
                    password_hash: &hash,
                    full_name: &account.full_name,
                    role: Role::Applicant.as_str(),
                    created_at: now,
                    email_verified_at: None,
                    commune_insee: None,
                },
            )?;
            let row = users::find(conn, &id)?.ok_or_else(|| ServiceError::not_found("compte"))?;
            let token = issue_link(conn, &id, LinkPurpose::VerifyEmail, now)?;
            notifier.queue_account(
                conn,
                &AccountMail::VerifyEmail {
                    to: recipient(&row)?,
                    token,
                },
            )?;
            record_audit(
                conn,
                &Origin {
                    actor_id: id.clone(),
                    client_ip: ip,
                },
                &id,
                AccountAudit::Registered,
                (None, Some(AccountState::Unverified)),
                serde_json::json!({"role": "applicant"}),
                now,
            )
        })
        .await;
    match result {
        // Two registrations of one new address at once: the second finds the first's row
        // only after its insert failed. Same answer; the first one's mail is on its way.
        Err(ServiceError::Internal(e))
            if e.downcast_ref::<DieselError>().is_some_and(|d| {
                matches!(
                    d,
                    DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
                )
            }) =>
        {
            Ok(())
        }
        other => other,
    }
}

/// A signed-in account: the user and the generation its token must carry.
pub struct SignedIn {
    pub user: User,
    pub generation: i32,
}

/// Checks an email and password, with throttling: failures count per account (the email
/// typed) and per client address; over either limit the attempt is refused with 429 before
/// the password is checked. Unknown email and wrong password give the same answer after the
/// same work.
pub async fn sign_in(
    state: &AppState,
    ip: IpAddr,
    email: &str,
    pw: String,
) -> Result<SignedIn, ServiceError> {
    let refused =
        || ServiceError::Unauthenticated("Adresse électronique ou mot de passe incorrect.".into());
    let email = match EmailAddress::parse(email) {
        Ok(e) => e.into_string(),
        Err(_) => email.trim().to_lowercase(),
    };
    let per_account = Limit::account_failures(&state.settings.auth);
    let per_address = Limit::address_failures(&state.settings.auth);
    let address = throttle::address_subject(ip);
    let (lookup_email, lookup_address) = (email.clone(), address.clone());
    let now = state.clock.now();
    // Counted before the password is checked, per address then per account (always in that
    // order, so two transactions never wait on each other's lock): a burst of parallel
    // guesses gets at most the limit's worth of checks, the rest 429.
    let (row, address_claim) = state
        .db
        .transaction(move |conn| {
            let address_claim = throttle::claim(conn, &per_address, &lookup_address, now)?;
            throttle::claim(conn, &per_account, &lookup_email, now)?;
            throttle::purge_old(conn, &per_account, now)?;
            Ok((users::find_by_email(conn, &lookup_email)?, address_claim))
        })
        .await?;
    let stored = row
        .as_ref()
        .filter(|r| r.has_password())
        .map(|r| r.password_hash.clone());
    let ok = state.passwords.verify(pw, stored).await?;
    match row {
        Some(row) if ok => {
            let origin = Origin {
                actor_id: row.id.clone(),
                client_ip: ip,
            };
            let account_state_now = account_state(&row);
            let (user_id, subject) = (row.id.clone(), email.clone());
            let now = state.clock.now();
            state
                .db
                .transaction(move |conn| {
                    // The account's earlier failures were its owner's typos, and a
                    // successful sign-in never counts for its address.
                    throttle_db::clear(conn, throttle::SIGN_IN_ACCOUNT, &subject)?;
                    throttle::give_back(conn, &address_claim)?;
                    record_audit(
                        conn,
                        &origin,
                        &user_id,
                        if account_state_now.may_sign_in() {
                            AccountAudit::SignedIn
                        } else {
                            AccountAudit::SignInRefused
                        },
                        (None, None),
                        serde_json::json!({}),
                        now,
                    )
                })
                .await?;
            if !account_state_now.may_sign_in() {
                return Err(ServiceError::Unauthenticated(
                    "Ce compte a été désactivé : adressez-vous à l'administrateur de la plateforme."
                        .into(),
                ));
            }
            Ok(SignedIn {
                generation: row.generation,
                user: row.try_into()?,
            })
        }
        // The failure was counted when it was claimed.
        _ => Err(refused()),
    }
}

/// `POST /auth/verify-email {token}`.
pub async fn verify_email(state: &AppState, ip: IpAddr, token: String) -> Result<(), ServiceError> {
    let now = state.clock.now();
    state
        .db
        .transaction(move |conn| {
            let row = consume_link(conn, &token, LinkPurpose::VerifyEmail, now)?;
            let origin = Origin {
                actor_id: row.id.clone(),
                client_ip: ip,
            };
            apply_event(
                conn,
                &row,
                AccountEvent::VerifyEmail,
                AccountChange {
                    email_verified_at: Some(now),
                    ..Default::default()
                },
                &origin,
                serde_json::json!({}),
                now,
            )
        })
        .await
}

/// A new verification link for the signed-in applicant.
pub async fn resend_verification(
    state: &AppState,
    ip: IpAddr,
    user: &Actor,
) -> Result<(), ServiceError> {
    if user.email_verified {
        return Err(ServiceError::conflict(
            "Votre adresse électronique est déjà vérifiée : rien à faire.",
        ));
    }
    count_account_request(state, ip).await?;
    let notifier = state.notifier.clone();
    let user_id = user.id.clone();
    let now = state.clock.now();
    state
        .db
        .transaction(move |conn| {
            let row = users::find(conn, user_id.as_str())?
                .ok_or_else(|| ServiceError::not_found("Ce compte n'existe pas."))?;
            let mail = |to, token| AccountMail::VerifyEmail { to, token };
            let link = SelfServiceLink {
                purpose: LinkPurpose::VerifyEmail,
                mail: &mail,
                audit_action: AccountAudit::VerificationResent,
            };
            link.send(conn, &notifier, &row, ip, now)
        })
        .await
}

/// `POST /auth/password-reset {email}`: the same answer whether or not the address has an
/// account; only an account that may reset gets a mail.
pub async fn request_password_reset(
    state: &AppState,
    ip: IpAddr,
    email: &str,
) -> Result<(), ServiceError> {
    let email = EmailAddress::parse(email).map_err(|m| ServiceError::invalid_field("email", m))?;
    count_account_request(state, ip).await?;
    let notifier = state.notifier.clone();
    let now = state.clock.now();
    state
        .db
        .transaction(move |conn| {
            let Some(row) = users::find_by_email(conn, email.as_str())? else {
                return Ok(());
            };
            let s = account_state(&row);
            if s.apply(AccountEvent::ResetPassword).is_err() {
                return Ok(());
            }
            let mail = |to, token| AccountMail::PasswordReset { to, token };
            let link = SelfServiceLink {
                purpose: LinkPurpose::PasswordReset,
                mail: &mail,
                audit_action: AccountAudit::PasswordResetRequested,
            };
            link.send(conn, &notifier, &row, ip, now)
        })
        .await
}

/// A link a person asked for about their own account (a new verification link, a reset
/// link): issued, mailed and audited in the caller's transaction, the account's state unchanged.
struct SelfServiceLink<'a> {
    purpose: LinkPurpose,
    mail: &'a dyn Fn(AccountRecipient, String) -> AccountMail,
    audit_action: AccountAudit,
}

impl SelfServiceLink<'_> {
    fn send(
        &self,
        conn: &mut DbConnection,
        notifier: &crate::notify::Notifier,
        row: &UserRow,
        ip: IpAddr,
        now: NaiveDateTime,
    ) -> Result<(), ServiceError> {
        let token = issue_link(conn, &row.id, self.purpose, now)?;
        notifier.queue_account(conn, &(self.mail)(recipient(row)?, token))?;
        let s = account_state(row);
        record_audit(
            conn,
            &Origin {
                actor_id: row.id.clone(),
                client_ip: ip,
            },
            &row.id,
            self.audit_action,
            (Some(s), Some(s)),
            serde_json::json!({}),
            now,
        )
    }
}

/// The length rule and the strength rule; `account` (email, full name) when known, so that
/// the account's own words count against the password.
fn checked_password(
    field: &str,
    password: &str,
    account: Option<(&str, &str)>,
) -> Result<(), ServiceError> {
    let (email, full_name) = account.unwrap_or(("", ""));
    check_password(password)
        .and_then(|()| {
            password_policy::check_strength(
                password,
                &password_policy::user_inputs(email, full_name),
            )
        })
        .map_err(|m| ServiceError::invalid_field(field, m))
}

/// Sets a password from a mail link (reset or invitation): ends every session and token
/// issued before, and proves the address.
async fn set_password_from_link(
    state: &AppState,
    ip: IpAddr,
    token: String,
    password: String,
    purpose: LinkPurpose,
) -> Result<(), ServiceError> {
    // The account is not known before the link is read: the generic rule here, the account's
    // own words once the link is consumed (a refusal then rolls the consumption back).
    checked_password("password", &password, None)?;
    let for_account = password.clone();
    // Hashing is slow: done before the transaction, which then only writes.
    let hash = state.passwords.hash(password).await?;
    let now = state.clock.now();
    state
        .db
        .transaction(move |conn| {
            let row = consume_link(conn, &token, purpose, now)?;
            checked_password("password", &for_account, Some((&row.email, &row.full_name)))?;
            let event = match purpose {
                LinkPurpose::Invitation => AccountEvent::AcceptInvitation,
                _ => AccountEvent::ResetPassword,
            };
            apply_event(
                conn,
                &row,
                event,
                AccountChange {
                    password_hash: Some(&hash),
                    email_verified_at: row.email_verified_at.is_none().then_some(now),
                    ..Default::default()
                },
                &Origin {
                    actor_id: row.id.clone(),
                    client_ip: ip,
                },
                serde_json::json!({}),
                now,
            )?;
            // The address is proven and the password set: other pending links are moot.
            for p in [
                LinkPurpose::PasswordReset,
                LinkPurpose::VerifyEmail,
                LinkPurpose::Invitation,
            ] {
                account_tokens::revoke_pending(conn, &row.id, p.as_str(), now)?;
            }
            Ok(())
        })
        .await
}

pub async fn confirm_password_reset(
    state: &AppState,
    ip: IpAddr,
    token: String,
    password: String,
) -> Result<(), ServiceError> {
    set_password_from_link(state, ip, token, password, LinkPurpose::PasswordReset).await
}

pub async fn accept_invitation(
    state: &AppState,
    ip: IpAddr,
    token: String,
    password: String,
) -> Result<(), ServiceError> {
    set_password_from_link(state, ip, token, password, LinkPurpose::Invitation).await
}

/// Re-checks the password of a signed-in account before an act that needs it (a password
/// change, an erasure), as a sign-in checks it: the attempt is claimed in a write transaction
/// before the slow check, so a burst of guesses gets at most the limit's worth of checks and
/// the rest 429 (issue 32 point 1). A wrong password answers 422 on `field` and stays counted
/// as a failed sign-in of the account; a right one returns the row and the claim, which the
/// caller gives back with the act it allows ([`throttle::give_back`]). `before` judges the
/// row ahead of the claim: what it refuses is not a guess.
pub(crate) async fn recheck_password<F>(
    state: &AppState,
    user_id: &str,
    password: String,
    field: &'static str,
    wrong: &'static str,
    before: F,
) -> Result<(UserRow, String), ServiceError>
where
    F: FnOnce(&UserRow) -> Result<(), ServiceError> + Send + 'static,
{
    let per_account = Limit::account_failures(&state.settings.auth);
    let user_id = user_id.to_owned();
    let now = state.clock.now();
    let (row, claim) = state
        .db
        .transaction(move |conn| {
            let row = users::find(conn, &user_id)?
                .ok_or_else(|| ServiceError::not_found("Ce compte n'existe pas."))?;
            before(&row)?;
            let claim = throttle::claim(conn, &per_account, &row.email, now)?;
            Ok((row, claim))
        })
        .await?;
    // An account without a password (its link never used) is checked against nothing, in the
    // same time as one with.
    let stored = row.has_password().then(|| row.password_hash.clone());
    if !state.passwords.verify(password, stored).await? {
        return Err(ServiceError::invalid_field(field, wrong));
    }
    Ok((row, claim))
}

/// `POST /me/password`: the current password is checked (a wrong one counts as a failed
/// sign-in of the account); every token issued before, the caller's included, stops working.
pub async fn change_password(
    state: &AppState,
    ip: IpAddr,
    user: &Actor,
    current: String,
    new: String,
) -> Result<(), ServiceError> {
    checked_password("new_password", &new, None)?;
    let new_for_check = new.clone();
    let (row, claim) = recheck_password(
        state,
        user.id.as_str(),
        current,
        "current_password",
        "le mot de passe actuel est incorrect",
        // Before the claim: a weak new password is not a failed sign-in.
        move |row| {
            checked_password(
                "new_password",
                &new_for_check,
                Some((&row.email, &row.full_name)),
            )
        },
    )
    .await?;
    let hash = state.passwords.hash(new).await?;
    let now = state.clock.now();
    state
        .db
        .transaction(move |conn| {
            throttle::give_back(conn, &claim)?;
            // A password change ends every outstanding reset link: one mailed before the
            // change (to a mailbox perhaps read by someone else) must not undo it.
            account_tokens::revoke_pending(
                conn,
                &row.id,
                LinkPurpose::PasswordReset.as_str(),
                now,
            )?;
            apply_event(
                conn,
                &row,
                AccountEvent::ChangePassword,
                AccountChange {
                    password_hash: Some(&hash),
                    ..Default::default()
                },
                &Origin {
                    actor_id: row.id.clone(),
                    client_ip: ip,
                },
                serde_json::json!({}),
                now,
            )
        })
        .await
}

/// An invitation (admin): the account exists at once, without a password, and its owner sets
/// one from the mail's link (7 days).
pub struct Invitation {
    pub email: EmailAddress,
    pub full_name: String,
    pub role: Role,
    /// A commune account's commune: one of the MEL's 95 (Lomme and Hellemmes-Lille as Lille).
    pub commune_insee: Option<String>,
}

impl Invitation {
    pub fn parse(
        email: &str,
        full_name: &str,
        role: Role,
        commune: Option<&str>,
    ) -> Result<Self, ServiceError> {
        let mut errors = FieldErrors::new();
        let email = EmailAddress::parse(email)
            .map_err(|m| push(&mut errors, "email", m))
            .ok();
        let full_name = check_full_name(full_name)
            .map_err(|m| push(&mut errors, "full_name", m))
            .ok();
        if role == Role::Applicant {
            push(
                &mut errors,
                "role",
                "les porteurs de projet créent eux-mêmes leur compte (inscription) : invitez un \
                 membre du comité (reviewer), un agent (staff) ou un administrateur (admin)",
            );
        }
        let commune = commune.map(str::trim).filter(|c| !c.is_empty());
        let commune_insee = match (role, commune) {
            (Role::Commune, None) => {
                push(
                    &mut errors,
                    "commune_insee",
                    "indiquez la commune de ce compte (son code INSEE, par exemple 59512 pour \
                     Roubaix)",
                );
                None
            }
            (Role::Commune, Some(code)) => {
                let canonical = crate::domain::territory::canonical_commune(code);
                if crate::domain::territory::mel_commune(canonical).is_none() {
                    push(
                        &mut errors,
                        "commune_insee",
                        "ce code INSEE n'est pas celui d'une des 95 communes de la Métropole",
                    );
                }
                Some(canonical.to_owned())
            }
            (_, Some(_)) => {
                push(
                    &mut errors,
                    "commune_insee",
                    "seul un compte de commune (role « commune ») a une commune",
                );
                None
            }
            (_, None) => None,
        };
        match (email, full_name) {
            (Some(email), Some(full_name)) if errors.is_empty() => Ok(Self {
                email,
                full_name,
                role,
                commune_insee,
            }),
            _ => Err(ServiceError::invalid(errors)),
        }
    }
}

pub async fn invite(
    state: &AppState,
    ip: IpAddr,
    admin: &Actor,
    invitation: Invitation,
) -> Result<User, ServiceError> {
    admin.require(&[Role::Admin])?;
    let notifier = state.notifier.clone();
    let admin_id = admin.id.clone();
    let now = state.clock.now();
    state
        .db
        .transaction(move |conn| {
            if users::find_by_email(conn, invitation.email.as_str())?.is_some() {
                return Err(ServiceError::conflict(
                    "Un compte existe déjà avec cette adresse électronique : changez son rôle \
                     (PATCH /api/v1/users/{id}) plutôt que de l'inviter.",
                ));
            }
            let inviter = users::find(conn, admin_id.as_str())?
                .ok_or_else(|| ServiceError::not_found("Ce compte n'existe pas."))?;
            let id = Uuid::now_v7().to_string();
            users::insert(
                conn,
                &NewUser {
                    id: &id,
                    email: invitation.email.as_str(),
                    password_hash: NO_PASSWORD,
                    full_name: &invitation.full_name,
                    role: invitation.role.as_str(),
                    created_at: now,
                    email_verified_at: None,
                    commune_insee: invitation.commune_insee.as_deref(),
                },
            )?;
            let row = users::find(conn, &id)?.ok_or_else(|| ServiceError::not_found("compte"))?;
            let token = issue_link(conn, &id, LinkPurpose::Invitation, now)?;
            notifier.queue_account(
                conn,
                &AccountMail::Invitation {
                    to: recipient(&row)?,
                    token,
                    invited_by: inviter.full_name.clone(),
                },
            )?;
            record_audit(
                conn,
                &Origin {
                    actor_id: admin_id.to_string(),
                    client_ip: ip,
                },
                &id,
                AccountAudit::Invited,
                (None, Some(AccountState::Invited)),
                serde_json::json!({"role": invitation.role.as_str(),
                                   "commune_insee": invitation.commune_insee}),
                now,
            )?;
            row.try_into()
        })
        .await
}

/// `PATCH /users/{id} {role?, active?}` (admin).
#[derive(Debug, Clone, Default)]
pub struct AccountUpdate {
    pub role: Option<Role>,
    pub active: Option<bool>,
}

fn account_not_found() -> ServiceError {
    ServiceError::not_found("Ce compte n'existe pas.")
}

/// An account's id as a face received it: a malformed one is « not found », like an unknown one.
pub fn user_id(text: &str) -> Result<UserId, ServiceError> {
    UserId::parse(text).ok_or_else(account_not_found)
}

pub async fn update(
    state: &AppState,
    ip: IpAddr,
    admin: &Actor,
    id: UserId,
    update: AccountUpdate,
) -> Result<User, ServiceError> {
    admin.require(&[Role::Admin])?;
    if update.role.is_none() && update.active.is_none() {
        let mut errors = FieldErrors::new();
        push(
            &mut errors,
            "role",
            "indiquez « role », « active », ou les deux",
        );
        return Err(ServiceError::invalid(errors));
    }
    if id == admin.id {
        return Err(ServiceError::conflict(
            "Vous ne pouvez ni désactiver votre propre compte ni changer votre propre rôle : \
             demandez-le à un autre administrateur.",
        ));
    }
    let admin_id = admin.id.to_string();
    let now = state.clock.now();
    state
        .db
        .transaction(move |conn| {
            let origin = Origin {
                actor_id: admin_id,
                client_ip: ip,
            };
            let mut row = users::find(conn, id.as_str())?.ok_or_else(account_not_found)?;
            if row.erased_at.is_some() {
                return Err(ServiceError::conflict(
                    "Ce compte a été supprimé à la demande de son titulaire : il ne peut plus \
                     être réactivé ni changer de rôle.",
                ));
            }
            // A commune account is bound to its commune from its invitation: no other account
            // becomes one, and it becomes no other (its commune would be left behind).
            if let Some(role) = update.role.filter(|r| *r != row.role)
                && (role == Role::Commune || row.role == Role::Commune)
            {
                let mut errors = FieldErrors::new();
                push(
                    &mut errors,
                    "role",
                    "un compte de commune s'invite avec sa commune et ne change pas de rôle : \
                     invitez l'agent de la commune (role « commune » et commune_insee)",
                );
                return Err(ServiceError::invalid(errors));
            }
            let reload = |conn: &mut DbConnection, id: &str| {
                users::find(conn, id)?
                    .ok_or_else(|| ServiceError::not_found("Ce compte n'existe pas."))
            };
            // Reactivate first, so that a role can be changed in the same request.
            if update.active == Some(true) && !row.active {
                apply_event(
                    conn,
                    &row,
                    AccountEvent::Reactivate,
                    AccountChange {
                        active: Some(true),
                        ..Default::default()
                    },
                    &origin,
                    serde_json::json!({}),
                    now,
                )?;
                row = reload(conn, id.as_str())?;
            }
            if let Some(role) = update.role.filter(|r| *r != row.role) {
                apply_event(
                    conn,
                    &row,
                    AccountEvent::ChangeRole,
                    AccountChange {
                        role: Some(role.as_str()),
                        ..Default::default()
                    },
                    &origin,
                    serde_json::json!({"from_role": row.role.as_str(), "to_role": role.as_str()}),
                    now,
                )?;
                row = reload(conn, id.as_str())?;
            }
            if update.active == Some(false) && row.active {
                apply_event(
                    conn,
                    &row,
                    AccountEvent::Deactivate,
                    AccountChange {
                        active: Some(false),
                        ..Default::default()
                    },
                    &origin,
                    serde_json::json!({}),
                    now,
                )?;
                row = reload(conn, id.as_str())?;
            }
            row.try_into()
        })
        .await
}

pub async fn get(state: &AppState, id: UserId) -> Result<User, ServiceError> {
    state
        .db
        .run(move |conn| {
            users::find(conn, id.as_str())?
                .ok_or_else(|| ServiceError::not_found("Ce compte n'existe pas."))?
                .try_into()
        })
        .await
}

/// Admins list every account; staff list the accounts of the team (reviewers to assign,
/// colleagues), never the applicants', whom they see only through their applications.
pub async fn list(
    state: &AppState,
    caller: &Actor,
    role: Option<Role>,
    position: impl Into<Position>,
) -> Result<Page<User>, ServiceError> {
    caller.require(&[Role::Admin, Role::Staff])?;
    let (sort, kind) = users::LIST_SORT;
    let window = position.into().window(sort, kind)?;
    let hide = (caller.role != Role::Admin).then_some(Role::Applicant.as_str());
    if hide.is_some() && role == Some(Role::Applicant) {
        return Err(ServiceError::Forbidden(
            "Seuls les administrateurs listent les comptes des porteurs de projet : les agents \
             les voient à travers leurs candidatures."
                .into(),
        ));
    }
    state
        .db
        .run(move |conn| {
            let (paged, total) = users::list(conn, role.map(Role::as_str), hide, &window)?;
            Page::from_paged(paged, total, window.per_page(), User::try_from)
        })
        .await
}

/// A first sign-in with ProConnect (DESIGN.md §17), inside its transaction: a pending
/// invitation is claimed (the address is proven by the agent's identity provider; no
/// password is set, the account signs in with ProConnect), an existing account is only
/// linked. Audited either way.
pub(crate) fn linked_with_proconnect(
    conn: &mut DbConnection,
    row: &UserRow,
    client_ip: IpAddr,
    extra: serde_json::Value,
    now: NaiveDateTime,
) -> Result<(), ServiceError> {
    let origin = Origin {
        actor_id: row.id.clone(),
        client_ip,
    };
    if account_state(row) == AccountState::Invited {
        apply_event(
            conn,
            row,
            AccountEvent::AcceptInvitation,
            AccountChange {
                password_hash: Some(crate::db::users::PROCONNECT_ONLY),
                email_verified_at: Some(now),
                ..Default::default()
            },
            &origin,
            extra,
            now,
        )?;
        account_tokens::revoke_pending(conn, &row.id, LinkPurpose::Invitation.as_str(), now)?;
    } else {
        record_audit(
            conn,
            &origin,
            &row.id,
            AccountAudit::ProconnectLinked,
            (Some(account_state(row)), Some(account_state(row))),
            extra,
            now,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_tokens_are_256_random_bits_stored_hashed() {
        let a = new_link_token();
        let b = new_link_token();
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
        assert_eq!(token_hash(&a), token_hash(&format!(" {a}\n")));
    }

    #[test]
    fn link_lifetimes() {
        assert_eq!(LinkPurpose::VerifyEmail.lifetime(), Duration::hours(24));
        assert_eq!(LinkPurpose::PasswordReset.lifetime(), Duration::hours(1));
        assert_eq!(LinkPurpose::Invitation.lifetime(), Duration::days(7));
    }
}

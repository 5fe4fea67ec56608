//! A commune recommends the call to a project holder (DESIGN.md §16, « détection »): the holder
//! is mailed the call's page with a code; an application started with that code carries the
//! commune (`applications.referred_by_commune`), and the territory's figures count both.

use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::DbConnection;
use crate::db::calls;
use crate::db::commune_opinions::{self as db, ReferralRow};
use crate::domain::account::{EmailAddress, Role};
use crate::domain::actor::Actor;
use crate::domain::call::CallState;
use crate::domain::ids::{CallId, ReferralId};
use crate::domain::referral::ReferralCode;
use crate::domain::territory::commune_name;
use crate::domain::text::{self, Lines};
use crate::error::{FieldErrors, ServiceError};
use crate::notify::referral::ReferralMail;
use crate::services::communes::commune_of;
use crate::state::AppState;

/// The body of `POST /commune/referrals`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferralInput {
    /// The structure (or the holder) recommended.
    #[schema(example = "Le Café des Parents")]
    pub organisation_name: String,
    /// Where to send the call's page and the code.
    #[schema(example = "contact@cafe-des-parents.fr")]
    pub email: String,
    /// A word from the commune, quoted in the mail (2 000 characters at most).
    #[serde(default)]
    #[schema(example = "Nous avons parlé de votre projet au forum des associations.")]
    pub message: String,
    /// The call recommended; absent: the open call that closes first.
    pub call_id: Option<String>,
}

/// A referral, as the commune reads it back.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Referral {
    pub id: String,
    /// The code the holder received.
    #[schema(example = "REC-7K3M9Q2X")]
    pub code: String,
    #[schema(example = "59512")]
    pub commune_insee: String,
    pub call_id: String,
    pub organisation_name: String,
    pub email: String,
    pub message: String,
    pub created_at: DateTime<Utc>,
}

impl From<ReferralRow> for Referral {
    fn from(r: ReferralRow) -> Self {
        Self {
            id: r.id,
            code: r.code,
            commune_insee: r.commune_insee,
            call_id: r.call_id,
            organisation_name: r.organisation_name,
            email: r.email,
            message: r.message,
            created_at: r.created_at.and_utc(),
        }
    }
}

const MAX_NAME: usize = 200;
/// The message's limit (the error says « 2 000 »).
const MAX_MESSAGE: usize = 2000;

/// The checked input: every field's problem at once.
fn check(input: &ReferralInput) -> Result<(String, EmailAddress, String), ServiceError> {
    let mut errors = FieldErrors::new();
    let mut err = |f: &str, m: String| errors.entry(f.to_owned()).or_default().push(m);
    if let Err(m) = text::required(&input.organisation_name, Lines::Single, MAX_NAME) {
        err("organisation_name", m);
    }
    let email = EmailAddress::parse(&input.email)
        .map_err(|m| err("email", m.to_owned()))
        .ok();
    if let Err(e) = text::check(&input.message, Lines::Multi) {
        err("message", e.to_string());
    } else if input.message.trim().chars().count() > MAX_MESSAGE {
        err("message", "2 000 caractères au plus".to_owned());
    }
    match email {
        Some(email) if errors.is_empty() => Ok((
            input.organisation_name.trim().to_owned(),
            email,
            input.message.trim().to_owned(),
        )),
        _ => Err(ServiceError::invalid(errors)),
    }
}

/// The call a referral recommends: the one named (published, not closed), or the open call
/// closing first.
fn call_of(
    conn: &mut DbConnection,
    call_id: Option<&str>,
    now: chrono::NaiveDateTime,
) -> Result<calls::CallRow, ServiceError> {
    let open = |c: &calls::CallRow| {
        c.state == CallState::Published && c.closes_at.is_none_or(|at| at > now)
    };
    match call_id {
        // Text that is no call's id names no call: the same refusal as an unknown one.
        Some(id) => CallId::parse(id)
            .map(|id| calls::find(conn, &id))
            .transpose()?
            .flatten()
            .filter(open)
            .ok_or_else(|| {
                ServiceError::invalid_field(
                    "call_id",
                    "cet appel à projets n'existe pas ou n'est pas ouvert aux candidatures",
                )
            }),
        None => calls::published(conn)?
            .into_iter()
            .find(open)
            .ok_or_else(|| {
                ServiceError::conflict(
                    "Aucun appel à projets n'est ouvert : la recommandation attendra le prochain.",
                )
            }),
    }
}

/// Records the referral and queues its mail to the holder, in one transaction.
pub async fn refer(
    state: &AppState,
    actor: &Actor,
    input: ReferralInput,
) -> Result<Referral, ServiceError> {
    actor.require(&[Role::Commune])?;
    let (organisation_name, email, message) = check(&input)?;
    let actor = actor.clone();
    let now = state.clock.now();
    let notifier = state.notifier.clone();
    // The thread's CSPRNG (ChaCha, seeded by the OS), as the sessions' tokens.
    let mut bytes = [0u8; 8];
    rand::rng().fill_bytes(&mut bytes);
    let code = ReferralCode::from_random(bytes);
    state
        .db
        .transaction(move |conn| {
            let commune = commune_of(conn, &actor)?;
            let call = call_of(conn, input.call_id.as_deref(), now)?;
            let row = ReferralRow {
                id: Uuid::now_v7().to_string(),
                code: code.as_str().to_owned(),
                commune_insee: commune.clone(),
                call_id: call.id.to_string(),
                organisation_name,
                email: email.as_str().to_owned(),
                message,
                author_id: actor.id.to_string(),
                created_at: now,
            };
            db::insert_referral(conn, &row)?;
            notifier.queue_referral(
                conn,
                &ReferralMail {
                    email: row.email.clone(),
                    organisation_name: row.organisation_name.clone(),
                    commune_name: commune_name(&commune).unwrap_or(&commune).to_owned(),
                    message: row.message.clone(),
                    call_id: call.id.to_string(),
                    call_title: call.title.clone(),
                    code: row.code.clone(),
                },
                now,
            )?;
            Ok(Referral::from(row))
        })
        .await
}

/// The commune's referrals, newest first.
pub async fn list(state: &AppState, actor: &Actor) -> Result<Vec<Referral>, ServiceError> {
    actor.require(&[Role::Commune])?;
    let actor = actor.clone();
    state
        .db
        .run(move |conn| {
            let commune = commune_of(conn, &actor)?;
            Ok(db::referrals_of(conn, &commune)?
                .into_iter()
                .map(Referral::from)
                .collect())
        })
        .await
}

/// One of the commune's referrals; another commune's is the same 404 as an unknown id.
pub async fn get(
    state: &AppState,
    actor: &Actor,
    id: ReferralId,
) -> Result<Referral, ServiceError> {
    actor.require(&[Role::Commune])?;
    let actor = actor.clone();
    state
        .db
        .run(move |conn| {
            let commune = commune_of(conn, &actor)?;
            db::referral_of(conn, &commune, id.as_str())?
                .map(Referral::from)
                .ok_or_else(not_found)
        })
        .await
}

/// The name of the commune whose referral `code` is, for an application to `call_id` (the
/// pages check a code when the holder arrives with it).
pub async fn check_code(
    state: &AppState,
    code: String,
    call_id: CallId,
) -> Result<String, ServiceError> {
    state
        .db
        .run(move |conn| {
            let insee = crate::services::applications::referring_commune(conn, &code, &call_id)?;
            Ok(commune_name(&insee).unwrap_or(&insee).to_owned())
        })
        .await
}

fn not_found() -> ServiceError {
    ServiceError::not_found("Cette recommandation n'existe pas.")
}

/// A referral's id as a face received it: a malformed one is « not found », like another
/// commune's.
pub fn id(text: &str) -> Result<ReferralId, ServiceError> {
    ReferralId::parse(text).ok_or_else(not_found)
}

//! Signing in with ProConnect (DESIGN.md §17). `begin` keeps the sign-in's `state` and
//! `nonce` server-side, bound to the browser by the hash of a random cookie, and returns the
//! provider's address; `finish` takes them back once (ten minutes at most), has the gateway
//! check the code, the ID token and the signed userinfo, then finds the account: the one
//! linked to (`sub`, `idp_id`), or — at a first sign-in — the account of the same address
//! (case-insensitive), whose pending invitation is claimed. Roles stay essor's: ProConnect
//! only says who signs in. Staff come from the configured SIRENs, a commune's agents from
//! their commune's; an unknown address gets no account.

use chrono::Duration;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::db::proconnect::{self as db, FlowRow};
use crate::db::users::{self, UserRow};
use crate::domain::account::Role;
use crate::error::ServiceError;
use crate::gateways::proconnect::{Identity, ProConnectError};
use crate::state::AppState;

/// How long a sign-in may take at the provider.
pub const FLOW_MINUTES: i64 = 10;

/// Why a sign-in with ProConnect is refused, in words for the person (the page says whom to
/// ask) and a status for the page.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("La connexion avec ProConnect n'est pas proposée sur ce service.")]
    NotConfigured,
    #[error(
        "Cette connexion n'a pas été demandée depuis ce navigateur, ou a déjà servi : recommencez depuis la page de connexion."
    )]
    Forged,
    #[error(
        "La connexion a pris plus de {FLOW_MINUTES} minutes : recommencez depuis la page de connexion."
    )]
    Expired,
    #[error(
        "ProConnect a interrompu la connexion ({0}) : recommencez depuis la page de connexion."
    )]
    Provider(String),
    #[error(
        "La réponse de ProConnect n'a pas pu être vérifiée : aucune session n'a été ouverte. Recommencez ; si cela se reproduit, prévenez l'équipe ESS de la Métropole."
    )]
    Invalid,
    #[error(
        "ProConnect est injoignable pour l'instant : réessayez dans quelques minutes, ou connectez-vous avec votre mot de passe."
    )]
    Unreachable,
    #[error(
        "Aucun compte essor n'est ouvert pour l'adresse {email}. Les comptes des agents, des évaluateurs et des communes sont ouverts par l'équipe ESS de la Métropole européenne de Lille{contact} : demandez-lui une invitation à cette adresse, puis reconnectez-vous avec ProConnect."
    )]
    UnknownAccount { email: String, contact: String },
    #[error(
        "Votre compte essor est réservé aux agents de {expected} ; ProConnect vous identifie pour un autre organisme (SIRET {siret}). Connectez-vous avec votre identité professionnelle de {expected}, ou demandez à l'équipe ESS de la Métropole de vérifier votre compte."
    )]
    WrongOrganisation { expected: String, siret: String },
    #[error(
        "Les porteurs de projet se connectent avec leur adresse et leur mot de passe essor : ProConnect est réservé aux agents publics."
    )]
    NotForApplicants,
    #[error("Ce compte a été désactivé : adressez-vous à l'équipe ESS de la Métropole.")]
    Deactivated,
    #[error(
        "Pour enregistrer une décision ou un paiement, ProConnect doit vous identifier au niveau « {wanted} » ; il l'a fait au niveau « {got} ». Reconnectez-vous avec un moyen d'authentification plus fort (double facteur)."
    )]
    AcrTooLow { wanted: String, got: String },
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl Refusal {
    /// The page's status.
    pub fn status(&self) -> u16 {
        match self {
            Self::NotConfigured => 404,
            Self::Forged | Self::Expired | Self::Provider(_) | Self::Invalid => 400,
            Self::Unreachable => 502,
            Self::UnknownAccount { .. }
            | Self::WrongOrganisation { .. }
            | Self::NotForApplicants
            | Self::Deactivated
            | Self::AcrTooLow { .. } => 403,
            Self::Service(_) => 500,
        }
    }
}

impl From<diesel::result::Error> for Refusal {
    fn from(e: diesel::result::Error) -> Self {
        Self::Service(e.into())
    }
}

/// A sign-in started: where to send the browser, and the cookie that binds it.
pub struct Started {
    pub url: url::Url,
    pub browser_token: String,
}

/// 256 random bits, hexadecimal: the browser's side of a sign-in under way.
fn random_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    crate::domain::audit_chain::to_hex(&bytes)
}

/// Compares two digests in time independent of where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn digest(token: &str) -> String {
    crate::domain::audit_chain::to_hex(&Sha256::digest(token.as_bytes()))
}

/// 32 random bytes, base64url: 43 characters (ProConnect wants `state` and `nonce` of at
/// least 32; the crate's default 16 bytes would give 22).
fn random_secret() -> String {
    openidconnect::CsrfToken::new_random_len(32).into_secret()
}

/// The level a sign-in asks: the configured one, or `decision_acr` when a decision needs it.
pub fn level(state: &AppState, for_decision: bool) -> String {
    let p = &state.settings.auth.proconnect;
    match (&p.decision_acr, for_decision) {
        (Some(level), true) => level.clone(),
        _ => p.acr.clone(),
    }
}

pub async fn begin(
    state: &AppState,
    return_to: Option<String>,
    for_decision: bool,
) -> Result<Started, Refusal> {
    let gateway = state.proconnect.clone().ok_or(Refusal::NotConfigured)?;
    let acr = level(state, for_decision);
    let flow_state = random_secret();
    let nonce = random_secret();
    let browser_token = random_token();
    let now = state.clock.now();
    let row = FlowRow {
        state: flow_state.clone(),
        browser_hash: digest(&browser_token),
        nonce: nonce.clone(),
        acr: acr.clone(),
        return_to,
        created_at: now,
    };
    // The provider's address first: a provider out of reach leaves nothing behind.
    let url = gateway
        .authorize_url(&flow_state, &nonce, &acr)
        .await
        .map_err(gateway_refusal)?;
    state
        .db
        .run(move |conn| {
            db::purge_flows(conn, now - Duration::minutes(FLOW_MINUTES))?;
            db::insert_flow(conn, &row)?;
            Ok(())
        })
        .await?;
    Ok(Started { url, browser_token })
}

fn gateway_refusal(e: ProConnectError) -> Refusal {
    match e {
        ProConnectError::Unreachable(why) => {
            tracing::warn!(error = %why, "ProConnect unreachable");
            Refusal::Unreachable
        }
        ProConnectError::Invalid(why) => {
            tracing::warn!(error = %why, "ProConnect answer refused");
            Refusal::Invalid
        }
    }
}

/// What the provider's redirect brought back.
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
}

/// Who signed in, for the web face to open the session.
#[derive(Debug)]
pub struct SignedIn {
    pub user_id: crate::domain::ids::UserId,
    pub generation: i32,
    pub role: Role,
    pub return_to: Option<String>,
    /// Kept in the session: the ID token (for sign-out) and the level it was given at.
    pub id_token: String,
    pub acr: Option<String>,
}

pub async fn finish(
    state: &AppState,
    client_ip: std::net::IpAddr,
    browser_token: Option<String>,
    callback: Callback,
) -> Result<SignedIn, Refusal> {
    let gateway = state.proconnect.clone().ok_or(Refusal::NotConfigured)?;
    let Some(returned) = callback.state else {
        return Err(Refusal::Forged);
    };
    let now = state.clock.now();
    let flow = state
        .db
        .transaction(move |conn| Ok(db::take_flow(conn, &returned)?))
        .await?
        .ok_or(Refusal::Forged)?;
    let bound = browser_token
        .as_deref()
        .is_some_and(|t| same_secret(&digest(t), &flow.browser_hash));
    if !bound {
        return Err(Refusal::Forged);
    }
    if now - flow.created_at > Duration::minutes(FLOW_MINUTES) {
        return Err(Refusal::Expired);
    }
    if let Some(error) = callback.error {
        return Err(Refusal::Provider(error.chars().take(80).collect()));
    }
    let code = callback.code.ok_or(Refusal::Invalid)?;
    let identity = gateway
        .identify(&code, &flow.nonce)
        .await
        .map_err(gateway_refusal)?;
    let wanted_decision = state.settings.auth.proconnect.decision_acr.as_deref() == Some(&flow.acr)
        && flow.acr != state.settings.auth.proconnect.acr;
    if wanted_decision && identity.acr.as_deref() != Some(flow.acr.as_str()) {
        return Err(Refusal::AcrTooLow {
            wanted: flow.acr.clone(),
            got: identity.acr.clone().unwrap_or_else(|| "aucun".into()),
        });
    }
    let settings = state.settings.clone();
    let identity_for_tx = identity.clone();
    // A refusal is decided before anything is written: it leaves the transaction as its
    // inner error, and the (empty) transaction commits.
    let (row, generation) = state
        .db
        .transaction(move |conn| link_account(conn, &settings, &identity_for_tx, client_ip, now))
        .await??;
    let role = row.role;
    Ok(SignedIn {
        user_id: crate::domain::ids::UserId::from_stored(row.id),
        generation,
        role,
        return_to: flow.return_to,
        id_token: identity.id_token,
        acr: identity.acr,
    })
}

/// « (adresse, adresse) » of the ESS team when configured.
fn contact(settings: &crate::config::Settings) -> String {
    let addresses = settings.mail.staff_address_list();
    if addresses.is_empty() {
        String::new()
    } else {
        format!(" ({})", addresses.join(", "))
    }
}

/// Inside the sign-in's transaction: the linked account, or the account of the same address
/// linked now (its invitation claimed); refused when its role may not come from this
/// organisation. Returns the account and its generation.
fn link_account(
    conn: &mut crate::db::DbConnection,
    settings: &crate::config::Settings,
    identity: &Identity,
    client_ip: std::net::IpAddr,
    now: chrono::NaiveDateTime,
) -> Result<Result<(UserRow, i32), Refusal>, ServiceError> {
    match link_checked(conn, settings, identity, client_ip, now) {
        Ok(done) => Ok(Ok(done)),
        Err(Refusal::Service(e)) => Err(e),
        Err(refusal) => Ok(Err(refusal)),
    }
}

fn link_checked(
    conn: &mut crate::db::DbConnection,
    settings: &crate::config::Settings,
    identity: &Identity,
    client_ip: std::net::IpAddr,
    now: chrono::NaiveDateTime,
) -> Result<(UserRow, i32), Refusal> {
    let linked = db::linked_user(conn, &identity.sub, &identity.idp_id)?;
    let row = match &linked {
        Some(id) => users::find(conn, id)?,
        None => users::find_by_email(conn, &identity.email.trim().to_lowercase())?,
    };
    let Some(row) = row.filter(|r| r.erased_at.is_none()) else {
        return Err(Refusal::UnknownAccount {
            email: identity.email.clone(),
            contact: contact(settings),
        });
    };
    if !row.active {
        return Err(Refusal::Deactivated);
    }
    let role = row.role;
    check_organisation(settings, &row, role, identity)?;
    if linked.is_none() {
        db::link(
            conn,
            &identity.sub,
            &identity.idp_id,
            &row.id,
            &identity.email,
            identity.siret.as_deref(),
            now,
        )?;
        crate::services::accounts::linked_with_proconnect(
            conn,
            &row,
            client_ip,
            json!({"idp_id": identity.idp_id, "siret": identity.siret}),
            now,
        )?;
    } else {
        db::touch(
            conn,
            &identity.sub,
            &identity.idp_id,
            &identity.email,
            identity.siret.as_deref(),
            now,
        )?;
    }
    let row = users::find(conn, &row.id)?
        .ok_or_else(|| ServiceError::not_found("Ce compte n'existe pas."))?;
    let generation = row.generation;
    Ok((row, generation))
}

/// The domain's rule of who signs in from where, said with the names a person knows.
fn check_organisation(
    settings: &crate::config::Settings,
    row: &UserRow,
    role: Role,
    identity: &Identity,
) -> Result<(), Refusal> {
    use crate::domain::proconnect::{OriginRefusal, may_sign_in};
    let p = &settings.auth.proconnect;
    let refuse = |expected: String| Refusal::WrongOrganisation {
        expected,
        siret: identity.siret.clone().unwrap_or_else(|| "inconnu".into()),
    };
    may_sign_in(
        role,
        identity.siret.as_deref(),
        &p.staff_sirens,
        p.applicants,
        row.commune_insee.as_deref(),
    )
    .map_err(|why| match why {
        OriginRefusal::NotForApplicants => Refusal::NotForApplicants,
        OriginRefusal::NotStaffSiren => refuse(settings.authority.name.clone()),
        OriginRefusal::NotCommuneSiren {
            commune: Some(name),
        } => refuse(format!("la commune de {name}")),
        OriginRefusal::NotCommuneSiren { commune: None } => refuse("votre commune".into()),
    })
}

/// Where sign-out sends the browser after essor's own session is ended: the provider's
/// end-session endpoint with the ID token, back to `/connexion/proconnect/deconnecte`.
pub async fn sign_out_url(state: &AppState, id_token: &str) -> Option<url::Url> {
    let gateway = state.proconnect.clone()?;
    let after = format!(
        "{}/connexion/proconnect/deconnecte",
        state.settings.frontend.base_url.trim_end_matches('/')
    );
    match gateway
        .end_session_url(id_token, &after, &random_secret())
        .await
    {
        Ok(url) => url,
        Err(e) => {
            tracing::warn!(error = %e, "ProConnect sign-out skipped");
            None
        }
    }
}

//! The companies' register as essor uses it (DESIGN.md §17): a lookup by SIRET for the people
//! filling step 1, the evidence kept at submission, and the daily retry of the evidence the
//! register could not give. Answers are reused for `registry.cache_seconds` through the
//! database, so every instance shares them. The network is never called inside a
//! transaction: the evidence is fetched first, then written with the submission.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::db::applications as rows;
use crate::db::registry::{self as db, EvidenceRow};
use crate::domain::actor::Actor;
use crate::domain::application::Organisation;
use crate::domain::identifiers::Siret;
use crate::domain::ids::ApplicationId;
use crate::domain::registry::{
    AnswerError, EvidenceStatus, Flag, Lookup, RegistryRecord, read_kept, read_search_answer,
};
use crate::error::ServiceError;
use crate::gateways::registry::{Registry, RegistryError};
use crate::services::applications::{not_found, visibility};
use crate::state::AppState;

/// How often each instance retries the evidence the register could not give.
pub const RETRY_EVERY: StdDuration = StdDuration::from_secs(24 * 3600);

/// At most this many retried per pass: the register allows a few requests a second.
const RETRY_LIMIT: i64 = 500;

/// A service without the register has no such route (as a page it does not show).
fn not_configured() -> ServiceError {
    ServiceError::NotFound(
        "La vérification au registre des entreprises n'est pas activée sur ce service : saisissez les informations de la structure."
            .into(),
    )
}

/// Why the register's answer could not be had.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Answer(#[from] AnswerError),
}

/// The register's answer for `siret`: the cached one while fresh, else the register's (kept
/// only when it can be read).
async fn answer_of(
    state: &AppState,
    registry: &dyn Registry,
    siret: &Siret,
) -> Result<Result<(String, Lookup), Failure>, ServiceError> {
    let now = state.clock.now();
    let fresh_since = now - chrono::Duration::seconds(state.settings.registry.cache_seconds);
    let key = siret.as_str().to_owned();
    if let Some((text, _)) = state
        .db
        .run(move |conn| Ok(db::cached(conn, &key, fresh_since)?))
        .await?
        && let Ok(lookup) = read_search_answer(siret, &text)
    {
        return Ok(Ok((text, lookup)));
    }
    let text = match registry.search(siret).await {
        Ok(text) => text,
        Err(e) => return Ok(Err(e.into())),
    };
    let lookup = match read_search_answer(siret, &text) {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "registry answer unreadable");
            return Ok(Err(e.into()));
        }
    };
    let key = siret.as_str().to_owned();
    let kept = text.clone();
    state
        .db
        .run(move |conn| Ok(db::remember(conn, &key, &kept, now)?))
        .await?;
    Ok(Ok((text, lookup)))
}

/// `GET /organisations/{siret}`: what the register says of a SIRET, for anyone signed in (the
/// register is public; essor only saves them a trip).
pub async fn lookup(state: &AppState, siret: &str) -> Result<RegistryRecord, ServiceError> {
    let siret =
        Siret::parse(siret).map_err(|e| ServiceError::invalid_field("siret", e.to_string()))?;
    let registry = state.registry.clone().ok_or_else(not_configured)?;
    match answer_of(state, registry.as_ref(), &siret).await? {
        Ok((_, Lookup::Found(record))) => Ok(record),
        Ok((_, Lookup::NotFound)) => Err(ServiceError::not_found(format!(
            "Aucun établissement ne porte le SIRET {} au registre des entreprises : vérifiez le numéro.",
            siret.as_str()
        ))),
        Err(e) => Err(ServiceError::Upstream(format!(
            "Vérification impossible pour l'instant : {e}. Saisissez les informations de la structure ; elles seront vérifiées plus tard."
        ))),
    }
}

fn evidence_row(
    application_id: &str,
    siret: &Siret,
    source: String,
    got: Result<(String, Lookup), Failure>,
    at: DateTime<Utc>,
) -> EvidenceRow {
    let (status, answer, error) = match got {
        Ok((text, Lookup::Found(_))) => (EvidenceStatus::Found, Some(text), None),
        Ok((text, Lookup::NotFound)) => (EvidenceStatus::NotFound, Some(text), None),
        Err(e) => (EvidenceStatus::Unavailable, None, Some(e.to_string())),
    };
    let answer_sha256 = answer
        .as_deref()
        .map(|t| crate::domain::audit_chain::to_hex(&Sha256::digest(t.as_bytes())));
    EvidenceRow {
        application_id: application_id.to_owned(),
        siret: siret.as_str().to_owned(),
        source,
        status: status.as_str().to_owned(),
        retrieved_at: at.naive_utc(),
        answer,
        answer_sha256,
        error,
    }
}

/// The SIRET the register is asked about: the structure's own, or its host's.
fn siret_of(organisation: &Organisation) -> Option<Siret> {
    organisation
        .paying_siret()
        .and_then(|s| Siret::parse(s).ok())
}

/// Fetched before a submission's transaction (never holding it open across the network):
/// the evidence to write with it, `None` when the register is off or the application gives
/// no SIRET (a structure in creation, an association with its RNA alone).
pub async fn evidence_for_submission(
    state: &AppState,
    user: &Actor,
    application_id: &ApplicationId,
) -> Result<Option<EvidenceRow>, ServiceError> {
    let Some(registry) = state.registry.clone() else {
        return Ok(None);
    };
    let id = application_id.to_owned();
    let seen = visibility(user);
    let row = state
        .db
        .run(move |conn| Ok(rows::find_visible(conn, &id, &seen)?))
        .await?;
    // An application the caller cannot see is refused by the submission itself.
    let Some(row) = row else { return Ok(None) };
    let Some(siret) = siret_of(&row.parsed_body()?.organisation) else {
        return Ok(None);
    };
    let got = answer_of(state, registry.as_ref(), &siret).await?;
    Ok(Some(evidence_row(
        application_id.as_str(),
        &siret,
        registry.source(),
        got,
        state.clock.now_utc(),
    )))
}

/// Asks the register again for the evidence it could not give; returns how many were
/// completed. Each is written on its own: a failure leaves the others done.
pub async fn retry_unavailable(state: &AppState) -> Result<usize, ServiceError> {
    let Some(registry) = state.registry.clone() else {
        return Ok(0);
    };
    let missing = state
        .db
        .run(|conn| Ok(db::unavailable(conn, RETRY_LIMIT)?))
        .await?;
    let mut done = 0;
    for old in missing {
        let Ok(siret) = Siret::parse(&old.siret) else {
            continue;
        };
        let got = answer_of(state, registry.as_ref(), &siret).await?;
        if got.is_err() {
            continue;
        }
        let row = evidence_row(
            &old.application_id,
            &siret,
            registry.source(),
            got,
            state.clock.now_utc(),
        );
        state
            .db
            .transaction(move |conn| {
                // Written only if the application still has the evidence it had (a
                // resubmission meanwhile wrote its own).
                if db::evidence_of(conn, &row.application_id)?.as_ref() == Some(&old) {
                    db::put_evidence(conn, &row)?;
                }
                Ok(())
            })
            .await?;
        done += 1;
    }
    Ok(done)
}

/// Every instance retries once a day; a failed pass is logged and the next one tries again.
pub async fn retry_forever(state: AppState) {
    let mut tick = tokio::time::interval(RETRY_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match retry_unavailable(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(completed = n, "registry evidence completed"),
            Err(e) => tracing::warn!(error = %e, "registry evidence retry failed"),
        }
    }
}

/// A flag with its French words.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FlagView {
    pub code: Flag,
    #[schema(example = "siège hors de la Métropole européenne de Lille")]
    pub label: String,
}

/// The evidence kept at submission, as staff read it (`GET /applications/{id}/registry-evidence`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EvidenceView {
    pub status: EvidenceStatus,
    #[schema(example = "relevé au registre")]
    pub status_label: String,
    #[schema(example = "73282932000074")]
    pub siret: String,
    /// Where the answer came from.
    #[schema(example = "https://recherche-entreprises.api.gouv.fr/search")]
    pub source: String,
    pub retrieved_at: DateTime<Utc>,
    /// SHA-256 of the register's answer as kept, hex.
    pub answer_sha256: Option<String>,
    /// What the register said, read; absent when it could not be read or knows no such SIRET.
    pub record: Option<RegistryRecord>,
    /// What an agent should look at; information, never an automatic refusal.
    pub flags: Vec<FlagView>,
    /// Why the register could not be read.
    pub error: Option<String>,
}

/// Reads a kept evidence against the application's organisation.
pub fn view_of(row: &EvidenceRow, organisation: &Organisation) -> EvidenceView {
    let status = row.status();
    let (lookup, flags) = read_kept(
        &row.siret,
        row.answer.as_deref(),
        Some(organisation.legal_form),
    );
    let flags = flags
        .into_iter()
        .map(|f| FlagView {
            code: f,
            label: f.label_fr().to_owned(),
        })
        .collect();
    EvidenceView {
        status,
        status_label: status.label_fr().to_owned(),
        siret: row.siret.clone(),
        source: row.source.clone(),
        retrieved_at: row.retrieved_at.and_utc(),
        answer_sha256: row.answer_sha256.clone(),
        record: match lookup {
            Some(Lookup::Found(r)) => Some(r),
            _ => None,
        },
        flags,
        error: row.error.clone(),
    }
}

/// The evidence kept for an application, for staff; « not found » for anyone else, and when
/// none was kept (the register off at submission, no SIRET, not submitted yet).
pub async fn evidence(
    state: &AppState,
    user: &Actor,
    application_id: ApplicationId,
) -> Result<Option<EvidenceView>, ServiceError> {
    if !user.role.is_staff() {
        return Err(not_found());
    }
    state
        .db
        .run(move |conn| {
            let Some(app) = rows::find_visible(conn, &application_id, &rows::Visibility::All)?
            else {
                return Err(not_found());
            };
            let Some(row) = db::evidence_of(conn, application_id.as_str())? else {
                return Ok(None);
            };
            Ok(Some(view_of(&row, &app.parsed_body()?.organisation)))
        })
        .await
}

//! Publication of a call's SCDL « subventions » file on data.gouv.fr (DESIGN.md §17): the file
//! the exports page downloads, uploaded as the configured dataset's resource and audited with
//! its SHA-256. A dry run says what would be sent and sends nothing. data.gouv.fr refusing or
//! down: a French error and nothing recorded as published.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::domain::actor::Actor;
use crate::domain::audit_action::CallEvent;
use crate::domain::ids::CallId;
use crate::error::ServiceError;
use crate::export::{ExportContext, ExportQuery, write_export};
use crate::state::AppState;

/// Body of `POST /calls/{id}/open-data`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishInput {
    /// Say what would be sent, send nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// What was sent (or, in a dry run, would be).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Publication {
    pub dry_run: bool,
    #[schema(example = "scdl-subventions-entreprendre-autrement-2027.csv")]
    pub file_name: String,
    /// The file's size in bytes.
    pub bytes: usize,
    /// Lines of awards in the file (its header not counted).
    pub lines: usize,
    /// SHA-256 of the file, hex: the audit event records the same.
    pub sha256: String,
    /// The dataset and resource written to.
    #[schema(example = "dataset 5f3c… / resource 8a1b…")]
    pub target: String,
    /// The resource's public address, as data.gouv.fr gave it.
    pub url: Option<String>,
    /// When it was published; absent in a dry run.
    pub published_at: Option<DateTime<Utc>>,
}

/// A service without data.gouv.fr has no such route (the exports page shows no button).
fn not_configured() -> ServiceError {
    ServiceError::NotFound(
        "La publication sur data.gouv.fr n'est pas configurée sur ce service (APP__OPEN_DATA__API_URL, …__API_KEY, …__DATASET_ID, …__RESOURCE_ID)."
            .into(),
    )
}

/// The call's SCDL file, whole, as `GET /calls/{id}/export?format=scdl` writes it: (call id,
/// file name, bytes).
async fn scdl_file(
    state: &AppState,
    call_id: CallId,
) -> Result<(CallId, String, Vec<u8>), ServiceError> {
    let params = ExportQuery::from_query_string("format=scdl")?.parse()?;
    let call = crate::services::calls::for_export(state, call_id).await?;
    let file_name = params.file_name(&call.title);
    let ctx = ExportContext::new(
        &call,
        params,
        state.settings.authority.clone(),
        state.settings.data_dir.join("tmp"),
    );
    let db = state.db.clone();
    let bytes = actix_web::web::block(move || {
        let mut out = Vec::new();
        write_export(&db, &ctx, &mut out).map(|_| out)
    })
    .await
    .map_err(|e| ServiceError::Internal(anyhow::anyhow!("scdl file: {e}")))?
    .map_err(ServiceError::Internal)?;
    Ok((call.id, file_name, bytes))
}

/// Writes the call's SCDL file and sends it, unless `dry_run`.
pub async fn publish(
    state: &AppState,
    user: &Actor,
    call_id: CallId,
    input: PublishInput,
) -> Result<Publication, ServiceError> {
    user.require_staff()?;
    let gateway = state.open_data.clone().ok_or_else(not_configured)?;
    let (call_id, file_name, file) = scdl_file(state, call_id).await?;
    let sha256 = crate::domain::audit_chain::to_hex(&Sha256::digest(&file));
    let lines = file
        .split(|b| *b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .count()
        .saturating_sub(1);
    let mut publication = Publication {
        dry_run: input.dry_run,
        file_name: file_name.clone(),
        bytes: file.len(),
        lines,
        sha256,
        target: gateway.target(),
        url: None,
        published_at: None,
    };
    if input.dry_run {
        return Ok(publication);
    }
    let published = gateway.upload(file_name, file).await.map_err(|e| {
        ServiceError::Upstream(format!("Publication refusée, rien n'a été publié : {e}."))
    })?;
    let now = state.clock.now();
    publication.url = published.url;
    publication.published_at = Some(now.and_utc());
    let payload = json!({
        "file_name": publication.file_name,
        "bytes": publication.bytes,
        "lines": publication.lines,
        "sha256": publication.sha256,
        "target": publication.target,
        "url": publication.url,
    });
    let actor = user.id.clone();
    state
        .db
        .transaction(move |conn| {
            crate::services::calls::audit_call(
                conn,
                &call_id,
                &actor,
                CallEvent::OpenDataPublished,
                None,
                None,
                payload,
                now,
            )
        })
        .await?;
    Ok(publication)
}

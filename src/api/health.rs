//! Liveness and readiness probes for load balancers and orchestrators.

use std::time::Duration;

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{AppError, Problem};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the answer is 200.
    #[schema(example = "ok")]
    pub status: &'static str,
    /// `ok` when the database answered, on `/health/ready`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<&'static str>,
    /// On `/health/ready`: `configured` when mails to the agents have a recipient
    /// (`mail.staff_addresses`), `none` when that setting is empty and they go nowhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "configured")]
    pub staff_mail: Option<&'static str>,
    /// On `/health/ready`: what an operator should fix (in French), e.g. the missing staff
    /// addresses. Absent when there is nothing to say.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The process is up and serving HTTP.
#[utoipa::path(
    tag = "health",
    responses((status = 200, description = "The process is alive.", body = Health))
)]
#[get("/health/live")]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok",
        database: None,
        staff_mail: None,
        warnings: Vec::new(),
    })
}

/// The service can serve requests: its database answers.
#[utoipa::path(
    tag = "health",
    responses(
        (status = 200, description = "Ready: the database answered. The body also says whether mails to the agents have a recipient (`staff_mail`), with a French `warnings` line when they go nowhere.", body = Health,
         example = json!({"status": "ok", "database": "ok", "staff_mail": "none", "warnings": ["Aucune adresse d'agent configurée (APP__MAIL__STAFF_ADDRESSES est vide) : les courriels destinés aux agents (dépôt d'une candidature, récusation d'un évaluateur, évaluations complètes) ne partent vers personne."]})),
        (status = 503, description = "The database does not answer.", body = Problem,
         content_type = "application/problem+json"),
    )
)]
#[get("/health/ready")]
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let db = state.db.clone();
    web::block(move || db.ping_within(Duration::from_secs(2)))
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("blocking task failed: {e}")))??;
    let warning = state.settings.mail.staff_mail_warning();
    Ok(HttpResponse::Ok().json(Health {
        status: "ok",
        database: Some("ok"),
        staff_mail: Some(if warning.is_some() {
            "none"
        } else {
            "configured"
        }),
        warnings: warning.into_iter().collect(),
    }))
}

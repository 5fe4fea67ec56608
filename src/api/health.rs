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
    })
}

/// The service can serve requests: its database answers.
#[utoipa::path(
    tag = "health",
    responses(
        (status = 200, description = "Ready: the database answered.", body = Health),
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
    Ok(HttpResponse::Ok().json(Health {
        status: "ok",
        database: Some("ok"),
    }))
}

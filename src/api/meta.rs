//! The API's own description.

use actix_web::{HttpResponse, get, http::header, web};

/// The spec served at `/api/v1/openapi.json`, rendered once at start-up (by `startup.rs`,
/// from `crate::openapi::spec`: this module does not import it, so the document that mounts
/// the API is not imported back by the API).
pub struct SpecJson(pub String);

/// The OpenAPI 3.1 document of this API (the same as `openapi.yaml` in the repository).
#[utoipa::path(
    tag = "meta",
    responses((status = 200, description = "The OpenAPI document.", content_type = "application/json",
               body = Object))
)]
#[get("/openapi.json")]
pub async fn openapi_json(spec: web::Data<SpecJson>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .body(spec.0.clone())
}

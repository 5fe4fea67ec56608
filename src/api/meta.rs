//! The API's own description.

use actix_web::{HttpResponse, get, http::header, web};

use crate::openapi::SpecJson;

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

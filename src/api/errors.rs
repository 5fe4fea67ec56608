//! Turn actix's own refusals (unknown route, unreadable JSON, bad query string or path) into
//! problem+json answers with a French detail, instead of its plain-text bodies.

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::{HttpRequest, HttpResponse, ResponseError};

use crate::error::AppError;
use crate::input::translate_serde_message;

pub async fn not_found(req: HttpRequest) -> HttpResponse {
    AppError::not_found(format!(
        "Aucune ressource ne répond à {} {}.",
        req.method(),
        req.path()
    ))
    .error_response()
}

pub fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let app = match &err {
        JsonPayloadError::ContentType => AppError::UnsupportedMediaType(
            "Le corps de la requête doit être du JSON (Content-Type: application/json).".into(),
        ),
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => AppError::PayloadTooLarge(
            format!("Le corps JSON dépasse la taille autorisée ({limit} octets)."),
        ),
        JsonPayloadError::Deserialize(e) => json_deserialize_error(e),
        other => AppError::BadRequest(format!("Le corps de la requête est illisible : {other}.")),
    };
    actix_web::Error::from(app)
}

/// serde_json says where it stopped and why; a type error becomes a 422 on the field when
/// serde names it (`unknown variant`, `invalid type`, `missing field`), otherwise a 400.
fn json_deserialize_error(e: &serde_json::Error) -> AppError {
    use serde_json::error::Category;
    let position = format!("ligne {}, colonne {}", e.line(), e.column());
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => AppError::BadRequest(format!(
            "Le corps de la requête n'est pas un JSON valide ({position})."
        )),
        Category::Data => {
            let msg = e.to_string();
            let field = msg
                .split("missing field `")
                .nth(1)
                .and_then(|rest| rest.split('`').next())
                .map(str::to_owned)
                .unwrap_or_else(|| "corps".to_owned());
            AppError::invalid_field(field, translate_serde_message(&msg))
        }
    }
}

pub fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let detail = match &err {
        QueryPayloadError::Deserialize(e) => translate_serde_message(&e.to_string()),
        other => other.to_string(),
    };
    AppError::BadRequest(format!("Paramètres de requête invalides : {detail}.")).into()
}

pub fn path_error(err: PathError, _req: &HttpRequest) -> actix_web::Error {
    let detail = match &err {
        PathError::Deserialize(e) => translate_serde_message(&e.to_string()),
        other => other.to_string(),
    };
    // An id that cannot be one names no resource.
    AppError::not_found(format!(
        "Ressource introuvable : identifiant invalide ({detail})."
    ))
    .into()
}

//! Optimistic concurrency: responses carry `ETag: "<version>"`; `PATCH` needs `If-Match`.

use actix_web::HttpRequest;
use actix_web::http::header;

use crate::error::AppError;

pub fn etag(version: i32) -> (header::HeaderName, String) {
    (header::ETAG, format!("\"{version}\""))
}

/// A JSON answer carrying its resource's version as the `ETag`.
pub fn versioned<T: serde::Serialize>(
    status: actix_web::http::StatusCode,
    version: i32,
    body: &T,
) -> actix_web::HttpResponse {
    actix_web::HttpResponse::build(status)
        .insert_header(etag(version))
        .json(body)
}

/// What `If-Match` asks for: `None` when absent, `Some(None)` for `*`, `Some(Some(v))` for a
/// version. An unreadable value can match nothing: 412.
pub fn if_match(req: &HttpRequest) -> Result<Option<Option<i32>>, AppError> {
    let Some(raw) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let stale = || {
        AppError::PreconditionFailed(
            "En-tête If-Match illisible : renvoyez l'ETag reçu avec la ressource, par ex. \"3\"."
                .into(),
        )
    };
    let value = raw.to_str().map_err(|_| stale())?.trim();
    if value == "*" {
        return Ok(Some(None));
    }
    // `If-Match: 2`: the version without the quotes of an ETag. Said as such (400), rather
    // than answered as a version that matches nothing (412).
    if !value.is_empty() && value.chars().all(|c| c.is_ascii_digit()) {
        return Err(AppError::BadRequest(format!(
            "En-tête If-Match mal formé : un ETag s'écrit entre guillemets doubles. Envoyez \
             If-Match: \"{value}\" (la valeur de l'en-tête ETag reçue), pas If-Match: {value}."
        )));
    }
    let value = value.strip_prefix("W/").unwrap_or(value);
    let inner = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .ok_or_else(stale)?;
    inner
        .parse::<i32>()
        .map(|v| Some(Some(v)))
        .map_err(|_| stale())
}

/// `If-Match` is required (428 when missing), and it must name a version: `*` ("any version")
/// would let a client overwrite a change it never saw, which is what the header is there to
/// prevent.
pub fn require_if_match(req: &HttpRequest) -> Result<i32, AppError> {
    match if_match(req)? {
        Some(Some(version)) => Ok(version),
        Some(None) => Err(AppError::PreconditionRequired(
            "Modification refusée : « If-Match: * » ne désigne aucune version. Envoyez l'ETag de \
             la version que vous avez lue (par ex. If-Match: \"3\"), pour ne pas écraser une \
             modification faite entre-temps."
                .into(),
        )),
        None => Err(AppError::PreconditionRequired(
            "Modification refusée : envoyez l'en-tête If-Match avec l'ETag de la version que vous \
             avez lue, pour ne pas écraser une modification faite entre-temps."
                .into(),
        )),
    }
}

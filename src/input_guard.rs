//! The text rule ([`crate::domain::text`]) at the door: every string of a JSON or form body,
//! every query-string value and the path are checked before any handler runs. The invisible
//! characters pasted text brings (soft hyphen, zero-width space and joiners, BOM) are removed
//! from the body silently, and the cleaned body is what the handler reads; a control character
//! or a bidirectional control anywhere answers 422 naming the field, so no free-text field can
//! be forgotten, a field added later included, and both databases see the same input
//! (PostgreSQL refuses NUL in text; SQLite stored it).
//!
//! A page's body is read as a form whatever its Content-Type (a form sent as `text/plain`
//! skipped the rule: NUL stored on SQLite, 500 on PostgreSQL), except multipart uploads; its
//! values are decoded strictly as UTF-8 (`Ren%E9e` is refused, not stored as « Ren�e »), by
//! the same function the page forms use ([`crate::input::urlencoded`]). A refused page body is
//! not answered here: it is marked and handed on, so that the page can show its form again
//! with the message beside the field; every page handler refuses a marked body before it
//! reads it, unless it shows the form again.
//!
//! This is the floor: the multi-line rule (line feeds and tabs pass). Fields that hold one
//! line (names, titles, references) also refuse line breaks in their own validation.
//! Passwords are left alone: they are never displayed, and hashing takes any character.

use actix_web::HttpMessage;
use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web::{Bytes, BytesMut};
use futures_util::StreamExt;
use serde_json::Value;

use crate::domain::text::{Lines, accept, check};
use crate::error::{AppError, FieldErrors};
use crate::input::urlencoded;

/// Bodies above this are not buffered here: the JSON and form extractors refuse them anyway.
pub const MAX_CHECKED_BODY: usize = 1024 * 1024;

/// Field names whose values are never checked (see the module comment).
fn exempt(key: &str) -> bool {
    urlencoded::exempt(key)
}

/// Cleans every string under `path` in place; adds a French message for each offending one.
/// Returns whether anything was removed.
fn walk(value: &mut Value, path: &str, errors: &mut FieldErrors) -> bool {
    match value {
        Value::String(s) => match accept(s, Lines::Multi) {
            Ok(std::borrow::Cow::Borrowed(_)) => false,
            Ok(std::borrow::Cow::Owned(cleaned)) => {
                *s = cleaned;
                true
            }
            Err(e) => {
                let field = if path.is_empty() { "corps" } else { path };
                errors
                    .entry(field.to_owned())
                    .or_default()
                    .push(e.to_string());
                false
            }
        },
        Value::Array(items) => {
            let mut changed = false;
            for (i, item) in items.iter_mut().enumerate() {
                changed |= walk(item, &format!("{path}[{i}]"), errors);
            }
            changed
        }
        Value::Object(map) => {
            let mut changed = false;
            for (key, item) in map.iter_mut() {
                let sub = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                if let Err(e) = check(key, Lines::Single) {
                    errors
                        .entry(sub.clone())
                        .or_default()
                        .push(format!("nom de champ invalide : {e}"));
                } else if !exempt(key) {
                    changed |= walk(item, &sub, errors);
                }
            }
            changed
        }
        _ => false,
    }
}

/// The offending strings of a JSON document (none if it does not parse: the extractor will
/// say why).
pub fn check_json(bytes: &[u8]) -> FieldErrors {
    clean_json(bytes).err().unwrap_or_default()
}

/// A JSON document with its strings cleaned (`None` when nothing was removed, or when it does
/// not parse: the extractor will say why), or the offending strings.
pub fn clean_json(bytes: &[u8]) -> Result<Option<Vec<u8>>, FieldErrors> {
    let mut errors = FieldErrors::new();
    let Ok(mut value) = serde_json::from_slice::<Value>(bytes) else {
        return Ok(None);
    };
    let changed = walk(&mut value, "", &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(changed.then(|| value.to_string().into_bytes()))
}

/// The offending values of `a=b&c=d` (a query string or an urlencoded form).
pub fn check_pairs(encoded: &[u8]) -> FieldErrors {
    let mut errors = FieldErrors::new();
    for (key, value) in url::form_urlencoded::parse(encoded) {
        if let Err(e) = check(&key, Lines::Single) {
            errors
                .entry("paramètre".into())
                .or_default()
                .push(format!("nom de paramètre invalide : {e}"));
        } else if !exempt(&key)
            && let Err(e) = check(&value, Lines::Multi)
        {
            errors
                .entry(key.into_owned())
                .or_default()
                .push(e.to_string());
        }
    }
    errors
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BodyKind {
    Json,
    Form,
}

/// How a body is read at the door. The API reads JSON (and forms); its extractors refuse any
/// other type. A page reads every body as a form, whatever type it claims, but multipart
/// uploads (whose file is not text).
fn body_kind(req: &ServiceRequest) -> Option<BodyKind> {
    use actix_web::http::Method;
    let mime = req.mime_type().ok().flatten();
    let is = |m: &actix_web::mime::Mime| {
        if m.subtype() == "json" || m.suffix().is_some_and(|s| s == "json") {
            Some(BodyKind::Json)
        } else if m.type_() == "application" && m.subtype() == "x-www-form-urlencoded" {
            Some(BodyKind::Form)
        } else {
            None
        }
    };
    if req.path().starts_with("/api/") {
        return mime.as_ref().and_then(is);
    }
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        return None;
    }
    match &mime {
        Some(m) if m.type_() == "multipart" => None,
        Some(m) => Some(is(m).unwrap_or(BodyKind::Form)),
        None => Some(BodyKind::Form),
    }
}

/// A refusal of this guard: on the response of a refused query string, so that the pages can
/// say it in their own way; on the request of a page form that the text rule refuses, which
/// goes on to its handler (see [`guard`]).
#[derive(Debug, Clone)]
pub struct TextRefused(pub FieldErrors);

/// The refusal `error`, marked with the offending fields for the faces that render their own.
fn refuse<B>(
    req: ServiceRequest,
    error: AppError,
    errors: FieldErrors,
) -> ServiceResponse<EitherBody<B, BoxBody>> {
    let mut resp = actix_web::ResponseError::error_response(&error);
    resp.extensions_mut().insert(TextRefused(errors));
    req.into_response(resp).map_into_right_body()
}

/// The middleware, for `App::wrap(middleware::from_fn(guard))`.
pub async fn guard<B: MessageBody>(
    mut req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B, BoxBody>>, actix_web::Error> {
    // A path naming a resource with such characters names nothing (PostgreSQL would fail on
    // the NUL of `/applications/a%00b` where SQLite finds no row): 404 on both.
    let path = percent_encoding::percent_decode_str(req.path()).decode_utf8_lossy();
    if check(&path, Lines::Single).is_err() {
        let resp = actix_web::ResponseError::error_response(&AppError::not_found(
            "Aucune ressource ne répond à cette adresse : elle contient un caractère interdit.",
        ));
        return Ok(req.into_response(resp).map_into_right_body());
    }
    let query_errors = check_pairs(req.query_string().as_bytes());
    if !query_errors.is_empty() {
        // A query parameter the API cannot use is a 400, as every other bad parameter is (the
        // contract documents it on every operation); a body's field is a 422.
        let detail = query_errors
            .iter()
            .map(|(k, v)| format!("paramètre « {k} » : {}", v.join(" ; ")))
            .collect::<Vec<_>>()
            .join(" ; ");
        let error = AppError::BadRequest(format!("Paramètre de requête refusé : {detail}."));
        return Ok(refuse(req, error, query_errors));
    }
    if let Some(kind) = body_kind(&req) {
        // Read the body (bounded), check it, then hand the same bytes to the handler.
        let mut payload = req.take_payload();
        let mut buf = BytesMut::new();
        let mut overflow = false;
        while let Some(chunk) = payload.next().await {
            let chunk = chunk?;
            buf.extend_from_slice(&chunk);
            if buf.len() > MAX_CHECKED_BODY {
                overflow = true;
                break;
            }
        }
        let mut bytes: Bytes = buf.freeze();
        if !overflow {
            let cleaned = match kind {
                BodyKind::Json => clean_json(&bytes),
                BodyKind::Form => urlencoded::parse(&bytes)
                    .map(|pairs| Some(urlencoded::serialise(&pairs).into_bytes())),
            };
            match cleaned {
                // A page shows the form again with the message beside each refused field
                // (DESIGN.md §4): the body goes on as sent, marked, and the page's form
                // reader says what it refuses. A handler that does not show its form again
                // refuses the marked request before reading anything (`PageCtx::check_csrf`).
                Err(errors) if !req.path().starts_with("/api/") => {
                    req.extensions_mut().insert(TextRefused(errors));
                }
                Err(errors) => {
                    return Ok(refuse(req, AppError::validation(errors.clone()), errors));
                }
                Ok(Some(clean)) => {
                    // The handler reads the cleaned body; its length is no longer the header's.
                    req.headers_mut()
                        .remove(actix_web::http::header::CONTENT_LENGTH);
                    bytes = Bytes::from(clean);
                }
                Ok(None) => {}
            }
        }
        // What was read goes back in front of whatever was not.
        let rest = payload;
        let stream = futures_util::stream::once(async move { Ok(bytes) }).chain(rest);
        req.set_payload(Payload::Stream {
            payload: Box::pin(stream),
        });
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_checked_with_their_path() {
        let errors = check_json(
            br#"{"organisation": {"name": "A\u0000B"}, "project": {"summary": "l1\nl2",
                "activity_communes": ["59009", "\u202e"]}, "password": "\u0000ok"}"#,
        );
        let fields: Vec<&str> = errors.keys().map(String::as_str).collect();
        assert_eq!(
            fields,
            ["organisation.name", "project.activity_communes[1]"]
        );
        assert!(errors["organisation.name"][0].contains("U+0000"));
        assert!(check_json(br#"{"a": "b\tc\r\nd", "n": 1, "x": null}"#).is_empty());
        assert!(check_json(b"not json").is_empty());
        assert_eq!(
            check_json(br#"{"a\u200bb": 1}"#).keys().collect::<Vec<_>>(),
            ["a\u{200b}b"]
        );
    }

    #[test]
    fn json_strings_lose_pasted_invisibles_and_keep_the_rest() {
        let cleaned = clean_json(
            br#"{"project": {"title": "R\u00e9\u00ademploi\u200b", "n": 2}, "password": "a\u00adb"}"#,
        )
        .unwrap()
        .expect("something was removed");
        let v: Value = serde_json::from_slice(&cleaned).unwrap();
        assert_eq!(v["project"]["title"], "Réemploi");
        assert_eq!(v["project"]["n"], 2);
        assert_eq!(v["password"], "a\u{ad}b");
        assert_eq!(clean_json(br#"{"a": "b"}"#).unwrap(), None);
        assert!(clean_json(br#"{"a": "\u00adb\u0000"}"#).is_err());
    }

    #[test]
    fn query_and_form_values_are_checked() {
        let errors = check_pairs(b"q=abc%00&state=draft&password=%00");
        assert_eq!(errors.keys().collect::<Vec<_>>(), ["q"]);
        assert!(check_pairs(b"q=caf%C3%A9&page=2").is_empty());
        assert!(!check_pairs(b"q=%E2%80%AEfdp").is_empty());
    }
}

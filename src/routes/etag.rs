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

/// 412 unless `expected` (from If-Match) is the current version.
pub fn check_version(expected: Option<i32>, current: i32) -> Result<(), AppError> {
    match expected {
        Some(v) if v != current => Err(AppError::PreconditionFailed(format!(
            "Cette ressource a été modifiée entre-temps (version {current}, vous envoyez la version \
             {v}) : rechargez-la puis recommencez."
        ))),
        _ => Ok(()),
    }
}

/// RFC 7396 JSON Merge Patch.
pub fn merge_patch(target: &mut serde_json::Value, patch: &serde_json::Value) {
    use serde_json::Value;
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Default::default());
            }
            let t = target.as_object_mut().expect("made an object above");
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        other => *target = other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc7396_examples() {
        let cases = [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (
                json!({"a": "b"}),
                json!({"b": "c"}),
                json!({"a": "b", "b": "c"}),
            ),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (
                json!({"a": "b", "b": "c"}),
                json!({"a": null}),
                json!({"b": "c"}),
            ),
            (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "c"}), json!({"a": ["b"]}), json!({"a": ["b"]})),
            (
                json!({"a": {"b": "c"}}),
                json!({"a": {"b": "d", "c": null}}),
                json!({"a": {"b": "d"}}),
            ),
            (
                json!({"a": [{"b": "c"}]}),
                json!({"a": [1]}),
                json!({"a": [1]}),
            ),
            (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
            (json!({"a": "b"}), json!(["c"]), json!(["c"])),
            (json!({"a": "foo"}), json!(null), json!(null)),
            (
                json!({"e": null}),
                json!({"a": 1}),
                json!({"e": null, "a": 1}),
            ),
            (
                json!([1, 2]),
                json!({"a": "b", "c": null}),
                json!({"a": "b"}),
            ),
            (
                json!({}),
                json!({"a": {"bb": {"ccc": null}}}),
                json!({"a": {"bb": {}}}),
            ),
        ];
        for (mut target, patch, expected) in cases {
            merge_patch(&mut target, &patch);
            assert_eq!(target, expected, "patch {patch}");
        }
    }

    #[test]
    fn versions_are_compared() {
        assert!(check_version(None, 3).is_ok());
        assert!(check_version(Some(3), 3).is_ok());
        assert!(matches!(
            check_version(Some(2), 3),
            Err(AppError::PreconditionFailed(_))
        ));
    }
}

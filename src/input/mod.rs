//! Input that either face (the JSON API, the web forms) hands to the services: a typed body read
//! from JSON with the path of the faulty field, serde's messages said in French, RFC 7396 merge
//! patches and list paging. Nothing here knows HTTP, so services and exports may use it.

pub mod paging;

pub use paging::{Page, PageParams, Paging};

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{FieldErrors, ServiceError};

/// Deserialises a JSON body, naming the exact field on failure (`organisation.siret`,
/// `project.activity_communes[0]`), so a 422 says where the problem is.
pub fn from_json<T: DeserializeOwned>(value: Value) -> Result<T, ServiceError> {
    // serde would also read a struct from an array of its fields in order; a body is an object.
    if !value.is_object() {
        return Err(ServiceError::invalid_field(
            "corps",
            "le corps de la requête doit être un objet JSON",
        ));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let raw = e.inner().to_string();
        let parent = e.path().to_string();
        let mut field = if parent == "." { String::new() } else { parent };
        if let Some(name) = raw
            .strip_prefix("missing field `")
            .and_then(|r| r.split('`').next())
        {
            field = if field.is_empty() {
                name.to_owned()
            } else {
                format!("{field}.{name}")
            };
        }
        if field.is_empty() {
            field = "corps".to_owned();
        }
        let mut errors = FieldErrors::new();
        errors.insert(field, vec![translate_serde_message(&raw)]);
        ServiceError::invalid(errors)
    })
}

/// serde's messages are English; keep their precise content but say it in French.
pub fn translate_serde_message(msg: &str) -> String {
    let msg = msg.split(" at line ").next().unwrap_or(msg);
    let expected_list = |s: &str| s.trim_start_matches("one of ").replace('`', "");
    if let Some(rest) = msg.strip_prefix("missing field `") {
        let name = rest.trim_end_matches('`');
        return format!("le champ « {name} » est obligatoire");
    }
    if let Some(rest) = msg.strip_prefix("unknown variant `") {
        let (value, expected) = rest.split_once("`, expected ").unwrap_or((rest, ""));
        return format!(
            "valeur « {value} » inconnue ; valeurs possibles : {}",
            expected_list(expected)
        );
    }
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        let (name, expected) = rest.split_once("`, expected ").unwrap_or((rest, ""));
        return format!(
            "champ « {name} » inconnu ; champs possibles : {}",
            expected_list(expected)
        );
    }
    if let Some(rest) = msg.strip_prefix("invalid type: ") {
        let (got, expected) = rest.split_once(", expected ").unwrap_or((rest, "?"));
        return format!("type invalide : reçu {got}, attendu {expected}");
    }
    if let Some(rest) = msg.strip_prefix("invalid value: ") {
        let (got, expected) = rest.split_once(", expected ").unwrap_or((rest, "?"));
        return format!("valeur invalide : reçu {got}, attendu {expected}");
    }
    // Our own types (identifiers, amounts) already speak French.
    msg.to_owned()
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
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        code: u32,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        name: String,
        inner: Inner,
        list: Vec<u32>,
    }

    fn err_fields(v: Value) -> FieldErrors {
        match from_json::<Outer>(v) {
            Err(ServiceError::Invalid { fields, .. }) => fields,
            other => panic!("expected a 422, got {other:?}"),
        }
    }

    #[test]
    fn errors_name_the_field_path() {
        let cases = [
            (
                serde_json::json!({"inner": {"code": 1}, "list": []}),
                "name",
            ),
            (
                serde_json::json!({"name": "a", "inner": {}, "list": []}),
                "inner.code",
            ),
            (
                serde_json::json!({"name": "a", "inner": {"code": "x"}, "list": []}),
                "inner.code",
            ),
            (
                serde_json::json!({"name": "a", "inner": {"code": 1}, "list": [1, "x"]}),
                "list[1]",
            ),
            (serde_json::json!([1, 2]), "corps"),
        ];
        for (body, field) in cases {
            let errors = err_fields(body.clone());
            assert!(errors.contains_key(field), "{body}: {errors:?}");
        }
    }

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
    fn serde_messages_are_said_in_french() {
        use super::translate_serde_message as t;
        let cases = [
            (
                "missing field `email`",
                "le champ « email » est obligatoire",
            ),
            (
                "unknown variant `boss`, expected one of `applicant`, `reviewer`",
                "valeur « boss » inconnue ; valeurs possibles : applicant, reviewer",
            ),
            (
                "invalid type: integer `3`, expected a string at line 1 column 12",
                "type invalide : reçu integer `3`, attendu a string",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(t(input), expected);
        }
    }
}

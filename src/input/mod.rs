//! Input that either face (the JSON API, the web forms) hands to the services: a typed body read
//! from JSON with the path of the faulty field, serde's messages said in French, RFC 7396 merge
//! patches and list paging. Nothing here but `multipart` (a face's reader of an uploaded file) knows
//! HTTP, so services and exports may use the rest.

pub mod cursor;
pub mod multipart;
pub mod paging;
pub mod urlencoded;

pub use cursor::Position;
pub use paging::{NumberedPageParams, Page, PageParams, Paging};

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
        let message = translate_field_message(&field, &raw);
        errors.insert(field, vec![message]);
        ServiceError::invalid(errors)
    })
}

/// serde's messages are English; keep their precise content but say it in French.
pub fn translate_serde_message(msg: &str) -> String {
    translate_field_message("", msg)
}

/// What chrono says of a date it cannot read (`NaiveDate`, `NaiveDateTime`, `DateTime`).
const CHRONO_MESSAGES: &[&str] = &[
    "input contains invalid characters",
    "premature end of input",
    "trailing input",
    "input is out of range",
    "no possible date and time matching input",
    "input is not enough for unique date and time",
    "bad or unsupported format string",
];

/// What the standard library says of a number it cannot read (query strings, forms).
const NUMBER_MESSAGES: &[(&str, &str)] = &[
    ("invalid digit found in string", "nombre entier attendu"),
    (
        "cannot parse integer from empty string",
        "nombre entier attendu (valeur vide)",
    ),
    (
        "number too large to fit in target type",
        "nombre trop grand",
    ),
    (
        "number too small to fit in target type",
        "nombre trop petit",
    ),
    ("invalid float literal", "nombre attendu"),
];

fn is_date_time_field(field: &str) -> bool {
    let last = field.rsplit('.').next().unwrap_or(field);
    last.ends_with("_at") || last == "at" || last.ends_with("_time")
}

fn date_message(field: &str) -> String {
    if is_date_time_field(field) {
        "date et heure attendues au format AAAA-MM-JJTHH:MM:SS (par ex. 2027-03-31T12:00:00)"
            .to_owned()
    } else {
        "date attendue au format AAAA-MM-JJ (par ex. 2024-05-15 pour le 15 mai 2024)".to_owned()
    }
}

/// A `…_cents` field: an amount in euro cents, a whole number.
fn cents_message(got: Option<&str>) -> String {
    let example = "par ex. 2000000 pour 20 000 €";
    match got {
        Some(g) => format!(
            "montant attendu en centimes d'euro, en nombre entier sans décimales ({example}) ; \
             reçu {g}"
        ),
        None => format!(
            "montant attendu en centimes d'euro, en nombre entier sans décimales ({example})"
        ),
    }
}

/// serde's name of the expected type, in French words.
fn expected_fr(expected: &str) -> String {
    let e = expected.trim();
    let integer = [
        "i8",
        "i16",
        "i32",
        "i64",
        "i128",
        "isize",
        "an integer",
        "integer",
    ];
    let unsigned = ["u8", "u16", "u32", "u64", "u128", "usize"];
    if integer.contains(&e) {
        "un nombre entier".to_owned()
    } else if unsigned.contains(&e) {
        "un nombre entier positif ou nul".to_owned()
    } else if ["f32", "f64", "a number"].contains(&e) {
        "un nombre".to_owned()
    } else if [
        "a string",
        "string",
        "a borrowed string",
        "a character",
        "char",
    ]
    .contains(&e)
    {
        "un texte".to_owned()
    } else if ["a boolean", "bool"].contains(&e) {
        "true ou false".to_owned()
    } else if e.starts_with("a sequence") || e.starts_with("an array") || e.starts_with("tuple") {
        "une liste".to_owned()
    } else if e.starts_with("struct ") || e.starts_with("a map") || e == "map" {
        "un objet JSON".to_owned()
    } else if e.contains("date and time") || e.contains("datetime") {
        "une date et heure au format AAAA-MM-JJTHH:MM:SS".to_owned()
    } else if e.contains("date") {
        "une date au format AAAA-MM-JJ".to_owned()
    } else if e.starts_with("variant identifier") || e.starts_with("enum ") {
        "l'une des valeurs possibles".to_owned()
    } else {
        "une valeur d'un autre type".to_owned()
    }
}

/// serde's description of the value received (`floating point `20000.5``), in French words.
fn got_fr(got: &str) -> String {
    let g = got.trim();
    let between = |s: &str, open: char, close: char| {
        s.split_once(open)
            .and_then(|(_, rest)| rest.rsplit_once(close))
            .map(|(inner, _)| inner.to_owned())
    };
    if let Some(rest) = g
        .strip_prefix("floating point")
        .or_else(|| g.strip_prefix("integer"))
    {
        match between(rest, '`', '`') {
            Some(n) => format!("le nombre {n}"),
            None => "un nombre".to_owned(),
        }
    } else if let Some(rest) = g.strip_prefix("string") {
        match between(rest, '"', '"') {
            Some(t) => format!("le texte « {t} »"),
            None => "un texte".to_owned(),
        }
    } else if let Some(rest) = g.strip_prefix("boolean") {
        match between(rest, '`', '`') {
            Some(b) => format!("la valeur {b}"),
            None => "un booléen".to_owned(),
        }
    } else if g.starts_with("sequence") {
        "une liste".to_owned()
    } else if g.starts_with("map") {
        "un objet".to_owned()
    } else if g.starts_with("null") || g.starts_with("unit") {
        "la valeur null".to_owned()
    } else {
        "une valeur d'un autre type".to_owned()
    }
}

/// serde's (and chrono's, and the standard library's) English said in French, knowing the
/// field it is about: a date field says the format it takes, a `_cents` field that it takes
/// a whole number of cents. Nothing English reaches the user: a message not recognised and
/// not already French becomes « valeur invalide ».
pub fn translate_field_message(field: &str, msg: &str) -> String {
    let msg = msg.split(" at line ").next().unwrap_or(msg).trim();
    let last = field.rsplit('.').next().unwrap_or(field);
    let last = last.split('[').next().unwrap_or(last);
    let cents = last.ends_with("_cents");
    let expected_list = |s: &str| s.trim_start_matches("one of ").replace('`', "");
    if let Some(rest) = msg.strip_prefix("missing field `") {
        let name = rest.trim_end_matches('`');
        return format!("le champ « {name} » est obligatoire");
    }
    if let Some(rest) = msg.strip_prefix("duplicate field `") {
        let name = rest.trim_end_matches('`');
        return format!("le champ « {name} » figure deux fois");
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
        let expected = expected_list(expected);
        return if expected.is_empty() || expected.starts_with("no fields") {
            format!("champ « {name} » inconnu")
        } else {
            format!("champ « {name} » inconnu ; champs possibles : {expected}")
        };
    }
    if CHRONO_MESSAGES.iter().any(|m| msg.starts_with(m)) {
        return date_message(field);
    }
    if let Some((_, fr)) = NUMBER_MESSAGES.iter().find(|(en, _)| msg.starts_with(en)) {
        return (*fr).to_owned();
    }
    for (prefix, invalid_value) in [("invalid type: ", false), ("invalid value: ", true)] {
        if let Some(rest) = msg.strip_prefix(prefix) {
            let (got, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
            let got = got_fr(got);
            if cents {
                return cents_message(Some(&got));
            }
            let expected = expected_fr(expected);
            return if invalid_value {
                format!("valeur invalide : reçu {got}, attendu {expected}")
            } else {
                format!("type invalide : attendu {expected}, reçu {got}")
            };
        }
    }
    if let Some(rest) = msg.strip_prefix("invalid length ") {
        let n = rest.split(',').next().unwrap_or("?");
        return format!("longueur invalide ({n} éléments)");
    }
    if looks_english(msg) {
        return "valeur invalide".to_owned();
    }
    // Our own types (identifiers, amounts) already speak French.
    msg.to_owned()
}

/// Words of serde's, chrono's and the standard library's messages that no French message of
/// ours uses.
fn looks_english(msg: &str) -> bool {
    const MARKERS: &[&str] = &[
        "expected",
        "invalid",
        "input",
        "premature",
        "floating",
        "integer",
        "found",
        "string",
        "unknown",
        "missing",
        "field",
        "parse",
        "failed",
        "error",
        "went",
        "wrong",
        "the",
        "not",
        "is",
        "with",
        "i64",
        "i32",
        "u32",
        "u64",
        "f64",
        "eof",
        "value",
    ];
    let lower = msg.to_lowercase();
    MARKERS.iter().any(|m| {
        lower
            .split(|c: char| !c.is_alphanumeric())
            .any(|w| w == m.to_lowercase())
    })
}

/// RFC 7396 JSON Merge Patch.
#[expect(clippy::expect_used, reason = "made an object just above")]
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
                "type invalide : attendu un texte, reçu le nombre 3",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(t(input), expected);
        }
    }

    /// The field tells what is expected: a date its format, an amount in cents a whole
    /// number; and no English word of serde, chrono or the standard library gets through.
    #[test]
    fn field_messages_say_what_is_expected_in_french() {
        use super::translate_field_message as t;
        let cases = [
            (
                "organisation.created_on",
                "input contains invalid characters",
                "date attendue au format AAAA-MM-JJ",
            ),
            (
                "committee_date",
                "premature end of input",
                "date attendue au format AAAA-MM-JJ",
            ),
            (
                "opens_at",
                "input contains invalid characters",
                "date et heure attendues",
            ),
            (
                "project.requested_cents",
                "invalid type: floating point `20000.5`, expected i64",
                "centimes d'euro, en nombre entier",
            ),
            (
                "project.requested_cents",
                "invalid type: string \"20000\", expected i64",
                "reçu le texte « 20000 »",
            ),
            (
                "awarded_cents",
                "invalid value: integer `-5`, expected u64",
                "2000000 pour 20 000 €",
            ),
            (
                "organisation.employees",
                "invalid value: integer `-1`, expected u32",
                "attendu un nombre entier positif ou nul",
            ),
            (
                "ess.democratic_governance",
                "invalid type: string \"oui\", expected a boolean",
                "attendu true ou false",
            ),
            (
                "project.activity_communes",
                "invalid type: string \"59009\", expected a sequence",
                "attendu une liste",
            ),
            (
                "organisation",
                "invalid type: null, expected struct Organisation",
                "attendu un objet JSON",
            ),
            (
                "page",
                "invalid digit found in string",
                "nombre entier attendu",
            ),
            ("x", "something went wrong in the parser", "valeur invalide"),
            (
                "x",
                "le SIRET compte 14 chiffres",
                "le SIRET compte 14 chiffres",
            ),
        ];
        let english = [
            "i64",
            "u32",
            "u64",
            "floating point",
            "premature",
            "invalid type",
            "expected",
            "input",
            "a string",
            "struct",
        ];
        for (field, input, wanted) in cases {
            let out = t(field, input);
            assert!(out.contains(wanted), "{field}: {input} -> {out}");
            for word in english {
                assert!(!out.contains(word), "{field}: {input} -> {out}");
            }
        }
    }
}

//! Reading HTML forms, and showing a service's refusal beside the fields it names.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::{FieldErrors, ServiceError};

/// An `application/x-www-form-urlencoded` body: every value of every field, in order
/// (checkboxes repeat their name).
#[derive(Debug, Clone, Default)]
pub struct Form(Vec<(String, String)>);

impl Form {
    /// Reads a body under the text rule ([`crate::input::urlencoded::parse`]: strict UTF-8,
    /// pasted invisibles removed, control and bidi characters refused). The door applies the
    /// same function to every page body and refuses it first (`input_guard`), so a handler
    /// only sees bodies that pass; [`Form::try_parse`] says why one would not.
    pub fn parse(body: &[u8]) -> Self {
        // Behind the door a refusal cannot happen; were it to, no value it refused is kept
        // (nothing lossy or unchecked reaches a handler), and the form fails its own checks.
        Self(crate::input::urlencoded::parse(body).unwrap_or_default())
    }

    /// The form, or the French refusal of each field the text rule refuses.
    pub fn try_parse(body: &[u8]) -> Result<Self, crate::error::FieldErrors> {
        crate::input::urlencoded::parse(body).map(Self)
    }

    /// The first value, trimmed ("" when absent).
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.trim())
    }

    pub fn opt(&self, name: &str) -> Option<&str> {
        Some(self.get(name)).filter(|v| !v.is_empty())
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// The values as typed, to fill the form again (`name -> value`, `name -> [values]`).
    pub fn values(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in &self.0 {
            if k != crate::web::CSRF_FIELD {
                out.entry(k.clone()).or_default().push(v.clone());
            }
        }
        out.into_iter()
            .map(|(k, mut v)| {
                let value = if v.len() == 1 {
                    serde_json::Value::from(v.remove(0))
                } else {
                    serde_json::Value::from(v)
                };
                (k, value)
            })
            .collect()
    }
}

/// The errors a page shows: the summary at the top (each linking to its field) and the
/// message beside each field. Keys are the form's field names.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Errors {
    pub fields: BTreeMap<String, String>,
    /// In the order of the form, for the summary: `(field, label, message)`.
    pub summary: Vec<(String, String)>,
}

impl Errors {
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        if self.fields.contains_key(field) {
            return;
        }
        let message = capitalise(&message.into());
        self.fields.insert(field.to_owned(), message.clone());
        self.summary.push((field.to_owned(), message));
    }

    /// Spreads a service's 422 over the form's fields. `map` turns the service's field path
    /// (`organisation.siret`, `password`) into the form's field name; a path it does not
    /// know goes to `fallback`. Any other refusal is returned as is.
    pub fn from_service(
        err: ServiceError,
        map: impl Fn(&str) -> Option<String>,
        fallback: &str,
    ) -> Result<Self, ServiceError> {
        match err {
            ServiceError::Invalid { fields, .. } => Ok(Self::from_fields(&fields, map, fallback)),
            // A conflict that names its field (one application per SIRET and call) is said
            // beside that field when this form has it.
            ServiceError::Conflict { message, extra } => {
                match extra.get("field").and_then(|f| f.as_str()).and_then(&map) {
                    Some(field) => {
                        let mut out = Self::default();
                        out.add(&field, message);
                        Ok(out)
                    }
                    None => Err(ServiceError::Conflict { message, extra }),
                }
            }
            other => Err(other),
        }
    }

    pub fn from_fields(
        errors: &FieldErrors,
        map: impl Fn(&str) -> Option<String>,
        fallback: &str,
    ) -> Self {
        let mut out = Self::default();
        for (path, messages) in errors {
            let field = map(path).unwrap_or_else(|| fallback.to_owned());
            out.add(&field, messages.join(" ; "));
        }
        out
    }

    /// Orders the summary as the fields appear on the page.
    pub fn ordered(mut self, order: &[&str]) -> Self {
        self.summary
            .sort_by_key(|(f, _)| order.iter().position(|o| *o == f).unwrap_or(order.len()));
        self
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// « 20 000 », « 20000,50 », « 1 500 € » → cents. `None` when it is not an amount.
pub fn parse_euros(input: &str) -> Option<i64> {
    let cleaned: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '€' && *c != '\u{202f}' && *c != '\u{a0}')
        .collect();
    if cleaned.is_empty() {
        return None;
    }
    let cleaned = cleaned.replace(',', ".");
    let (units, frac) = match cleaned.split_once('.') {
        Some((u, f)) => (u, f),
        None => (cleaned.as_str(), ""),
    };
    if units.is_empty()
        || !units.chars().all(|c| c.is_ascii_digit())
        || frac.len() > 2
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let units: i64 = units.parse().ok()?;
    let frac: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<2}").parse().ok()?
    };
    units.checked_mul(100)?.checked_add(frac)
}

/// Cents → what the amount field shows again (« 20000 », « 1500,50 »).
pub fn euros_input(cents: i64) -> String {
    if cents % 100 == 0 {
        (cents / 100).to_string()
    } else {
        format!("{},{:02}", cents / 100, cents % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_in_euros() {
        let cases = [
            ("20 000", Some(2_000_000)),
            ("20000", Some(2_000_000)),
            ("1 500,5", Some(150_050)),
            ("1500.25 €", Some(150_025)),
            ("0", Some(0)),
            ("", None),
            ("-5", None),
            ("12,345", None),
            ("douze", None),
            (",5", None),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_euros(input), expected, "{input:?}");
        }
        assert_eq!(euros_input(150_050), "1500,50");
        assert_eq!(euros_input(2_000_000), "20000");
    }

    #[test]
    fn forms_keep_repeated_fields_and_values() {
        let f = Form::parse(b"a=+x+&b=1&b=2&_csrf=t&c=");
        assert_eq!(f.get("a"), "x");
        assert_eq!(f.all("b"), vec!["1", "2"]);
        assert_eq!(f.opt("c"), None);
        let values = f.values();
        assert!(!values.contains_key("_csrf"));
        assert_eq!(values["b"], serde_json::json!(["1", "2"]));
    }

    #[test]
    fn service_errors_land_on_fields_in_page_order() {
        let mut fe = FieldErrors::new();
        fe.insert("organisation.siret".into(), vec!["clé invalide".into()]);
        fe.insert(
            "organisation.name".into(),
            vec!["le nom est obligatoire".into()],
        );
        fe.insert("corps".into(), vec!["illisible".into()]);
        let e = Errors::from_fields(
            &fe,
            |p| p.strip_prefix("organisation.").map(str::to_owned),
            "name",
        )
        .ordered(&["name", "siret"]);
        assert_eq!(e.fields["siret"], "Clé invalide");
        assert_eq!(e.summary[0].0, "name");
        assert_eq!(e.summary[1].0, "siret");
        // "corps" fell back on "name", which already had its message.
        assert_eq!(e.summary.len(), 2);
    }
}

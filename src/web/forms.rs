//! Reading HTML forms, and showing a service's refusal beside the fields it names.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::{FieldErrors, ServiceError};

/// An `application/x-www-form-urlencoded` body: every value of every field, in order
/// (checkboxes repeat their name), and what the text rule refused in it.
#[derive(Debug, Clone, Default)]
pub struct Form {
    pairs: Vec<(String, String)>,
    read: crate::input::urlencoded::Read,
}

impl Form {
    /// Reads a body under the text rule ([`crate::input::urlencoded::read`]: strict UTF-8,
    /// pasted invisibles removed, control and bidi characters refused). A refused value is
    /// kept without the refused characters, to be shown back beside its message
    /// ([`Form::refused`]); the door marks such a body, and [`super::PageCtx::check_csrf`]
    /// refuses it unless the handler asked for the refusals ([`super::PageCtx::check_form`]).
    pub fn parse(body: &[u8]) -> Self {
        let mut read = crate::input::urlencoded::read(body);
        let pairs = std::mem::take(&mut read.pairs);
        Self { pairs, read }
    }

    /// The form, or the French refusal of each field the text rule refuses.
    pub fn try_parse(body: &[u8]) -> Result<Self, crate::error::FieldErrors> {
        let form = Self::parse(body);
        if form.is_refused() {
            Err(form.read.errors())
        } else {
            Ok(form)
        }
    }

    /// Whether the text rule refused anything in the body.
    pub fn is_refused(&self) -> bool {
        !self.read.refused.is_empty() || self.read.bad_name.is_some()
    }

    /// Whether the body names a field with characters no page sends (a crafted request).
    pub fn has_bad_name(&self) -> bool {
        self.read.bad_name.is_some()
    }

    /// The text rule's refusals as the page shows them, beside each field: the value shown
    /// back has lost the refused characters, so the message says so and asks to check it.
    pub fn refused(&self) -> Errors {
        let mut errors = Errors::default();
        for (field, e) in &self.read.refused {
            errors.add(field, refusal_message(e));
        }
        errors
    }

    /// The first value, trimmed ("" when absent).
    pub fn get(&self, name: &str) -> &str {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.trim())
    }

    pub fn opt(&self, name: &str) -> Option<&str> {
        Some(self.get(name)).filter(|v| !v.is_empty())
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// The values as typed, to fill the form again (`name -> value`, `name -> [values]`).
    pub fn values(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in &self.pairs {
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

/// What a page says beside a field whose text the rule refused: the character and where it
/// was (the person cannot see it), that it was taken out of what is shown, and what to do.
fn refusal_message(e: &crate::domain::text::TextError) -> String {
    format!(
        "le texte contenait {} (U+{:04X}, en position {}), souvent copié depuis un traitement \
         de texte ou une page web : ce caractère est retiré du texte affiché ; vérifiez-le \
         puis renvoyez le formulaire",
        e.what, e.character as u32, e.position
    )
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

    /// These errors, then `other`'s for the fields these do not name (the text rule's
    /// refusals come first: a refused field's other message was about the text shown back).
    pub fn and(mut self, other: Errors) -> Self {
        for (field, message) in other.summary {
            self.add(&field, message);
        }
        self
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
    fn a_refused_field_is_shown_back_with_its_message() {
        let f =
            Form::parse("titre=R%C3%A9emploi%E2%80%AE+solidaire&ville=Lille&_csrf=t".as_bytes());
        assert!(f.is_refused());
        assert!(!f.has_bad_name());
        assert_eq!(f.get("titre"), "Réemploi solidaire");
        assert_eq!(f.get("ville"), "Lille");
        let errors = f.refused();
        assert_eq!(errors.summary.len(), 1);
        assert!(errors.fields["titre"].starts_with("Le texte contenait un caractère de contrôle de la direction du texte (U+202E, en position 9)"), "{errors:?}");
        assert!(Form::try_parse(b"titre=a%00").is_err());
        let clean = Form::parse(b"titre=a%C2%ADb");
        assert!(!clean.is_refused());
        assert!(clean.refused().is_empty());
        assert_eq!(clean.get("titre"), "ab");
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

//! `a=b&c=d` bodies (page forms, whatever Content-Type they were sent with) read under the text
//! rule ([`crate::domain::text`]): each name and value decoded strictly as UTF-8 (never « � »),
//! the invisible characters of pasted text removed, control and bidirectional characters
//! refused with the field named. The door ([`crate::input_guard`]) and the page forms
//! (`Form` in the web face) read bodies with this one function.

use crate::domain::text::{self, Lines};
use crate::error::FieldErrors;

/// Field names whose values are read but neither cleaned nor checked: a password is never
/// displayed, and hashing takes any character (a pasted one must stay as typed).
pub fn exempt(name: &str) -> bool {
    name.contains("password")
}

/// The bytes of one `application/x-www-form-urlencoded` component (`+` is a space).
fn decoded(raw: &[u8]) -> Vec<u8> {
    let spaced: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    percent_encoding::percent_decode(&spaced).collect()
}

/// Decodes one component as UTF-8, refusing what is not.
fn component(raw: &[u8]) -> Result<String, text::TextError> {
    text::decode(&decoded(raw))
}

/// A body read without giving up on the first refusal: what a page needs to show the form
/// again with each refused field beside its message.
#[derive(Debug, Clone, Default)]
pub struct Read {
    /// Every pair whose name passed; a refused value is kept without what the rule refuses
    /// ([`text::without_refused`]), so that it can be shown back, never used.
    pub pairs: Vec<(String, String)>,
    /// Each refused value: its field's name and why.
    pub refused: Vec<(String, text::TextError)>,
    /// A field name that is not text the rule accepts (never sent by a page: a crafted
    /// request), which no page can show beside a field.
    pub bad_name: Option<text::TextError>,
}

impl Read {
    /// Every refusal by field, as the API and the door say them.
    pub fn errors(&self) -> FieldErrors {
        let mut errors = FieldErrors::new();
        if let Some(e) = &self.bad_name {
            errors
                .entry("paramètre".into())
                .or_default()
                .push(format!("nom de champ invalide : {e}"));
        }
        for (name, e) in &self.refused {
            errors.entry(name.clone()).or_default().push(e.to_string());
        }
        errors
    }
}

/// Reads every pair of `body` (see [`Read`]).
pub fn read(body: &[u8]) -> Read {
    let mut out = Read::default();
    for piece in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let (raw_name, raw_value) = match piece.iter().position(|&b| b == b'=') {
            Some(i) => (&piece[..i], &piece[i + 1..]),
            None => (piece, &b""[..]),
        };
        let name = match component(raw_name)
            .and_then(|n| text::accept(&n, Lines::Single).map(std::borrow::Cow::into_owned))
        {
            Ok(name) => name,
            Err(e) => {
                out.bad_name.get_or_insert(e);
                continue;
            }
        };
        let value = component(raw_value).and_then(|v| {
            if exempt(&name) {
                Ok(v)
            } else {
                text::accept(&v, Lines::Multi).map(std::borrow::Cow::into_owned)
            }
        });
        match value {
            Ok(value) => out.pairs.push((name, value)),
            Err(e) => {
                let lossy = String::from_utf8_lossy(&decoded(raw_value)).into_owned();
                out.pairs
                    .push((name.clone(), text::without_refused(&lossy, Lines::Multi)));
                out.refused.push((name, e));
            }
        }
    }
    out
}

/// The pairs of `body`, cleaned, or every field's refusal (French messages by field name).
pub fn parse(body: &[u8]) -> Result<Vec<(String, String)>, FieldErrors> {
    let read = read(body);
    if read.refused.is_empty() && read.bad_name.is_none() {
        Ok(read.pairs)
    } else {
        Err(read.errors())
    }
}

/// `pairs` written back as a body (what the door hands on once it cleaned them).
pub fn serialise(pairs: &[(String, String)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_decoded_cleaned_and_checked() {
        let ok = parse(
            b"nom=Ren%C3%A9e+Dupont&titre=r%C3%A9%C2%ADemploi&mot=%E2%80%8B&password=%C2%ADx",
        )
        .unwrap();
        assert_eq!(
            ok,
            [
                ("nom".to_owned(), "Renée Dupont".to_owned()),
                ("titre".to_owned(), "réemploi".to_owned()),
                ("mot".to_owned(), String::new()),
                ("password".to_owned(), "\u{AD}x".to_owned()),
            ]
        );
        // (body, the fields refused)
        let cases: &[(&[u8], &[&str])] = &[
            (b"nom=Ren%E9e", &["nom"]),
            (b"nom=a%00b&ville=Lille", &["nom"]),
            (b"nom=ok&resume=%E2%80%AEfdp", &["resume"]),
            (b"n%00m=x", &["paramètre"]),
            (b"password=%FF", &["password"]),
        ];
        for (body, fields) in cases {
            let errors = parse(body).unwrap_err();
            assert_eq!(
                errors.keys().map(String::as_str).collect::<Vec<_>>(),
                *fields,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        assert!(parse(b"nom=Ren%E9e").unwrap_err()["nom"][0].contains("UTF-8"));
    }

    #[test]
    fn a_refused_value_is_kept_without_what_was_refused() {
        let read = read(b"nom=Ren%E9e&resume=ab%E2%80%AEcd%00&ville=Lille&n%00m=x");
        assert_eq!(
            read.pairs,
            [
                ("nom".to_owned(), "Rene".to_owned()),
                ("resume".to_owned(), "abcd".to_owned()),
                ("ville".to_owned(), "Lille".to_owned()),
            ]
        );
        let refused: Vec<(&str, usize)> = read
            .refused
            .iter()
            .map(|(n, e)| (n.as_str(), e.position))
            .collect();
        assert_eq!(refused, [("nom", 4), ("resume", 3)]);
        assert!(read.bad_name.is_some());
        assert_eq!(
            read.errors().keys().map(String::as_str).collect::<Vec<_>>(),
            ["nom", "paramètre", "resume"]
        );
    }

    #[test]
    fn a_cleaned_body_reads_back_the_same() {
        let pairs = parse(b"a=1+2%26&b=%C3%A9").unwrap();
        assert_eq!(parse(serialise(&pairs).as_bytes()).unwrap(), pairs);
    }
}

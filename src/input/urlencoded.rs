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

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a space).
fn component(raw: &[u8]) -> Result<String, text::TextError> {
    let spaced: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    let bytes: Vec<u8> = percent_encoding::percent_decode(&spaced).collect();
    text::decode(&bytes)
}

/// The pairs of `body`, cleaned, or every field's refusal (French messages by field name).
pub fn parse(body: &[u8]) -> Result<Vec<(String, String)>, FieldErrors> {
    let mut pairs = Vec::new();
    let mut errors = FieldErrors::new();
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
                errors
                    .entry("paramètre".into())
                    .or_default()
                    .push(format!("nom de champ invalide : {e}"));
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
            Ok(value) => pairs.push((name, value)),
            Err(e) => errors.entry(name).or_default().push(e.to_string()),
        }
    }
    if errors.is_empty() {
        Ok(pairs)
    } else {
        Err(errors)
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
    fn a_cleaned_body_reads_back_the_same() {
        let pairs = parse(b"a=1+2%26&b=%C3%A9").unwrap();
        assert_eq!(parse(serialise(&pairs).as_bytes()).unwrap(), pairs);
    }
}

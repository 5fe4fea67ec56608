//! Free text as essor accepts it: one rule for every field a person types (names, titles,
//! summaries, messages, motivations, comments…).
//!
//! Refused, with a French message naming the character and its position:
//! - control characters (C0, DEL, C1), NUL included: PostgreSQL cannot store NUL in a text
//!   column and SQLite would, so without this rule the two backends answered differently;
//!   a multi-line field keeps line feed, carriage return (browsers send CRLF) and tab;
//! - bidirectional controls (embeddings, overrides, isolates, marks): they reorder what a
//!   reader sees (« Trojan Source »), e.g. in a mail's display name or an export;
//! - invisible characters (zero-width space and joiners, word joiner, BOM, soft hyphen, Mongolian
//!   vowel separator, Unicode tags): two names that look the same would differ;
//! - line and paragraph separators (U+2028, U+2029), which some programs take for line ends.
//!
//! Removed silently before the check ([`clean`], applied to every body at the door): the
//! invisible characters that come with text pasted from a word processor or a PDF — soft
//! hyphen, zero-width space and joiners, word joiner, byte-order mark. They carry nothing a
//! reader sees, and refusing them only stopped people who could not see what to remove.
//!
//! [`Text`] is the checked value; [`single_line`] and [`multi_line`] are the same checks as
//! `validator` custom functions, for the request bodies' derive. [`decode`] reads the bytes
//! of a form value: what is not UTF-8 is refused, never replaced by « � ».

use std::borrow::Cow;
use std::fmt;

use validator::ValidationError;

/// Whether a field may span several lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    /// Names, titles, references: no line break, no tab.
    Single,
    /// Descriptions, messages, comments: `\n`, `\r` and `\t` allowed.
    Multi,
}

/// Why a text was refused: the first offending character, its position (1-based, in
/// characters) and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextError {
    pub position: usize,
    pub character: char,
    pub what: &'static str,
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "caractère interdit en position {} : {} (U+{:04X}) ; retirez-le",
            self.position, self.what, self.character as u32
        )
    }
}

impl std::error::Error for TextError {}

/// What a character is, when the rule refuses it in a field of this kind.
fn forbidden(c: char, lines: Lines) -> Option<&'static str> {
    match c {
        '\n' | '\r' | '\t' if lines == Lines::Multi => None,
        '\n' | '\r' => Some("un saut de ligne (ce champ tient sur une ligne)"),
        '\t' => Some("une tabulation (ce champ tient sur une ligne)"),
        '\0' => Some("un caractère nul"),
        c if c.is_control() => Some("un caractère de contrôle"),
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => {
            Some("un caractère de contrôle de la direction du texte")
        }
        '\u{200E}' | '\u{200F}' | '\u{061C}' => Some("une marque de direction du texte"),
        '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{180E}' | '\u{00AD}' => {
            Some("un caractère invisible")
        }
        '\u{E0000}'..='\u{E007F}' => Some("une étiquette Unicode invisible"),
        '\u{2028}' | '\u{2029}' => Some("un séparateur de ligne Unicode"),
        _ => None,
    }
}

/// Whether `c` is removed silently from typed text (see the module comment).
pub fn removable(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}' | '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}'
    )
}

/// `s` without the characters removed silently (borrowed when there were none).
pub fn clean(s: &str) -> Cow<'_, str> {
    if s.chars().any(removable) {
        Cow::Owned(s.chars().filter(|c| !removable(*c)).collect())
    } else {
        Cow::Borrowed(s)
    }
}

/// The one rule for a typed text: cleaned, then checked.
pub fn accept(s: &str, lines: Lines) -> Result<Cow<'_, str>, TextError> {
    let cleaned = clean(s);
    check(&cleaned, lines)?;
    Ok(cleaned)
}

/// Reads `bytes` as UTF-8, refusing (never replacing) what is not: `Ren%E9e` sent by a page in
/// Latin-1 is not « Ren�e ». The position is that of the first character that does not decode.
pub fn decode(bytes: &[u8]) -> Result<String, TextError> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_owned()),
        Err(e) => {
            let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default();
            Err(TextError {
                position: valid.chars().count() + 1,
                character: char::REPLACEMENT_CHARACTER,
                what: "un octet qui n'est pas du texte UTF-8 (accent mal encodé)",
            })
        }
    }
}

/// `s` with every character the rule refuses or removes taken out, and « � » (what a lossy
/// decoding put where bytes were not UTF-8): what a page shows back in a refused field, so
/// that the person sees their text and can send it again once they checked it.
pub fn without_refused(s: &str, lines: Lines) -> String {
    s.chars()
        .filter(|&c| {
            !removable(c) && forbidden(c, lines).is_none() && c != char::REPLACEMENT_CHARACTER
        })
        .collect()
}

/// Checks `s` against the rule for its kind of field.
pub fn check(s: &str, lines: Lines) -> Result<(), TextError> {
    match s
        .chars()
        .enumerate()
        .find_map(|(i, c)| forbidden(c, lines).map(|what| (i, c, what)))
    {
        Some((i, character, what)) => Err(TextError {
            position: i + 1,
            character,
            what,
        }),
        None => Ok(()),
    }
}

/// A required free-text field: the text rule, then not blank, then at most `max` characters
/// (trimmed); the French message of the first that fails.
pub fn required(s: &str, lines: Lines, max: usize) -> Result<(), String> {
    let n = s.trim().chars().count();
    if let Err(e) = check(s, lines) {
        Err(e.to_string())
    } else if n == 0 {
        Err("ce champ est obligatoire".to_owned())
    } else if n > max {
        Err(format!("{max} caractères au plus"))
    } else {
        Ok(())
    }
}

/// A text that passed [`check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text(String);

impl Text {
    pub fn parse(s: impl Into<String>, lines: Lines) -> Result<Self, TextError> {
        let s = s.into();
        check(&s, lines)?;
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

fn to_validation(e: TextError) -> ValidationError {
    let mut err = ValidationError::new("text");
    err.message = Some(e.to_string().into());
    err
}

/// `#[validate(custom(function = "crate::domain::text::single_line"))]`
pub fn single_line(s: &str) -> Result<(), ValidationError> {
    check(s, Lines::Single).map_err(to_validation)
}

/// `#[validate(custom(function = "crate::domain::text::multi_line"))]`
pub fn multi_line(s: &str) -> Result<(), ValidationError> {
    check(s, Lines::Multi).map_err(to_validation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_by_character_and_kind_of_field() {
        use Lines::{Multi, Single};
        // (text, kind, refused at position, or None when accepted)
        let cases: &[(&str, Lines, Option<usize>)] = &[
            ("Les Ateliers du Sart", Single, None),
            ("Café « l'Épicerie » — 2026 ! ½ €", Single, None),
            ("مؤسسة التضامن", Single, None),
            ("社会的連帯", Single, None),
            ("emoji 🌱", Single, None),
            ("", Single, None),
            ("ligne 1\nligne 2", Multi, None),
            ("ligne 1\r\nligne 2\ttab", Multi, None),
            ("ligne 1\nligne 2", Single, Some(8)),
            ("a\tb", Single, Some(2)),
            ("a\rb", Single, Some(2)),
            ("nul\0", Single, Some(4)),
            ("nul\0", Multi, Some(4)),
            ("\u{7}cloche", Multi, Some(1)),
            ("esc\u{1b}[31m", Multi, Some(4)),
            ("del\u{7f}", Multi, Some(4)),
            ("c1\u{85}", Multi, Some(3)),
            ("abc\u{202E}fdp.exe", Single, Some(4)),
            ("\u{202A}x", Multi, Some(1)),
            ("x\u{2066}y\u{2069}", Multi, Some(2)),
            ("x\u{200F}", Single, Some(2)),
            ("x\u{061C}", Single, Some(2)),
            ("ad\u{200B}min", Single, Some(3)),
            ("a\u{200D}b", Single, Some(2)),
            ("\u{FEFF}bom", Multi, Some(1)),
            ("a\u{2060}b", Single, Some(2)),
            ("a\u{00AD}b", Single, Some(2)),
            ("a\u{E0041}", Single, Some(2)),
            ("a\u{2028}b", Multi, Some(2)),
            ("a\u{2029}b", Multi, Some(2)),
        ];
        for (text, lines, expected) in cases {
            let got = check(text, *lines).err().map(|e| e.position);
            assert_eq!(got, *expected, "{text:?} as {lines:?}");
        }
    }

    #[test]
    fn the_message_is_french_and_names_the_character() {
        let e = check("abc\u{202E}x", Lines::Single).unwrap_err();
        assert_eq!(
            e.to_string(),
            "caractère interdit en position 4 : un caractère de contrôle de la direction du \
             texte (U+202E) ; retirez-le"
        );
        let e = check("x\0", Lines::Multi).unwrap_err();
        assert!(e.to_string().contains("caractère nul (U+0000)"));
        let v = single_line("a\nb").unwrap_err();
        assert!(v.message.unwrap().contains("saut de ligne"));
        assert!(multi_line("a\nb").is_ok());
    }

    #[test]
    fn pasted_invisibles_are_removed_and_the_rest_checked() {
        // (typed, kind, accepted as)
        let cases: &[(&str, Lines, Result<&str, usize>)] = &[
            ("Recyclerie", Lines::Single, Ok("Recyclerie")),
            ("ré\u{00AD}em\u{00AD}ploi", Lines::Single, Ok("réemploi")),
            ("a\u{200B}b\u{200C}c\u{200D}d", Lines::Single, Ok("abcd")),
            ("\u{FEFF}Texte", Lines::Multi, Ok("Texte")),
            ("mot\u{2060}joint", Lines::Single, Ok("motjoint")),
            // Control and bidi characters are still refused, at their place once cleaned.
            ("\u{200B}a\0", Lines::Multi, Err(2)),
            ("x\u{202E}y", Lines::Single, Err(2)),
            ("a\u{200F}", Lines::Single, Err(2)),
        ];
        for (typed, lines, expected) in cases {
            let got = accept(typed, *lines)
                .map(Cow::into_owned)
                .map_err(|e| e.position);
            assert_eq!(got, expected.map(str::to_owned), "{typed:?} as {lines:?}");
        }
    }

    #[test]
    fn bytes_that_are_not_utf8_are_refused_where_they_start() {
        assert_eq!(decode("Renée".as_bytes()).unwrap(), "Renée");
        let e = decode(b"Ren\xE9e").unwrap_err();
        assert_eq!(e.position, 4);
        assert!(e.to_string().contains("UTF-8"), "{e}");
        assert!(decode(b"\xFF").is_err());
    }

    #[test]
    fn what_a_refused_field_shows_back() {
        use Lines::{Multi, Single};
        let cases: &[(&str, Lines, &str)] = &[
            ("abc\u{202E}fdp", Multi, "abcfdp"),
            ("nul\0 et \u{7}cloche", Multi, "nul et cloche"),
            ("l1\nl2\tx", Multi, "l1\nl2\tx"),
            ("l1\nl2", Single, "l1l2"),
            ("Ren\u{FFFD}e r\u{AD}\u{200B}emploi", Single, "Rene remploi"),
            ("Café « ok » 🌱", Single, "Café « ok » 🌱"),
        ];
        for (input, lines, shown) in cases {
            let out = without_refused(input, *lines);
            assert_eq!(out, *shown, "{input:?}");
            assert!(accept(&out, *lines).is_ok(), "{out:?} passes the rule");
        }
    }

    #[test]
    fn text_keeps_what_it_checked() {
        assert_eq!(
            Text::parse("Recyclerie", Lines::Single).unwrap().as_str(),
            "Recyclerie"
        );
        assert!(Text::parse("a\u{200B}", Lines::Multi).is_err());
        assert_eq!(
            Text::parse("a\nb", Lines::Multi).unwrap().into_inner(),
            "a\nb"
        );
    }

    #[test]
    fn a_required_field_is_checked_for_its_characters_then_its_presence_then_its_length() {
        assert_eq!(required(" Présidente ", Lines::Single, 10), Ok(()));
        assert_eq!(
            required("   ", Lines::Single, 10),
            Err("ce champ est obligatoire".to_owned())
        );
        assert_eq!(
            required("onze lettres", Lines::Single, 10),
            Err("10 caractères au plus".to_owned())
        );
        assert!(required("a\nb", Lines::Single, 10).is_err());
        assert_eq!(required("a\nb", Lines::Multi, 10), Ok(()));
    }
}

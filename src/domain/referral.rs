//! A commune's referral of a project holder (DESIGN.md §16): the code the holder receives, and
//! what a referral must say.
//!
//! The code is short enough to type from a letter or a phone (`REC-` and 8 characters of an
//! alphabet without the look-alikes 0/O and 1/I/L), long enough not to be guessed (32⁸ ≈ 10¹²
//! codes; an unknown code is refused like a bad field, and the application is only tagged with
//! the commune, so a guessed code gains nothing).

use std::fmt;

/// The characters of a code: digits and capitals without 0, 1, I, L, O.
const ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ_";
const PREFIX: &str = "REC-";
const LEN: usize = 8;

/// A referral code, `REC-7K3M9Q2X`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReferralCode(String);

impl ReferralCode {
    /// A code from random bytes (one character per byte, the byte's low 5 bits; the
    /// alphabet's last entry `_` is never drawn: a byte on it falls back on the first 31).
    pub fn from_random(bytes: [u8; LEN]) -> Self {
        let chars: String = bytes
            .iter()
            .map(|b| ALPHABET[usize::from(b % 31)] as char)
            .collect();
        Self(format!("{PREFIX}{chars}"))
    }

    /// A code as a person typed it: case, spaces and the prefix are forgiven.
    pub fn parse(s: &str) -> Result<Self, String> {
        let cleaned: String = s
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        let body = cleaned.strip_prefix(PREFIX).unwrap_or(&cleaned);
        if body.len() == LEN && body.bytes().all(|b| b != b'_' && ALPHABET.contains(&b)) {
            Ok(Self(format!("{PREFIX}{body}")))
        } else {
            Err("code de recommandation invalide : il a la forme REC- suivi de 8 caractères (ex. REC-7K3M9Q2X)".to_owned())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ReferralCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_typed_back_as_it_was_sent() {
        let code = ReferralCode::from_random([0, 1, 30, 31, 62, 200, 255, 17]);
        assert!(code.as_str().starts_with("REC-"));
        assert_eq!(code.as_str().len(), 12);
        assert!(!code.as_str()[4..].contains('_'));
        for typed in [
            code.as_str().to_owned(),
            code.as_str().to_lowercase(),
            code.as_str()[4..].to_owned(),
            format!(" {} ", code.as_str().replace('-', "- ")),
        ] {
            assert_eq!(ReferralCode::parse(&typed), Ok(code.clone()), "{typed:?}");
        }
    }

    #[test]
    fn look_alikes_and_other_lengths_are_refused() {
        for typed in [
            "",
            "REC-",
            "REC-7K3M9Q2",
            "REC-7K3M9Q2XX",
            "REC-7K3M9Q2O",
            "REC-7K3M9Q21",
            "REC-7K3M9Q2_",
            "REC-7K3M9Q2É",
        ] {
            assert!(ReferralCode::parse(typed).is_err(), "{typed:?}");
        }
    }
}

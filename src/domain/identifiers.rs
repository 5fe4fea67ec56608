//! French register identifiers (DESIGN.md §7): SIRET, SIREN, RNA, postal code, INSEE commune
//! code. Each newtype can only hold a value that passed its check, so code that receives a
//! `Siret` never has to validate it again.
//!
//! Project holders copy these numbers from paper forms, so `parse` forgives surrounding spaces,
//! and for SIRET and SIREN the grouping spaces of the Sirene notice ("732 829 320 00074").

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why an identifier was refused. The messages are shown to the project holder as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdentifierError {
    #[error("le SIRET doit comporter 14 chiffres")]
    SiretLength,
    #[error(
        "la clé de contrôle du SIRET est invalide (vérifiez le numéro sur l'avis de situation Sirene)"
    )]
    SiretKey,
    #[error("le SIREN doit comporter 9 chiffres")]
    SirenLength,
    #[error(
        "la clé de contrôle du SIREN est invalide (vérifiez le numéro sur l'avis de situation Sirene)"
    )]
    SirenKey,
    #[error("le numéro RNA doit être de la forme W suivi de 9 chiffres (ex. W595012345)")]
    RnaFormat,
    #[error("le code postal doit comporter 5 chiffres")]
    PostalCodeFormat,
    #[error("le code commune INSEE doit comporter 5 caractères (ex. 59350)")]
    InseeCodeFormat,
}

/// The common plumbing of a validated string newtype: the string is only reachable read-only,
/// and every way in (`FromStr`, `TryFrom<String>`, serde) goes through `parse`.
macro_rules! string_identifier {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = IdentifierError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdentifierError;

            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(deserializer)?;
                Self::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

/// Numéro SIRET: an establishment, 14 digits (SIREN + NIC).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Siret(String);

/// Numéro SIREN: a legal unit, 9 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Siren(String);

/// Numéro RNA (répertoire national des associations): `W` and 9 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Rna(String);

/// Code postal: 5 digits. Not a commune: one postal code can cover several communes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PostalCode(String);

/// Code officiel géographique of a commune: 5 digits, or `2A`/`2B` and 3 digits in Corsica.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InseeCode(String);

string_identifier!(Siret);
string_identifier!(Siren);
string_identifier!(Rna);
string_identifier!(PostalCode);
string_identifier!(InseeCode);

/// The establishments of La Poste share one SIREN and have too many NICs for the Luhn key, so
/// INSEE checks them by digit sum instead; the head office keeps the ordinary key.
const LA_POSTE_SIREN: &str = "356000000";
const LA_POSTE_HEAD_OFFICE: &str = "35600000000048";

impl Siret {
    pub fn parse(input: &str) -> Result<Self, IdentifierError> {
        let digits = without_spaces(input);
        if !is_digits(&digits, 14) {
            return Err(IdentifierError::SiretLength);
        }
        let key_ok = if digits.starts_with(LA_POSTE_SIREN) && digits != LA_POSTE_HEAD_OFFICE {
            digit_sum(&digits).is_multiple_of(5)
        } else {
            luhn_valid(&digits)
        };
        if key_ok {
            Ok(Self(digits))
        } else {
            Err(IdentifierError::SiretKey)
        }
    }

    /// The SIREN of the legal unit this establishment belongs to. Not re-checked: INSEE
    /// allocates SIRET numbers under a valid SIREN.
    pub fn siren(&self) -> Siren {
        Siren(self.0[..9].to_owned())
    }
}

impl Siren {
    pub fn parse(input: &str) -> Result<Self, IdentifierError> {
        let digits = without_spaces(input);
        if !is_digits(&digits, 9) {
            return Err(IdentifierError::SirenLength);
        }
        if luhn_valid(&digits) {
            Ok(Self(digits))
        } else {
            Err(IdentifierError::SirenKey)
        }
    }
}

impl Rna {
    /// The register writes an upper-case `W`; a lower-case one is refused rather than fixed, so
    /// what is stored is what the holder will find on their récépissé.
    pub fn parse(input: &str) -> Result<Self, IdentifierError> {
        let s = input.trim();
        match s.strip_prefix('W') {
            Some(rest) if is_digits(rest, 9) => Ok(Self(s.to_owned())),
            _ => Err(IdentifierError::RnaFormat),
        }
    }
}

impl PostalCode {
    pub fn parse(input: &str) -> Result<Self, IdentifierError> {
        let s = input.trim();
        if is_digits(s, 5) {
            Ok(Self(s.to_owned()))
        } else {
            Err(IdentifierError::PostalCodeFormat)
        }
    }
}

impl InseeCode {
    pub fn parse(input: &str) -> Result<Self, IdentifierError> {
        let s = input.trim();
        let corsica = s
            .strip_prefix("2A")
            .or_else(|| s.strip_prefix("2B"))
            .is_some_and(|rest| is_digits(rest, 3));
        if is_digits(s, 5) || corsica {
            Ok(Self(s.to_owned()))
        } else {
            Err(IdentifierError::InseeCodeFormat)
        }
    }
}

fn without_spaces(input: &str) -> String {
    input.chars().filter(|c| !c.is_whitespace()).collect()
}

fn is_digits(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit())
}

fn digit_values(s: &str) -> impl DoubleEndedIterator<Item = u32> + '_ {
    s.bytes().map(|b| u32::from(b - b'0'))
}

fn digit_sum(s: &str) -> u32 {
    digit_values(s).sum()
}

/// Luhn: from the right, every second digit is doubled (minus 9 past 9); the total must be a
/// multiple of 10. Only called on strings of ASCII digits.
fn luhn_valid(s: &str) -> bool {
    let total: u32 = digit_values(s)
        .rev()
        .enumerate()
        .map(|(i, d)| match (i % 2 == 1, d * 2) {
            (true, doubled) if doubled > 9 => doubled - 9,
            (true, doubled) => doubled,
            (false, _) => d,
        })
        .sum();
    total.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;
    use IdentifierError::*;

    #[test]
    fn siret_cases() {
        let cases: &[(&str, Result<&str, IdentifierError>)] = &[
            ("73282932000074", Ok("73282932000074")),
            ("732 829 320 00074", Ok("73282932000074")),
            ("  73282932000074\n", Ok("73282932000074")),
            ("732\u{a0}829\u{a0}320\u{a0}00074", Ok("73282932000074")),
            ("73282932000079", Err(SiretKey)),
            ("73282932000075", Err(SiretKey)),
            // La Poste: digit sum 45, not a Luhn number.
            ("35600000049837", Ok("35600000049837")),
            ("356 000 000 49837", Ok("35600000049837")),
            ("35600000049838", Err(SiretKey)),
            // La Poste head office: ordinary Luhn key.
            ("35600000000048", Ok("35600000000048")),
            ("35600000000049", Err(SiretKey)),
            // A Luhn-valid La Poste number whose digit sum is not a multiple of 5.
            ("35600000000014", Err(SiretKey)),
            ("", Err(SiretLength)),
            ("7328293200007", Err(SiretLength)),
            ("732829320000740", Err(SiretLength)),
            ("7328293200007A", Err(SiretLength)),
            ("73282932O00074", Err(SiretLength)),
            ("732-829-320-00074", Err(SiretLength)),
            ("７３２８２９３２０００７４", Err(SiretLength)),
        ];
        for (input, expected) in cases {
            let got = Siret::parse(input);
            assert_eq!(
                got.as_ref().map(Siret::as_str).map_err(|e| *e),
                *expected,
                "Siret::parse({input:?})"
            );
        }
    }

    #[test]
    fn la_poste_numbers_are_not_luhn_numbers() {
        // Guards the test table above: the exception is really exercised.
        assert!(!luhn_valid("35600000049837"));
        assert!(luhn_valid("35600000000014"));
        assert!(luhn_valid("35600000000048"));
    }

    #[test]
    fn siret_gives_its_siren() {
        let siret = Siret::parse("732 829 320 00074").unwrap();
        assert_eq!(siret.siren(), Siren::parse("732829320").unwrap());
        assert_eq!(siret.siren().as_str(), "732829320");
    }

    #[test]
    fn siren_cases() {
        let cases: &[(&str, Result<&str, IdentifierError>)] = &[
            ("732829320", Ok("732829320")),
            ("732 829 320", Ok("732829320")),
            ("356000000", Ok("356000000")),
            ("200093201", Ok("200093201")),
            ("732829321", Err(SirenKey)),
            ("73282932", Err(SirenLength)),
            ("7328293200", Err(SirenLength)),
            ("73282932A", Err(SirenLength)),
            ("", Err(SirenLength)),
        ];
        for (input, expected) in cases {
            let got = Siren::parse(input);
            assert_eq!(
                got.as_ref().map(Siren::as_str).map_err(|e| *e),
                *expected,
                "Siren::parse({input:?})"
            );
        }
    }

    #[test]
    fn rna_cases() {
        let cases: &[(&str, Result<&str, IdentifierError>)] = &[
            ("W595012345", Ok("W595012345")),
            (" W595012345 ", Ok("W595012345")),
            ("w595012345", Err(RnaFormat)),
            ("W59501234", Err(RnaFormat)),
            ("W5950123456", Err(RnaFormat)),
            ("W59501234A", Err(RnaFormat)),
            ("595012345", Err(RnaFormat)),
            ("X595012345", Err(RnaFormat)),
            ("W 595012345", Err(RnaFormat)),
            ("", Err(RnaFormat)),
        ];
        for (input, expected) in cases {
            let got = Rna::parse(input);
            assert_eq!(
                got.as_ref().map(Rna::as_str).map_err(|e| *e),
                *expected,
                "Rna::parse({input:?})"
            );
        }
    }

    #[test]
    fn postal_code_cases() {
        let cases: &[(&str, Result<&str, IdentifierError>)] = &[
            ("59000", Ok("59000")),
            ("59650", Ok("59650")),
            (" 59000 ", Ok("59000")),
            ("01000", Ok("01000")),
            ("5900", Err(PostalCodeFormat)),
            ("590000", Err(PostalCodeFormat)),
            ("59 000", Err(PostalCodeFormat)),
            ("2A000", Err(PostalCodeFormat)),
            ("", Err(PostalCodeFormat)),
        ];
        for (input, expected) in cases {
            let got = PostalCode::parse(input);
            assert_eq!(
                got.as_ref().map(PostalCode::as_str).map_err(|e| *e),
                *expected,
                "PostalCode::parse({input:?})"
            );
        }
    }

    #[test]
    fn insee_code_cases() {
        let cases: &[(&str, Result<&str, IdentifierError>)] = &[
            ("59350", Ok("59350")),
            ("59009", Ok("59009")),
            (" 59350 ", Ok("59350")),
            ("2A004", Ok("2A004")),
            ("2B033", Ok("2B033")),
            ("97411", Ok("97411")),
            ("2a004", Err(InseeCodeFormat)),
            ("2C004", Err(InseeCodeFormat)),
            ("3A004", Err(InseeCodeFormat)),
            ("2A04", Err(InseeCodeFormat)),
            ("5935", Err(InseeCodeFormat)),
            ("593500", Err(InseeCodeFormat)),
            ("59 350", Err(InseeCodeFormat)),
            ("", Err(InseeCodeFormat)),
        ];
        for (input, expected) in cases {
            let got = InseeCode::parse(input);
            assert_eq!(
                got.as_ref().map(InseeCode::as_str).map_err(|e| *e),
                *expected,
                "InseeCode::parse({input:?})"
            );
        }
    }

    #[test]
    fn messages_are_french_sentences() {
        let cases = [
            (SiretLength, "le SIRET doit comporter 14 chiffres"),
            (
                SiretKey,
                "la clé de contrôle du SIRET est invalide (vérifiez le numéro sur l'avis de situation Sirene)",
            ),
            (SirenLength, "le SIREN doit comporter 9 chiffres"),
            (
                RnaFormat,
                "le numéro RNA doit être de la forme W suivi de 9 chiffres (ex. W595012345)",
            ),
            (PostalCodeFormat, "le code postal doit comporter 5 chiffres"),
            (
                InseeCodeFormat,
                "le code commune INSEE doit comporter 5 caractères (ex. 59350)",
            ),
        ];
        for (error, message) in cases {
            assert_eq!(error.to_string(), message);
        }
    }

    #[test]
    fn display_from_str_and_into_string() {
        let siret: Siret = "732 829 320 00074".parse().unwrap();
        assert_eq!(siret.to_string(), "73282932000074");
        assert_eq!(String::from(siret), "73282932000074");
        assert_eq!(
            "W595012345".parse::<Rna>().unwrap().to_string(),
            "W595012345"
        );
        assert_eq!("x".parse::<InseeCode>(), Err(InseeCodeFormat));
    }

    #[test]
    fn serde_round_trip_as_plain_strings() {
        let siret = Siret::parse("73282932000074").unwrap();
        assert_eq!(
            serde_json::to_string(&siret).unwrap(),
            r#""73282932000074""#
        );
        let back: Siret = serde_json::from_str(r#""732 829 320 00074""#).unwrap();
        assert_eq!(back, siret);

        let insee: InseeCode = serde_json::from_str(r#""2B033""#).unwrap();
        assert_eq!(
            serde_json::to_value(&insee).unwrap(),
            serde_json::json!("2B033")
        );
    }

    #[test]
    fn deserializing_an_invalid_value_gives_the_french_message() {
        let err = serde_json::from_str::<Siret>(r#""73282932000079""#).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("la clé de contrôle du SIRET est invalide"),
            "{err}"
        );
        assert!(serde_json::from_str::<PostalCode>("59000").is_err());
    }
}

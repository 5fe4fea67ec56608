//! The documents essor writes itself (DESIGN.md §15): their kinds, and what makes one
//! letter's bytes identifiable for ever (its SHA-256, written in the audit event).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::domain::application_state::ApplicationState;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum LetterKind {
    /// The arrêté attributif: the amount, the instalments, the obligations.
    Award,
    Refusal,
    Ineligibility,
    Convention,
    SignedConvention,
    /// The convention as staff countersigned it on paper: a scanned copy they upload, the
    /// only letter essor keeps without having written it.
    CountersignedConvention,
    Recovery,
}

impl LetterKind {
    pub const ALL: [LetterKind; 7] = [
        Self::Award,
        Self::Refusal,
        Self::Ineligibility,
        Self::Convention,
        Self::SignedConvention,
        Self::CountersignedConvention,
        Self::Recovery,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Award => "award",
            Self::Refusal => "refusal",
            Self::Ineligibility => "ineligibility",
            Self::Convention => "convention",
            Self::SignedConvention => "signed_convention",
            Self::CountersignedConvention => "countersigned_convention",
            Self::Recovery => "recovery",
        }
    }

    /// The document's title, as its first line and its PDF title say it.
    pub fn title_fr(self) -> &'static str {
        match self {
            Self::Award => "Arrêté attributif de subvention",
            Self::Refusal => "Notification de refus de subvention",
            Self::Ineligibility => "Notification d'inéligibilité de la candidature",
            Self::Convention => "Convention d'attribution de subvention",
            Self::SignedConvention => "Convention d'attribution de subvention signée",
            Self::CountersignedConvention => {
                "Convention d'attribution de subvention contresignée (copie numérisée)"
            }
            Self::Recovery => "Demande de reversement de subvention",
        }
    }

    /// The file name offered on download and in the mail's attachment.
    pub fn file_name(self, reference: &str) -> String {
        let safe: String = reference
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let stem = match self {
            Self::Award => "arrete-attributif",
            Self::Refusal => "notification-refus",
            Self::Ineligibility => "notification-ineligibilite",
            Self::Convention => "convention",
            Self::SignedConvention => "convention-signee",
            Self::CountersignedConvention => "convention-contresignee",
            Self::Recovery => "demande-reversement",
        };
        format!("{stem}-{safe}.pdf")
    }

    /// The letter that notifies a decision, by the state it leads to.
    pub fn of_decision(to: ApplicationState) -> Option<LetterKind> {
        match to {
            ApplicationState::Accepted => Some(Self::Award),
            ApplicationState::Rejected => Some(Self::Refusal),
            ApplicationState::Ineligible => Some(Self::Ineligibility),
            _ => None,
        }
    }
}

impl fmt::Display for LetterKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LetterKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("type de courrier inconnu : « {s} »"))
    }
}

/// The SHA-256 of a document's bytes, in lowercase hex: what the audit event records and an
/// auditor recomputes from the downloaded file (`sha256sum`).
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_name_their_files() {
        for kind in LetterKind::ALL {
            assert_eq!(kind.as_str().parse::<LetterKind>(), Ok(kind));
            assert!(
                kind.file_name("EA-2027-0001")
                    .ends_with("-EA-2027-0001.pdf")
            );
        }
        assert_eq!(
            LetterKind::Award.file_name("a/b c"),
            "arrete-attributif-a_b_c.pdf"
        );
        assert_eq!(
            LetterKind::of_decision(ApplicationState::Accepted),
            Some(LetterKind::Award)
        );
        assert_eq!(
            LetterKind::of_decision(ApplicationState::Ineligible),
            Some(LetterKind::Ineligibility)
        );
        assert_eq!(LetterKind::of_decision(ApplicationState::Withdrawn), None);
    }

    #[test]
    fn the_digest_is_sha256sum_s() {
        // printf 'abc' | sha256sum
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}

//! The territory of the Métropole Européenne de Lille (DESIGN.md §6): its member communes, and
//! the rule that an activity must take place in one of the call's communes.
//!
//! The list is a dated data file generated from Etalab's découpage administratif by
//! `scripts/update-territory`, embedded at compile time so the service needs no file at run time.

use std::sync::LazyLock;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// SIREN of the Métropole Européenne de Lille as an EPCI.
pub const MEL_EPCI_SIREN: &str = "200093201";

/// INSEE code of Lille.
pub const LILLE: &str = "59350";

/// Lomme and Hellemmes-Lille are communes associées of Lille: they keep an INSEE code (and
/// applicants use it) but are not members of the EPCI in their own right.
const ASSOCIATED_WITH_LILLE: [&str; 2] = ["59355", "59298"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commune {
    pub insee: String,
    pub name: String,
}

/// Where the embedded list comes from, e.g. for an export's metadata or a support question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerritorySource {
    /// Package, version and file the list was read from.
    pub source: String,
    pub epci_siren: String,
    pub epci_name: String,
    pub generated_on: NaiveDate,
}

#[derive(Deserialize)]
struct TerritoryFile {
    #[serde(flatten)]
    source: TerritorySource,
    communes: Vec<Commune>,
}

static MEL: LazyLock<TerritoryFile> = LazyLock::new(|| {
    serde_json::from_str(include_str!("../../data/territory/mel-communes.json"))
        .expect("data/territory/mel-communes.json is embedded and must be valid")
});

pub fn mel_source() -> &'static TerritorySource {
    &MEL.source
}

/// The member communes of the MEL, sorted by INSEE code.
pub fn mel_communes() -> &'static [Commune] {
    &MEL.communes
}

/// The default `territory` of a call: every member commune's INSEE code.
pub fn mel_insee_codes() -> Vec<String> {
    MEL.communes.iter().map(|c| c.insee.clone()).collect()
}

/// The name of a member commune of the MEL (only those: this is not a national gazetteer).
pub fn commune_name(insee: &str) -> Option<&'static str> {
    MEL.communes
        .binary_search_by(|c| c.insee.as_str().cmp(insee))
        .ok()
        .map(|i| MEL.communes[i].name.as_str())
}

/// The commune an INSEE code counts as: Lomme and Hellemmes-Lille count as Lille.
pub fn canonical_commune(insee: &str) -> &str {
    if ASSOCIATED_WITH_LILLE.contains(&insee) {
        LILLE
    } else {
        insee
    }
}

/// Whether `insee` lies in `territory`. Both sides are canonicalised, so an activity in Lomme is
/// in any territory that contains Lille, and a territory written with Lomme's code still
/// matches Lomme.
pub fn is_in_territory(insee: &str, territory: &[String]) -> bool {
    let wanted = canonical_commune(insee);
    territory.iter().any(|t| canonical_commune(t) == wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mel_has_95_communes_sorted_and_unique() {
        let communes = mel_communes();
        assert_eq!(communes.len(), 95);
        assert_eq!(mel_source().epci_siren, MEL_EPCI_SIREN);
        assert_eq!(mel_source().epci_name, "Métropole Européenne de Lille");
        assert!(
            mel_source()
                .source
                .starts_with("@etalab/decoupage-administratif ")
        );
        assert!(
            communes.windows(2).all(|w| w[0].insee < w[1].insee),
            "sorted by INSEE code, no duplicates (commune_name relies on it)"
        );
        assert!(communes.iter().all(|c| c.insee.starts_with("59")));
        assert_eq!(mel_insee_codes().len(), 95);
    }

    #[test]
    fn commune_names() {
        let cases = [
            ("59350", Some("Lille")),
            ("59512", Some("Roubaix")),
            ("59599", Some("Tourcoing")),
            ("59009", Some("Villeneuve-d'Ascq")),
            ("62041", None),
            ("59355", None),
            ("", None),
        ];
        for (insee, expected) in cases {
            assert_eq!(commune_name(insee), expected, "{insee}");
        }
    }

    #[test]
    fn canonical_communes() {
        let cases = [
            ("59355", "59350"),
            ("59298", "59350"),
            ("59350", "59350"),
            ("59512", "59512"),
            ("62041", "62041"),
        ];
        for (insee, expected) in cases {
            assert_eq!(canonical_commune(insee), expected, "{insee}");
        }
    }

    #[test]
    fn membership_of_the_mel() {
        let mel = mel_insee_codes();
        let cases = [
            ("59350", true, "Lille"),
            ("59512", true, "Roubaix"),
            ("59599", true, "Tourcoing"),
            ("59009", true, "Villeneuve-d'Ascq"),
            ("59355", true, "Lomme, via Lille"),
            ("59298", true, "Hellemmes-Lille, via Lille"),
            ("62041", false, "Arras"),
            ("59183", false, "Dunkerque"),
            ("", false, "empty"),
        ];
        for (insee, expected, who) in cases {
            assert_eq!(is_in_territory(insee, &mel), expected, "{who} ({insee})");
        }
    }

    #[test]
    fn membership_of_a_narrower_territory() {
        let lille_only = vec![LILLE.to_owned()];
        let lomme_only = vec!["59355".to_owned()];
        let cases: [(&str, &[String], bool); 7] = [
            ("59355", &lille_only, true),
            ("59298", &lille_only, true),
            ("59350", &lille_only, true),
            ("59512", &lille_only, false),
            ("59355", &lomme_only, true),
            ("59350", &lomme_only, true),
            ("59355", &[], false),
        ];
        for (insee, territory, expected) in cases {
            assert_eq!(
                is_in_territory(insee, territory),
                expected,
                "{insee} in {territory:?}"
            );
        }
    }
}

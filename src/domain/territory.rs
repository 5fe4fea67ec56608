//! The territory of the Métropole Européenne de Lille (DESIGN.md §6): its member communes, and
//! the rule that an activity must take place in one of the call's communes.
//!
//! The list is a dated data file generated from Etalab's découpage administratif by
//! `scripts/update-territory`, embedded at compile time so the service needs no file at run time.

use std::sync::LazyLock;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::money::Cents;

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
    /// The commune's own SIREN (a collectivité's, not the EPCI's).
    pub siren: String,
    /// The legal population (Lille's includes Lomme and Hellemmes-Lille).
    pub population: u32,
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

#[expect(
    clippy::expect_used,
    reason = "the communes' file is embedded at build time and read by a unit test"
)]
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

/// One commune's figures.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CommuneFigures {
    /// INSEE code (Lomme's and Hellemmes-Lille's applications count in Lille's, 59350).
    #[schema(example = "59512")]
    pub insee: String,
    #[schema(example = "Roubaix")]
    pub name: String,
    /// Legal population (@etalab/decoupage-administratif).
    #[schema(example = 98892)]
    pub population: u32,
    /// Applications submitted (never drafts) whose activity takes place in the commune.
    #[schema(example = 12)]
    pub applications: i64,
    /// Of those, the eligible ones as they stand: sent to the committee (under review,
    /// accepted, rejected), or not screened yet and judged eligible by the rules.
    #[schema(example = 9)]
    pub eligible: i64,
    /// Of those, the ones awarded a grant.
    #[schema(example = 4)]
    pub awarded: i64,
    /// The amounts awarded, in cents.
    #[schema(value_type = i64, example = 5600000)]
    pub awarded_cents: Cents,
    /// `applications` per 10 000 inhabitants, to one decimal.
    #[schema(example = 1.2)]
    pub per_10k_inhabitants: Option<f64>,
    /// Project holders the commune recommended the call to (§16), in the call or the year.
    #[schema(example = 3)]
    pub referrals: i64,
    /// Submitted applications started from one of the commune's referrals.
    #[schema(example = 1)]
    pub referred_applications: i64,
}

/// The whole territory's figures, each application counted once.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct TerritoryTotals {
    pub applications: i64,
    pub eligible: i64,
    pub awarded: i64,
    #[schema(value_type = i64)]
    pub awarded_cents: Cents,
    /// Communes where not a single application was submitted.
    pub communes_without_application: usize,
    pub referrals: i64,
    pub referred_applications: i64,
}

/// A member commune of the MEL, by its INSEE code (Lomme and Hellemmes-Lille are not: they
/// count as Lille, see [`canonical_commune`]).
pub fn mel_commune(insee: &str) -> Option<&'static Commune> {
    MEL.communes
        .binary_search_by(|c| c.insee.as_str().cmp(insee))
        .ok()
        .map(|i| &MEL.communes[i])
}

/// The communes of an application's activity as the territory counts them: each canonical
/// (Lomme and Hellemmes as Lille), once, sorted.
pub fn canonical_communes(codes: &[String]) -> Vec<String> {
    let mut out: Vec<String> = codes
        .iter()
        .map(|c| canonical_commune(c.trim()).to_owned())
        .filter(|c| !c.is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// « à Roubaix », « au Maisnil », « aux … », « à La Madeleine »: where, in French, before a
/// commune's name (its article contracts with « à »).
pub fn in_commune(name: &str) -> String {
    if let Some(rest) = name.strip_prefix("Le ") {
        format!("au {rest}")
    } else if let Some(rest) = name.strip_prefix("Les ") {
        format!("aux {rest}")
    } else {
        format!("à {name}")
    }
}

/// « de Roubaix », « du Maisnil », « des Attaques », « d'Armentières »: a commune after
/// « la commune ».
pub fn of_commune(name: &str) -> String {
    if let Some(rest) = name.strip_prefix("Le ") {
        format!("du {rest}")
    } else if let Some(rest) = name.strip_prefix("Les ") {
        format!("des {rest}")
    } else if name
        .chars()
        .next()
        .is_some_and(|c| "AEIOUYHÉÈÊÂÎÔÛaeiouyhéèêâîôû".contains(c))
    {
        format!("d'{name}")
    } else {
        format!("de {name}")
    }
}

/// How many per 10 000 inhabitants, to one decimal; `None` without a population.
pub fn per_10k(count: i64, population: u32) -> Option<f64> {
    if population == 0 {
        return None;
    }
    let raw = count as f64 * 10_000.0 / f64::from(population);
    Some((raw * 10.0).round() / 10.0)
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
        assert!(
            communes
                .iter()
                .all(|c| c.population > 0 && c.siren.len() == 9),
            "every commune has its population and SIREN"
        );
        let total: u64 = communes.iter().map(|c| u64::from(c.population)).sum();
        assert!(
            (1_100_000..1_300_000).contains(&total),
            "the MEL has about 1.2 million inhabitants, not {total}"
        );
        assert_eq!(
            mel_commune(LILLE).map(|c| c.siren.as_str()),
            Some("215903501")
        );
    }

    #[test]
    fn canonical_communes_of_an_activity() {
        let cases: [(&[&str], &[&str]); 5] = [
            (&[], &[]),
            (&["59355", "59298", "59350"], &["59350"]),
            (&["59512", "59009", "59512"], &["59009", "59512"]),
            (&[" 59599 "], &["59599"]),
            (&["", "59350"], &["59350"]),
        ];
        for (codes, expected) in cases {
            let codes: Vec<String> = codes.iter().map(|c| (*c).to_owned()).collect();
            assert_eq!(canonical_communes(&codes), expected, "{codes:?}");
        }
    }

    #[test]
    fn where_in_french() {
        let cases = [
            ("Roubaix", "à Roubaix"),
            ("Le Maisnil", "au Maisnil"),
            ("Les Rues-des-Vignes", "aux Rues-des-Vignes"),
            ("La Madeleine", "à La Madeleine"),
            ("Lesquin", "à Lesquin"),
            ("Lezennes", "à Lezennes"),
        ];
        for (name, expected) in cases {
            assert_eq!(in_commune(name), expected);
        }
    }

    #[test]
    fn of_which_commune_in_french() {
        let cases = [
            ("Roubaix", "de Roubaix"),
            ("Le Maisnil", "du Maisnil"),
            ("Les Rues-des-Vignes", "des Rues-des-Vignes"),
            ("La Madeleine", "de La Madeleine"),
            ("Armentières", "d'Armentières"),
            ("Hem", "d'Hem"),
            ("Halluin", "d'Halluin"),
            ("Lesquin", "de Lesquin"),
        ];
        for (name, expected) in cases {
            assert_eq!(of_commune(name), expected, "{name}");
        }
    }

    #[test]
    fn per_ten_thousand_inhabitants() {
        let cases = [
            (0, 1000, Some(0.0)),
            (1, 10_000, Some(1.0)),
            (3, 238_246, Some(0.1)),
            (7, 3545, Some(19.7)),
            (1, 0, None),
        ];
        for (count, population, expected) in cases {
            assert_eq!(per_10k(count, population), expected, "{count}/{population}");
        }
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
    fn canonical_commune_codes() {
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

//! Versioned rule sets of the call « Entreprendre autrement » (DESIGN.md §8).
//!
//! A rule set is data: adding `mel-2027` means adding one value to [`RULE_SETS`]. A call names
//! its rule set (`rules_version`); an eligibility report names the version it used.

use serde::Serialize;

/// The rule set used when a call does not name one.
pub const DEFAULT_RULES_VERSION: &str = "mel-2021";

/// Age from which a commercial company asking for development support must hold the ESUS
/// approval (ESUS-1). The same for every rule set so far; DESIGN.md §8 states it without a
/// version.
pub const ESUS_MIN_AGE_YEARS: i32 = 3;

/// One version of the call's rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RuleSet {
    /// `mel-2021`, `mel-2024`, …
    pub version: &'static str,
    /// Largest award per project, in euro cents; a call may set a lower cap of its own.
    pub max_award_cap_cents: i64,
    /// Default for the call's `max_budget_share_pct` (award ≤ this % of the project budget).
    pub default_budget_share_pct: Option<u8>,
    /// A structure younger than this (in whole years) is at the start-up stage.
    pub startup_max_age_years: u32,
}

/// Every known rule set, oldest first.
pub const RULE_SETS: &[RuleSet] = &[
    RuleSet {
        version: "mel-2021",
        max_award_cap_cents: 2_000_000,
        default_budget_share_pct: None,
        startup_max_age_years: 3,
    },
    RuleSet {
        version: "mel-2024",
        max_award_cap_cents: 3_000_000,
        default_budget_share_pct: Some(30),
        startup_max_age_years: 5,
    },
];

impl RuleSet {
    /// The rule set named `version`, if it exists.
    pub fn find(version: &str) -> Option<&'static RuleSet> {
        RULE_SETS.iter().find(|r| r.version == version)
    }

    /// The rule set named by [`DEFAULT_RULES_VERSION`].
    #[expect(
        clippy::expect_used,
        reason = "DEFAULT_RULES_VERSION names a rule set of the table (a unit test holds it)"
    )]
    pub fn default_set() -> &'static RuleSet {
        Self::find(DEFAULT_RULES_VERSION).expect("DEFAULT_RULES_VERSION names a rule set")
    }

    /// The known versions, for validation messages (« mel-2021, mel-2024 »).
    pub fn known_versions() -> Vec<&'static str> {
        RULE_SETS.iter().map(|r| r.version).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_known_versions() {
        let r = RuleSet::find("mel-2021").expect("mel-2021");
        assert_eq!(r.max_award_cap_cents, 2_000_000);
        assert_eq!(r.default_budget_share_pct, None);
        assert_eq!(r.startup_max_age_years, 3);

        let r = RuleSet::find("mel-2024").expect("mel-2024");
        assert_eq!(r.max_award_cap_cents, 3_000_000);
        assert_eq!(r.default_budget_share_pct, Some(30));
        assert_eq!(r.startup_max_age_years, 5);
    }

    #[test]
    fn find_unknown_versions() {
        for v in ["", "mel-2022", "MEL-2021", " mel-2021", "mel-2021 "] {
            assert!(RuleSet::find(v).is_none(), "{v:?}");
        }
    }

    #[test]
    fn default_is_mel_2021() {
        assert_eq!(RuleSet::default_set().version, "mel-2021");
        assert_eq!(RuleSet::known_versions(), vec!["mel-2021", "mel-2024"]);
    }

    #[test]
    fn versions_are_unique_and_sane() {
        for (i, a) in RULE_SETS.iter().enumerate() {
            assert!(a.max_award_cap_cents > 0, "{}", a.version);
            assert!(a.startup_max_age_years > 0, "{}", a.version);
            assert!(
                a.default_budget_share_pct
                    .is_none_or(|p| (1..=100).contains(&p)),
                "{}",
                a.version
            );
            for b in &RULE_SETS[i + 1..] {
                assert_ne!(a.version, b.version);
            }
        }
    }
}

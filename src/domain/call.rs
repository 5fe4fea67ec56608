//! Calls for projects (DESIGN.md §6): their settings and defaults, their life cycle
//! (draft -> published -> closed), the submission window in Europe/Paris time, and which edits
//! a published call may still take.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Europe::Paris;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::eligibility::RuleSet;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    ToSchema,
    diesel::AsExpression,
    diesel::FromSqlRow,
)]
#[serde(rename_all = "snake_case")]
// Stored as its `as_str` text (`db::sql_types`).
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum CallState {
    Draft,
    Published,
    Closed,
}

impl CallState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Published => "published",
            Self::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Draft, Self::Published, Self::Closed]
            .into_iter()
            .find(|c| c.as_str() == s)
    }

    pub fn label_fr(self) -> &'static str {
        match self {
            Self::Draft => "en préparation",
            Self::Published => "publié",
            Self::Closed => "clos",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallAction {
    Publish,
    Close,
}

/// The call's life cycle: publish a draft, close a published call; nothing else.
pub fn call_transition(from: CallState, action: CallAction) -> Result<CallState, String> {
    match (from, action) {
        (CallState::Draft, CallAction::Publish) => Ok(CallState::Published),
        (CallState::Published, CallAction::Close) => Ok(CallState::Closed),
        (state, CallAction::Publish) => Err(format!(
            "seul un appel en préparation peut être publié (celui-ci est {})",
            state.label_fr()
        )),
        (state, CallAction::Close) => Err(format!(
            "seul un appel publié peut être clos (celui-ci est {})",
            state.label_fr()
        )),
    }
}

/// One line of the scoring grid (DESIGN.md §9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoringCriterion {
    #[schema(example = "social_utility")]
    pub key: String,
    #[schema(example = "Utilité sociale, besoin non satisfait")]
    pub label: String,
    #[schema(example = 3, minimum = 1, maximum = 100)]
    pub weight: u32,
    #[schema(example = 5, minimum = 1, maximum = 100)]
    pub max_score: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequiredDocument {
    #[schema(example = "statuts")]
    pub key: String,
    #[schema(example = "Statuts à jour")]
    pub label: String,
}

/// A document kind an applicant may always attach besides the required ones.
pub const OTHER_DOCUMENT_KIND: &str = "annexe";

/// The kinds of document that are bank details: staff need them to pay, a reviewer judging
/// the project never sees them (DESIGN.md §13).
pub const BANK_DOCUMENT_KINDS: &[&str] = &["rib"];

pub fn is_bank_document(kind: &str) -> bool {
    BANK_DOCUMENT_KINDS.contains(&kind)
}

/// The annexes of the final report (DESIGN.md §15: invoices, photos, the accounts): attached
/// by the beneficiary after the decision, read by staff; nothing for a reviewer, who judged
/// the application before it.
pub const REPORT_ANNEX_KIND: &str = "report_annex";

/// Whether a reviewer may read a document of this kind: neither bank details nor the report's
/// annexes.
pub fn is_hidden_from_reviewers(kind: &str) -> bool {
    is_bank_document(kind) || kind == REPORT_ANNEX_KIND
}

pub fn default_scoring_grid() -> Vec<ScoringCriterion> {
    let c = |key: &str, label: &str, weight| ScoringCriterion {
        key: key.into(),
        label: label.into(),
        weight,
        max_score: 5,
    };
    vec![
        c("social_utility", "Utilité sociale, besoin non satisfait", 3),
        c(
            "territorial_anchoring",
            "Ancrage territorial, partenariats locaux",
            2,
        ),
        c("governance", "Gouvernance démocratique", 2),
        c("economic_viability", "Viabilité du modèle économique", 2),
        c("jobs", "Création d'emplois", 1),
    ]
}

pub fn default_required_documents() -> Vec<RequiredDocument> {
    let d = |key: &str, label: &str| RequiredDocument {
        key: key.into(),
        label: label.into(),
    };
    vec![
        d("statuts", "Statuts à jour"),
        d("budget_previsionnel", "Budget prévisionnel du projet"),
        d("rib", "Relevé d'identité bancaire"),
    ]
}

pub const DEFAULT_MIN_REVIEWS: u32 = 2;
pub const MAX_MIN_REVIEWS: u32 = 20;

/// Is `s` a key: lower-case ASCII letters, digits and underscores, 1 to 50 characters?
pub fn is_key(s: &str) -> bool {
    (1..=50).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && s.as_bytes()[0].is_ascii_lowercase()
}

/// Checks a grid; messages are keyed by field path relative to the grid.
pub fn check_scoring_grid(grid: &[ScoringCriterion]) -> Vec<(String, String)> {
    let mut errors = Vec::new();
    if grid.is_empty() {
        errors.push((
            String::new(),
            "la grille de notation doit avoir au moins un critère".into(),
        ));
    }
    if grid.len() > 30 {
        errors.push((
            String::new(),
            "la grille de notation a trop de critères (30 au plus)".into(),
        ));
    }
    for (i, c) in grid.iter().enumerate() {
        if !is_key(&c.key) {
            errors.push((
                format!("[{i}].key"),
                "clé invalide : lettres minuscules, chiffres et _".into(),
            ));
        } else if grid[..i].iter().any(|o| o.key == c.key) {
            errors.push((
                format!("[{i}].key"),
                format!("la clé « {} » apparaît deux fois", c.key),
            ));
        }
        if c.label.trim().is_empty() || c.label.chars().count() > 200 {
            errors.push((
                format!("[{i}].label"),
                "libellé obligatoire, 200 caractères au plus".into(),
            ));
        }
        if let Err(e) = crate::domain::text::check(&c.label, crate::domain::text::Lines::Single) {
            errors.push((format!("[{i}].label"), e.to_string()));
        }
        if !(1..=100).contains(&c.weight) {
            errors.push((
                format!("[{i}].weight"),
                "le poids doit être entre 1 et 100".into(),
            ));
        }
        if !(1..=100).contains(&c.max_score) {
            errors.push((
                format!("[{i}].max_score"),
                "la note maximale doit être entre 1 et 100".into(),
            ));
        }
    }
    errors
}

pub fn check_required_documents(docs: &[RequiredDocument]) -> Vec<(String, String)> {
    let mut errors = Vec::new();
    if docs.len() > 30 {
        errors.push((
            String::new(),
            "trop de pièces demandées (30 au plus)".into(),
        ));
    }
    for (i, d) in docs.iter().enumerate() {
        if !is_key(&d.key) || d.key == OTHER_DOCUMENT_KIND {
            errors.push((
                format!("[{i}].key"),
                format!("clé invalide : lettres minuscules, chiffres et _ (« {OTHER_DOCUMENT_KIND} » est réservé)"),
            ));
        } else if docs[..i].iter().any(|o| o.key == d.key) {
            errors.push((
                format!("[{i}].key"),
                format!("la clé « {} » apparaît deux fois", d.key),
            ));
        }
        if d.label.trim().is_empty() || d.label.chars().count() > 200 {
            errors.push((
                format!("[{i}].label"),
                "libellé obligatoire, 200 caractères au plus".into(),
            ));
        }
        if let Err(e) = crate::domain::text::check(&d.label, crate::domain::text::Lines::Single) {
            errors.push((format!("[{i}].label"), e.to_string()));
        }
    }
    errors
}

/// The cap a call may set: at most its rule set's.
pub fn check_max_award(rule_set: &RuleSet, max_award_cents: i64) -> Result<(), String> {
    if max_award_cents <= 0 {
        return Err("le plafond par projet doit être positif".into());
    }
    if max_award_cents > rule_set.max_award_cap_cents {
        return Err(format!(
            "le plafond par projet ne peut dépasser celui du règlement {} ({})",
            rule_set.version,
            crate::domain::money::Cents::new(rule_set.max_award_cap_cents)
                .map(|c| c.to_fr_string())
                .unwrap_or_default()
        ));
    }
    Ok(())
}

/// Settings of a published call that decide eligibility or scoring: once an application has
/// been submitted under them they are frozen, so every application is judged by the same rules.
pub const FROZEN_AFTER_SUBMISSIONS: &[&str] = &[
    "rules_version",
    "max_award_cents",
    "max_budget_share_pct",
    "territory",
    "scoring_grid",
];

/// Reads a deadline: RFC 3339 with an offset (an instant), or a wall-clock time without one,
/// taken in Europe/Paris (`2027-03-31T12:00:00`, or `2027-03-31T12:00`).
pub fn parse_deadline(s: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Ok(dt.with_timezone(&Utc));
    }
    let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M"))
        .map_err(|_| {
            format!("date-heure invalide « {s} » : attendu AAAA-MM-JJTHH:MM:SS (heure de Paris)")
        })?;
    match Paris.from_local_datetime(&naive) {
        chrono::LocalResult::Single(dt) => Ok(dt.with_timezone(&Utc)),
        // Autumn: the hour happens twice; take the first (the earlier deadline is the safe one).
        chrono::LocalResult::Ambiguous(first, _) => Ok(first.with_timezone(&Utc)),
        chrono::LocalResult::None => Err(format!(
            "l'heure « {s} » n'existe pas à Paris (passage à l'heure d'été)"
        )),
    }
}

/// A deadline as a person in Lille reads it, with its offset: `2027-03-31T12:00:00+02:00`.
pub fn paris_rfc3339(utc: NaiveDateTime) -> String {
    Paris
        .from_utc_datetime(&utc)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// `31 mars 2027 à 12 h 00`, for messages.
pub fn paris_label(utc: NaiveDateTime) -> String {
    let local = Paris.from_utc_datetime(&utc);
    format!(
        "{} à {}",
        crate::domain::dates::french_date(local.date_naive()),
        local.format("%H h %M")
    )
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WindowError {
    NotYetOpen { opens_at: NaiveDateTime },
    Closed { closes_at: NaiveDateTime },
}

impl std::fmt::Display for WindowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotYetOpen { opens_at } => write!(
                f,
                "l'appel à projets n'est pas encore ouvert aux dépôts : il ouvre le {}",
                paris_label(*opens_at)
            ),
            Self::Closed { closes_at } => write!(
                f,
                "l'appel à projets est clos depuis le {} : les dépôts ne sont plus acceptés",
                paris_label(*closes_at)
            ),
        }
    }
}

/// Is `now` (UTC) inside [opens_at, closes_at)? A call without `closes_at` is permanent.
pub fn check_window(
    opens_at: Option<NaiveDateTime>,
    closes_at: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> Result<(), WindowError> {
    if let Some(o) = opens_at
        && now < o
    {
        return Err(WindowError::NotYetOpen { opens_at: o });
    }
    if let Some(c) = closes_at
        && now >= c
    {
        return Err(WindowError::Closed { closes_at: c });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn utc(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn call_life_cycle() {
        use CallAction::*;
        use CallState::*;
        let table = [
            (Draft, Publish, Some(Published)),
            (Draft, Close, None),
            (Published, Publish, None),
            (Published, Close, Some(Closed)),
            (Closed, Publish, None),
            (Closed, Close, None),
        ];
        for (from, action, to) in table {
            assert_eq!(
                call_transition(from, action).ok(),
                to,
                "{from:?} {action:?}"
            );
        }
    }

    #[test]
    fn deadlines_are_paris_wall_clock() {
        let cases = [
            // Winter: UTC+1; summer: UTC+2.
            ("2027-01-15T12:00:00", Some("2027-01-15 11:00:00")),
            ("2027-07-15T12:00:00", Some("2027-07-15 10:00:00")),
            ("2027-07-15T12:00", Some("2027-07-15 10:00:00")),
            ("2027-07-15T12:00:00Z", Some("2027-07-15 12:00:00")),
            ("2027-07-15T12:00:00+02:00", Some("2027-07-15 10:00:00")),
            // 28 March 2027, 02:30 does not exist in Paris.
            ("2027-03-28T02:30:00", None),
            // 31 October 2027, 02:30 happens twice: the first one (UTC+2) is taken.
            ("2027-10-31T02:30:00", Some("2027-10-31 00:30:00")),
            ("demain midi", None),
            ("2027-02-30T12:00:00", None),
        ];
        for (input, expected) in cases {
            let got = parse_deadline(input).ok().map(|d| d.naive_utc());
            assert_eq!(got, expected.map(utc), "{input}");
        }
        assert_eq!(
            paris_rfc3339(utc("2027-07-15 10:00:00")),
            "2027-07-15T12:00:00+02:00"
        );
        assert_eq!(
            paris_label(utc("2027-03-31 10:00:00")),
            "31 mars 2027 à 12 h 00"
        );
    }

    #[test]
    fn window_is_half_open() {
        let o = Some(utc("2027-01-01 00:00:00"));
        let c = Some(utc("2027-03-31 10:00:00"));
        let cases = [
            (o, c, "2026-12-31 23:59:59", false),
            (o, c, "2027-01-01 00:00:00", true),
            (o, c, "2027-03-31 09:59:59", true),
            (o, c, "2027-03-31 10:00:00", false),
            (None, None, "2030-01-01 00:00:00", true),
            (o, None, "2099-01-01 00:00:00", true),
        ];
        for (opens, closes, now, ok) in cases {
            assert_eq!(check_window(opens, closes, utc(now)).is_ok(), ok, "{now}");
        }
        let msg = check_window(o, c, utc("2027-04-01 00:00:00"))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("31 mars 2027 à 12 h 00"), "{msg}");
    }

    #[test]
    fn grids_and_documents_are_checked() {
        assert!(check_scoring_grid(&default_scoring_grid()).is_empty());
        assert!(check_required_documents(&default_required_documents()).is_empty());
        let mut grid = default_scoring_grid();
        grid[1].key = "social_utility".into();
        grid[2].weight = 0;
        grid[3].max_score = 101;
        grid[4].label = " ".into();
        let errs: Vec<String> = check_scoring_grid(&grid)
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        assert_eq!(
            errs,
            ["[1].key", "[2].weight", "[3].max_score", "[4].label"]
        );
        assert!(!check_scoring_grid(&[]).is_empty());
        let docs = vec![
            RequiredDocument {
                key: "Statuts".into(),
                label: "x".into(),
            },
            RequiredDocument {
                key: "annexe".into(),
                label: "x".into(),
            },
        ];
        assert_eq!(check_required_documents(&docs).len(), 2);
        let _ = NaiveDate::from_ymd_opt(2027, 1, 1);
    }

    #[test]
    fn keys() {
        for (k, ok) in [
            ("rib", true),
            ("budget_2027", true),
            ("", false),
            ("Rib", false),
            ("1a", false),
            ("a-b", false),
        ] {
            assert_eq!(is_key(k), ok, "{k}");
        }
    }

    #[test]
    fn max_award_within_the_rule_set() {
        let mel2021 = RuleSet::find("mel-2021").unwrap();
        let mel2024 = RuleSet::find("mel-2024").unwrap();
        assert!(check_max_award(mel2021, 2_000_000).is_ok());
        assert!(check_max_award(mel2021, 2_000_001).is_err());
        assert!(check_max_award(mel2024, 3_000_000).is_ok());
        assert!(check_max_award(mel2021, 0).is_err());
    }
}

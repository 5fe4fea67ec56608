//! Scoring (DESIGN.md §9). A review scores every criterion of the call's grid with an integer
//! in `0..=max_score`; its score is Σ(weight × score / max_score) / Σ weight × 100. An
//! application's score is the mean of its submitted reviews, and a spread (max − min) above 25
//! points is flagged for the committee. Rankings order by score, ties by submission time.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::call::ScoringCriterion;

/// A spread of more than this many points between reviews is flagged.
pub const SPREAD_FLAG_ABOVE: f64 = 25.0;

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
pub enum Recommendation {
    Favorable,
    Reserved,
    Unfavorable,
}

impl Recommendation {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Favorable => "favorable",
            Self::Reserved => "reserved",
            Self::Unfavorable => "unfavorable",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Favorable, Self::Reserved, Self::Unfavorable]
            .into_iter()
            .find(|r| r.as_str() == s)
    }

    pub fn label_fr(self) -> &'static str {
        match self {
            Self::Favorable => "favorable",
            Self::Reserved => "réservé",
            Self::Unfavorable => "défavorable",
        }
    }
}

/// Problems with a set of scores, as (field path, French message).
pub fn check_scores(
    grid: &[ScoringCriterion],
    scores: &BTreeMap<String, i64>,
) -> Vec<(String, String)> {
    check(grid, scores, true)
}

/// A draft's scores (DESIGN.md §9): a reviewer scores over several sittings, so a criterion
/// may be missing; those given are still integers `0..=max_score` of the grid's keys.
pub fn check_draft_scores(
    grid: &[ScoringCriterion],
    scores: &BTreeMap<String, i64>,
) -> Vec<(String, String)> {
    check(grid, scores, false)
}

fn check(
    grid: &[ScoringCriterion],
    scores: &BTreeMap<String, i64>,
    complete: bool,
) -> Vec<(String, String)> {
    let mut errors = Vec::new();
    for c in grid {
        match scores.get(&c.key) {
            None if !complete => {}
            None => errors.push((
                format!("scores.{}", c.key),
                format!("note manquante pour « {} »", c.label),
            )),
            Some(&s) if s < 0 || s > i64::from(c.max_score) => errors.push((
                format!("scores.{}", c.key),
                format!(
                    "la note de « {} » doit être un entier entre 0 et {}",
                    c.label, c.max_score
                ),
            )),
            Some(_) => {}
        }
    }
    for key in scores.keys() {
        if !grid.iter().any(|c| &c.key == key) {
            errors.push((
                format!("scores.{key}"),
                format!("« {key} » n'est pas un critère de la grille de cet appel"),
            ));
        }
    }
    errors
}

/// The score of one review, 0 to 100. `scores` must have passed `check_scores`.
pub fn review_score(grid: &[ScoringCriterion], scores: &BTreeMap<String, i64>) -> f64 {
    let total_weight: f64 = grid.iter().map(|c| f64::from(c.weight)).sum();
    if total_weight == 0.0 {
        return 0.0;
    }
    let weighted: f64 = grid
        .iter()
        .map(|c| {
            let s = scores.get(&c.key).copied().unwrap_or(0) as f64;
            f64::from(c.weight) * s / f64::from(c.max_score)
        })
        .sum();
    weighted / total_weight * 100.0
}

/// A score rounded to hundredths, as stored and shown (`76.67`).
pub fn hundredths(score: f64) -> i32 {
    (score * 100.0).round() as i32
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Aggregate {
    /// Mean of the reviews' scores, two decimals.
    pub score: f64,
    /// Max − min, two decimals.
    pub spread: f64,
    pub spread_flag: bool,
    pub reviews: usize,
}

/// Aggregates review scores given in hundredths; `None` without any review.
pub fn aggregate(review_hundredths: &[i32]) -> Option<Aggregate> {
    // No review, no maximum: `None`.
    let max = *review_hundredths.iter().max()?;
    let min = *review_hundredths.iter().min()?;
    let n = review_hundredths.len();
    let sum: i64 = review_hundredths.iter().map(|&h| i64::from(h)).sum();
    let mean = (sum as f64 / n as f64).round() / 100.0;
    let spread = f64::from(max - min) / 100.0;
    Some(Aggregate {
        score: mean,
        spread,
        spread_flag: spread > SPREAD_FLAG_ABOVE,
        reviews: n,
    })
}

#[derive(Debug, Clone, PartialEq)]
pub struct RankInput<T> {
    pub item: T,
    pub aggregate: Aggregate,
    pub submitted_at: NaiveDateTime,
}

/// Highest score first; equal scores by earlier submission; ranks 1, 2, 3…
pub fn rank<T>(mut entries: Vec<RankInput<T>>) -> Vec<(u32, RankInput<T>)> {
    entries.sort_by(|a, b| {
        b.aggregate
            .score
            .total_cmp(&a.aggregate.score)
            .then(a.submitted_at.cmp(&b.submitted_at))
    });
    entries
        .into_iter()
        .enumerate()
        .map(|(i, e)| (i as u32 + 1, e))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::call::default_scoring_grid;

    fn scores(v: &[(&str, i64)]) -> BTreeMap<String, i64> {
        v.iter().map(|(k, s)| ((*k).to_owned(), *s)).collect()
    }

    fn full(s: [i64; 5]) -> BTreeMap<String, i64> {
        scores(&[
            ("social_utility", s[0]),
            ("territorial_anchoring", s[1]),
            ("governance", s[2]),
            ("economic_viability", s[3]),
            ("jobs", s[4]),
        ])
    }

    #[test]
    fn review_scores_weigh_and_normalise() {
        let grid = default_scoring_grid();
        // Weights 3, 2, 2, 2, 1 (Σ 10), each out of 5.
        let cases = [
            ([5, 5, 5, 5, 5], 100.0),
            ([0, 0, 0, 0, 0], 0.0),
            ([5, 0, 0, 0, 0], 30.0),
            ([0, 0, 0, 0, 5], 10.0),
            ([4, 3, 3, 2, 1], 58.0), // (3·4 + 2·3 + 2·3 + 2·2 + 1·1)/5/10·100 = 29/50
            ([3, 3, 3, 3, 3], 60.0),
            ([5, 4, 4, 4, 2], 82.0),
        ];
        for (s, expected) in cases {
            let got = review_score(&grid, &full(s));
            assert!((got - expected).abs() < 1e-9, "{s:?}: {got}");
        }
        // A grid with other maxima: 1 criterion out of 10 with weight 1, 1 out of 4 with weight 3.
        let grid = vec![
            ScoringCriterion {
                key: "a".into(),
                label: "A".into(),
                weight: 1,
                max_score: 10,
            },
            ScoringCriterion {
                key: "b".into(),
                label: "B".into(),
                weight: 3,
                max_score: 4,
            },
        ];
        let got = review_score(&grid, &scores(&[("a", 5), ("b", 1)]));
        // (1·0.5 + 3·0.25)/4·100 = 31.25
        assert!((got - 31.25).abs() < 1e-9);
        assert_eq!(hundredths(got), 3125);
        assert_eq!(hundredths(200.0 / 3.0), 6667);
    }

    #[test]
    fn scores_must_match_the_grid_exactly() {
        let grid = default_scoring_grid();
        assert!(check_scores(&grid, &full([5, 4, 3, 2, 1])).is_empty());
        let cases: Vec<(BTreeMap<String, i64>, Vec<&str>)> = vec![
            (full([6, 4, 3, 2, 1]), vec!["scores.social_utility"]),
            (full([5, -1, 3, 2, 1]), vec!["scores.territorial_anchoring"]),
            (
                scores(&[("social_utility", 1)]),
                vec![
                    "scores.territorial_anchoring",
                    "scores.governance",
                    "scores.economic_viability",
                    "scores.jobs",
                ],
            ),
            (
                {
                    let mut s = full([1, 1, 1, 1, 1]);
                    s.insert("beauty".into(), 3);
                    s
                },
                vec!["scores.beauty"],
            ),
        ];
        for (s, fields) in cases {
            let got: Vec<String> = check_scores(&grid, &s)
                .into_iter()
                .map(|(f, _)| f)
                .collect();
            assert_eq!(got, fields);
        }
    }

    #[test]
    fn a_draft_may_leave_criteria_unscored_but_not_score_wrong() {
        let grid = default_scoring_grid();
        let cases: Vec<(BTreeMap<String, i64>, Vec<&str>)> = vec![
            (scores(&[]), vec![]),
            (
                scores(&[("social_utility", 4), ("territorial_anchoring", 3)]),
                vec![],
            ),
            (full([5, 4, 3, 2, 1]), vec![]),
            (
                scores(&[("social_utility", 6)]),
                vec!["scores.social_utility"],
            ),
            (scores(&[("jobs", -1)]), vec!["scores.jobs"]),
            (scores(&[("beauty", 3)]), vec!["scores.beauty"]),
        ];
        for (s, fields) in cases {
            let got: Vec<String> = check_draft_scores(&grid, &s)
                .into_iter()
                .map(|(f, _)| f)
                .collect();
            assert_eq!(got, fields, "{s:?}");
        }
    }

    #[test]
    fn aggregates_mean_and_flag_the_spread() {
        type Case = (&'static [i32], Option<(f64, f64, bool)>);
        let cases: &[Case] = &[
            (&[], None),
            (&[6200], Some((62.0, 0.0, false))),
            (&[6000, 8000], Some((70.0, 20.0, false))),
            (&[5000, 7500], Some((62.5, 25.0, false))), // exactly 25: not flagged
            (&[5000, 7501], Some((62.51, 25.01, true))),
            (&[3000, 9000, 6000], Some((60.0, 60.0, true))),
            (&[6667, 6667, 6666], Some((66.67, 0.01, false))),
        ];
        for (input, expected) in cases {
            let got = aggregate(input).map(|a| (a.score, a.spread, a.spread_flag));
            assert_eq!(got, *expected, "{input:?}");
        }
        assert_eq!(aggregate(&[1, 2, 3]).unwrap().reviews, 3);
    }

    #[test]
    fn ranking_breaks_ties_by_submission_time() {
        let t = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
        let agg = |score| Aggregate {
            score,
            spread: 0.0,
            spread_flag: false,
            reviews: 2,
        };
        let entries = vec![
            RankInput {
                item: "late-80",
                aggregate: agg(80.0),
                submitted_at: t("2027-02-02 10:00:00"),
            },
            RankInput {
                item: "top",
                aggregate: agg(91.5),
                submitted_at: t("2027-02-03 10:00:00"),
            },
            RankInput {
                item: "early-80",
                aggregate: agg(80.0),
                submitted_at: t("2027-02-01 10:00:00"),
            },
            RankInput {
                item: "low",
                aggregate: agg(12.0),
                submitted_at: t("2027-01-01 10:00:00"),
            },
        ];
        let ranked: Vec<(u32, &str)> = rank(entries)
            .into_iter()
            .map(|(r, e)| (r, e.item))
            .collect();
        assert_eq!(
            ranked,
            [(1, "top"), (2, "early-80"), (3, "late-80"), (4, "low")]
        );
    }

    #[test]
    fn recommendations_round_trip() {
        for r in [
            Recommendation::Favorable,
            Recommendation::Reserved,
            Recommendation::Unfavorable,
        ] {
            assert_eq!(Recommendation::parse(r.as_str()), Some(r));
        }
        assert_eq!(Recommendation::parse("maybe"), None);
    }
}

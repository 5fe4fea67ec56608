//! What waits for the agents on a call (DESIGN.md §13, issue 15): counted from the states of
//! its applications, the submitted reviews and the assignments of those under review.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::domain::assignment::AssignmentStatus;

/// The work waiting on a call, each a number of applications.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Waiting {
    /// Submitted, to screen (request changes, declare ineligible or start the review).
    pub to_screen: i64,
    /// Under review with at least `min_reviews` submitted reviews: ready for the committee.
    pub to_decide: i64,
    /// Under review with fewer active reviewers (not recused) than `min_reviews`: a reviewer
    /// to add, usually after a recusal.
    pub short_of_reviewers: i64,
    /// Under review, reviewers enough, reviews still coming.
    pub reviews_in_progress: i64,
}

/// `submitted_reviews`: one application id per submitted review; `assignments`: (application
/// id, assignment status) of the applications under review, listed in `under_review`.
pub fn waiting(
    submitted: i64,
    under_review: &[String],
    submitted_reviews: &[String],
    assignments: &[(String, AssignmentStatus)],
    min_reviews: u32,
) -> Waiting {
    let min = i64::from(min_reviews.max(1));
    let mut reviews: BTreeMap<&str, i64> = BTreeMap::new();
    for id in submitted_reviews {
        *reviews.entry(id.as_str()).or_default() += 1;
    }
    let mut active: BTreeMap<&str, i64> = BTreeMap::new();
    for (id, status) in assignments {
        if *status != AssignmentStatus::Recused {
            *active.entry(id.as_str()).or_default() += 1;
        }
    }
    let mut out = Waiting {
        to_screen: submitted,
        ..Waiting::default()
    };
    for id in under_review {
        let done = reviews.get(id.as_str()).copied().unwrap_or(0);
        let reviewers = active.get(id.as_str()).copied().unwrap_or(0);
        if done >= min {
            out.to_decide += 1;
        } else if reviewers < min {
            out.short_of_reviewers += 1;
        } else {
            out.reviews_in_progress += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use AssignmentStatus::{Accepted, Pending, Recused};

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn what_waits_for_the_agents() {
        let a = |id: &str, st| (id.to_owned(), st);
        // (submitted, under review, submitted reviews, assignments, min) → expected
        let cases = [
            (3, s(&[]), s(&[]), vec![], 2, (3, 0, 0, 0)),
            // Two reviews in: to decide.
            (
                0,
                s(&["x"]),
                s(&["x", "x"]),
                vec![a("x", Accepted), a("x", Accepted)],
                2,
                (0, 1, 0, 0),
            ),
            // One of two reviewers recused: short of a reviewer.
            (
                0,
                s(&["x"]),
                s(&[]),
                vec![a("x", Accepted), a("x", Recused)],
                2,
                (0, 0, 1, 0),
            ),
            // The recused one replaced: in progress.
            (
                1,
                s(&["x", "y"]),
                s(&["y"]),
                vec![
                    a("x", Accepted),
                    a("x", Recused),
                    a("x", Pending),
                    a("y", Accepted),
                ],
                1,
                (1, 1, 0, 1),
            ),
            // min_reviews 0 counts as 1: nobody assigned is short.
            (0, s(&["z"]), s(&[]), vec![], 0, (0, 0, 1, 0)),
        ];
        for (submitted, under, reviews, assignments, min, (screen, decide, short, progress)) in
            cases
        {
            let w = waiting(submitted, &under, &reviews, &assignments, min);
            assert_eq!(
                w,
                Waiting {
                    to_screen: screen,
                    to_decide: decide,
                    short_of_reviewers: short,
                    reviews_in_progress: progress,
                },
                "{under:?} {reviews:?} {assignments:?} min {min}"
            );
        }
    }
}

//! A review (DESIGN.md §9): a draft the reviewer saves as often as they like, then submits,
//! which locks it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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
pub enum ReviewStatus {
    Draft,
    Submitted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewAction {
    /// Save the draft (creating it when there is none).
    Save,
    Submit,
}

impl ReviewStatus {
    pub const ALL: [Self; 2] = [Self::Draft, Self::Submitted];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Submitted => "submitted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// The transition table; `from` is `None` before a first draft. `Err` carries the French reason.
pub fn next(
    from: Option<ReviewStatus>,
    action: ReviewAction,
) -> Result<ReviewStatus, &'static str> {
    use ReviewAction as A;
    use ReviewStatus as S;
    match (from, action) {
        (None | Some(S::Draft), A::Save) => Ok(S::Draft),
        (Some(S::Draft), A::Submit) => Ok(S::Submitted),
        (None, A::Submit) => {
            Err("Enregistrez d'abord un brouillon de votre évaluation avant de la déposer.")
        }
        (Some(S::Submitted), A::Save) => {
            Err("Cette évaluation est déposée : elle ne peut plus être modifiée.")
        }
        (Some(S::Submitted), A::Submit) => Err("Cette évaluation est déjà déposée."),
    }
}

/// Whether every review of an application is in: at least one reviewer not recused, and
/// each of them has submitted their review (`None`: no draft yet). What mails the agents that
/// the application can go to the committee.
pub fn all_reviews_in(
    reviewers: &[(
        crate::domain::assignment::AssignmentStatus,
        Option<ReviewStatus>,
    )],
) -> bool {
    use crate::domain::assignment::AssignmentStatus as St;
    let active: Vec<_> = reviewers
        .iter()
        .filter(|(a, _)| *a != St::Recused)
        .collect();
    !active.is_empty()
        && active
            .iter()
            .all(|(_, r)| *r == Some(ReviewStatus::Submitted))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ReviewAction as A;
    use ReviewStatus as S;

    #[test]
    fn all_reviews_are_in_when_every_reviewer_not_recused_has_submitted() {
        use crate::domain::assignment::AssignmentStatus as St;
        type Reviewers<'a> = &'a [(St, Option<S>)];
        let cases: [(Reviewers, bool); 7] = [
            (&[], false),
            (&[(St::Accepted, Some(S::Submitted))], true),
            (
                &[
                    (St::Accepted, Some(S::Submitted)),
                    (St::Accepted, Some(S::Draft)),
                ],
                false,
            ),
            (
                &[(St::Accepted, Some(S::Submitted)), (St::Pending, None)],
                false,
            ),
            (
                &[(St::Accepted, Some(S::Submitted)), (St::Recused, None)],
                true,
            ),
            (&[(St::Recused, None), (St::Recused, Some(S::Draft))], false),
            (
                &[
                    (St::Accepted, Some(S::Submitted)),
                    (St::Accepted, Some(S::Submitted)),
                ],
                true,
            ),
        ];
        for (reviewers, expected) in cases {
            assert_eq!(all_reviews_in(reviewers), expected, "{reviewers:?}");
        }
    }

    #[test]
    fn the_table() {
        let cases = [
            (None, A::Save, Some(S::Draft)),
            (None, A::Submit, None),
            (Some(S::Draft), A::Save, Some(S::Draft)),
            (Some(S::Draft), A::Submit, Some(S::Submitted)),
            (Some(S::Submitted), A::Save, None),
            (Some(S::Submitted), A::Submit, None),
        ];
        for (from, action, to) in cases {
            assert_eq!(next(from, action).ok(), to, "{from:?} {action:?}");
        }
    }

    #[test]
    fn names_round_trip() {
        for s in S::ALL {
            assert_eq!(S::parse(s.as_str()), Some(s));
        }
        assert_eq!(S::parse("brouillon"), None);
    }
}

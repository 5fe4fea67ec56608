//! A reviewer's assignment (DESIGN.md §9): pending until the reviewer declares no conflict of
//! interest (accepted) or recuses. An accepted reviewer may still recuse while their review is
//! not submitted; a recusal is final.

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
pub enum AssignmentStatus {
    /// Assigned; the reviewer has not yet declared the absence of conflict of interest.
    Pending,
    /// No conflict declared: the reviewer reads and scores.
    Accepted,
    /// The reviewer withdrew for a conflict of interest.
    Recused,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignmentAction {
    Accept,
    Recuse,
}

impl AssignmentStatus {
    pub const ALL: [Self; 3] = [Self::Pending, Self::Accepted, Self::Recused];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Recused => "recused",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// The transition table. `review_submitted`: the reviewer's review is already submitted, after
/// which they can no longer step back. `Err` carries the French reason.
pub fn respond(
    from: AssignmentStatus,
    action: AssignmentAction,
    review_submitted: bool,
) -> Result<AssignmentStatus, &'static str> {
    use AssignmentAction as A;
    use AssignmentStatus as S;
    match (from, action) {
        (S::Pending, A::Accept) => Ok(S::Accepted),
        (S::Pending, A::Recuse) => Ok(S::Recused),
        (S::Accepted, A::Recuse) if !review_submitted => Ok(S::Recused),
        (S::Accepted, A::Recuse) => {
            Err("Votre évaluation est déjà déposée : vous ne pouvez plus vous déporter.")
        }
        (S::Accepted, A::Accept) => Err("Vous avez déjà accepté cette affectation."),
        (S::Recused, _) => Err("Vous vous êtes déporté·e de cette candidature."),
    }
}

/// Only an accepted reviewer reads the application and scores it.
pub fn may_review(status: AssignmentStatus) -> bool {
    status == AssignmentStatus::Accepted
}

#[cfg(test)]
mod tests {
    use super::*;
    use AssignmentAction as A;
    use AssignmentStatus as S;

    #[test]
    fn the_table() {
        let cases = [
            (S::Pending, A::Accept, false, Some(S::Accepted)),
            (S::Pending, A::Recuse, false, Some(S::Recused)),
            (S::Accepted, A::Recuse, false, Some(S::Recused)),
            (S::Accepted, A::Recuse, true, None),
            (S::Accepted, A::Accept, false, None),
            (S::Recused, A::Accept, false, None),
            (S::Recused, A::Recuse, false, None),
        ];
        for (from, action, submitted, to) in cases {
            assert_eq!(
                respond(from, action, submitted).ok(),
                to,
                "{from:?} {action:?} submitted={submitted}"
            );
        }
    }

    #[test]
    fn names_round_trip_and_only_accepted_reviews() {
        for s in S::ALL {
            assert_eq!(S::parse(s.as_str()), Some(s));
            assert_eq!(may_review(s), s == S::Accepted);
        }
        assert_eq!(S::parse("accepté"), None);
    }
}

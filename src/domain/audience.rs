//! Who reads an application, and what each reader sees of it: the one table every view of an
//! application (`GET /applications/{id}`, the answers of edits and transitions, `/eligibility`,
//! `/history`) is shaped by.
//!
//! | part                               | staff | owner | assigned reviewer |
//! |------------------------------------|-------|-------|-------------------|
//! | body, state, decision, documents   | yes   | yes   | yes               |
//! | eligibility report, staff readings | yes   | yes   | no                |
//! | history                            | yes   | yes   | no                |
//!
//! The report holds staff's readings of the `review` criteria (their notes on the statutes,
//! the governance…): the owner reads why their application stands where it does; a reviewer
//! judges the project on its merits, not on the agents' screening.

use crate::domain::account::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Staff,
    Owner,
    Reviewer,
}

impl Audience {
    /// The reader an account is for an application it may see (`owns`: it is the applicant);
    /// `None` for an applicant reading someone else's (the queries never return those).
    pub fn of(role: Role, owns: bool) -> Option<Self> {
        match role {
            Role::Staff | Role::Admin => Some(Self::Staff),
            Role::Applicant if owns => Some(Self::Owner),
            Role::Applicant => None,
            Role::Reviewer => Some(Self::Reviewer),
        }
    }

    /// The eligibility report, with staff's readings and notes.
    pub fn reads_eligibility(self) -> bool {
        matches!(self, Self::Staff | Self::Owner)
    }

    /// Every transition and edit, with who and when.
    pub fn reads_history(self) -> bool {
        matches!(self, Self::Staff | Self::Owner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_each_reader_sees() {
        // (role, owns, audience, eligibility, history)
        let cases = [
            (Role::Staff, false, Some(Audience::Staff), true, true),
            (Role::Admin, false, Some(Audience::Staff), true, true),
            (Role::Applicant, true, Some(Audience::Owner), true, true),
            (Role::Applicant, false, None, false, false),
            (
                Role::Reviewer,
                false,
                Some(Audience::Reviewer),
                false,
                false,
            ),
        ];
        for (role, owns, audience, eligibility, history) in cases {
            let a = Audience::of(role, owns);
            assert_eq!(a, audience, "{role:?}");
            assert_eq!(a.is_some_and(Audience::reads_eligibility), eligibility);
            assert_eq!(a.is_some_and(Audience::reads_history), history);
        }
    }
}

//! Who reads an application, and what each reader sees of it: the one table every view of an
//! application (`GET /applications/{id}`, the answers of edits and transitions, `/eligibility`,
//! `/history`) is shaped by.
//!
//! | part                               | staff | owner | assigned reviewer |
//! |------------------------------------|-------|-------|-------------------|
//! | body, state, decision, documents   | yes   | yes   | yes               |
//! | bank documents (`rib`)             | yes   | yes   | no                |
//! | the final report's annexes         | yes   | yes   | no                |
//! | eligibility report, staff readings | yes   | yes   | no                |
//! | history                            | yes   | yes   | no                |
//! | reviewers' part of the history     | yes   | no    | no                |
//!
//! Reviews are blind (DESIGN.md §7): the owner's history shows their own actions and the
//! agents' decisions and messages, never who reviews, their statements, recusals, scores or
//! recommendations, nor the reviewer ids `start-review` carries.
//!
//! The report holds staff's readings of the `review` criteria (their notes on the statutes,
//! the governance…): the owner reads why their application stands where it does; a reviewer
//! judges the project on its merits, not on the agents' screening.

use crate::domain::account::Role;
use crate::domain::application_state::Action;
use crate::domain::history::{HistoryAction, Part};

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
            // A commune reads its own view of an application (`services::communes`), never
            // this one.
            Role::Commune => None,
        }
    }

    /// The eligibility report, with staff's readings and notes.
    pub fn reads_eligibility(self) -> bool {
        matches!(self, Self::Staff | Self::Owner)
    }

    /// A document of this kind: a reviewer never sees bank details (DESIGN.md §13), nor the
    /// final report's annexes (§15).
    pub fn reads_document(self, kind: &str) -> bool {
        self != Self::Reviewer || !crate::domain::call::is_hidden_from_reviewers(kind)
    }

    /// Every transition and edit, with who and when.
    pub fn reads_history(self) -> bool {
        matches!(self, Self::Staff | Self::Owner)
    }

    /// Whether this reader sees an event of the history, by its action (`None`: a name essor
    /// does not write) and its author's role.
    pub fn sees_event(self, action: Option<HistoryAction>, actor_role: Option<Role>) -> bool {
        match self {
            Self::Staff => true,
            Self::Reviewer => false,
            // The owner reads the application's part, never the reviewers' (whoever did it),
            // nor anything a reviewer did.
            Self::Owner => {
                action.is_some_and(|a| a.part() == Part::Application)
                    && actor_role != Some(Role::Reviewer)
            }
        }
    }

    /// The payload's members of an event this reader does not see: the owner reads that the
    /// review started, not who reviews.
    pub fn withheld_payload(self, action: Option<HistoryAction>) -> &'static [&'static str] {
        match (self, action) {
            (Self::Owner, Some(HistoryAction::Transition(Action::StartReview))) => {
                &["reviewer_ids"]
            }
            _ => &[],
        }
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

    #[test]
    fn reviewers_never_read_bank_documents_nor_the_report_s_annexes() {
        // (kind, staff, owner, reviewer)
        let cases = [
            ("rib", true, true, false),
            ("report_annex", true, true, false),
            ("statuts", true, true, true),
            ("budget_previsionnel", true, true, true),
            ("annexe", true, true, true),
        ];
        for (kind, staff, owner, reviewer) in cases {
            assert_eq!(Audience::Staff.reads_document(kind), staff, "{kind}");
            assert_eq!(Audience::Owner.reads_document(kind), owner, "{kind}");
            assert_eq!(Audience::Reviewer.reads_document(kind), reviewer, "{kind}");
        }
    }

    #[test]
    fn the_owner_reads_nothing_of_the_reviewers() {
        // (action, author's role, staff sees, owner sees)
        let cases = [
            ("create", "applicant", true, true),
            ("submit", "applicant", true, true),
            ("request-changes", "staff", true, true),
            ("start-review", "staff", true, true),
            ("accept", "staff", true, true),
            ("reject", "admin", true, true),
            ("decision", "staff", true, true),
            ("withdraw", "applicant", true, true),
            ("upload-document", "applicant", true, true),
            ("assign-reviewer", "staff", true, false),
            ("assignment-accept", "reviewer", true, false),
            ("assignment-recuse", "reviewer", true, false),
            ("submit-review", "reviewer", true, false),
            // A name essor does not write, and anything a reviewer did: staff only.
            ("comment", "reviewer", true, false),
            ("anything-new", "staff", true, false),
            ("update", "reviewer", true, false),
        ];
        for (name, role, staff, owner) in cases {
            let (action, role) = (HistoryAction::parse(name), Role::parse(role));
            assert_eq!(Audience::Staff.sees_event(action, role), staff, "{name}");
            assert_eq!(Audience::Owner.sees_event(action, role), owner, "{name}");
            assert!(!Audience::Reviewer.sees_event(action, role), "{name}");
        }
        let start = HistoryAction::parse("start-review");
        assert_eq!(Audience::Owner.withheld_payload(start), &["reviewer_ids"]);
        assert!(Audience::Staff.withheld_payload(start).is_empty());
        assert!(
            Audience::Owner
                .withheld_payload(HistoryAction::parse("accept"))
                .is_empty()
        );
    }
}

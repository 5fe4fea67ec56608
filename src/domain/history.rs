//! The actions an application's history records, typed: what the audit trail stores as text
//! (`submit`, `assignment-accept`…) is written from here and read back through [`parse`],
//! so who may read an event (`audience`) and how a page words it are matches the compiler
//! keeps whole, not tests on strings (« does it contain "review" »).
//!
//! [`parse`]: HistoryAction::parse

use crate::domain::application_state::Action;
use crate::domain::grant::GrantAction;
use crate::domain::instalment::InstalmentAction;

/// One kind of event of an application's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HistoryAction {
    /// The application was started.
    Create,
    /// Its answers were changed.
    Update,
    UploadDocument,
    DeleteDocument,
    /// A move of the application's state machine.
    Transition(Action),
    /// A decision recorded before `accept` and `reject` were two actions: its `to_state` says
    /// which (the trail keeps what it recorded).
    Decision,
    /// A reviewer added to an application under review.
    AssignReviewer,
    /// A reviewer's declaration of no conflict of interest.
    AssignmentAccept,
    /// A reviewer's recusal.
    AssignmentRecuse,
    SubmitReview,
    /// A move of the application's grant (DESIGN.md §15), stored as `grant-<action>`.
    Grant(GrantAction),
    /// The beneficiary gave (or changed) the grant's bank details; the trail keeps the IBAN
    /// masked.
    BankDetails,
    /// A move of one of the grant's instalments, stored as `instalment-<action>`.
    Instalment(InstalmentAction),
    /// A commune gave or changed its opinion (DESIGN.md §16).
    CommuneOpinion,
    /// A structure that applied in creation gave its SIRET or RNA number (§16).
    Registration,
}

/// Whose part of the history an event is: the reviewers' part is blind to the applicant
/// (DESIGN.md §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The applicant's own actions and the agents' moves of the application.
    Application,
    /// Who reviews, their declarations, recusals and reviews.
    Reviewers,
    /// The communes' opinions: the applicant reads that a commune was consulted, not what it
    /// said (§16).
    Communes,
}

impl HistoryAction {
    pub const ALL: [Self; 34] = [
        Self::Create,
        Self::Update,
        Self::UploadDocument,
        Self::DeleteDocument,
        Self::Transition(Action::Submit),
        Self::Transition(Action::RequestChanges),
        Self::Transition(Action::DeclareIneligible),
        Self::Transition(Action::StartReview),
        Self::Transition(Action::Accept),
        Self::Transition(Action::Reject),
        Self::Transition(Action::Withdraw),
        Self::Decision,
        Self::AssignReviewer,
        Self::AssignmentAccept,
        Self::AssignmentRecuse,
        Self::SubmitReview,
        Self::Grant(GrantAction::IssueConvention),
        Self::Grant(GrantAction::Start),
        Self::Grant(GrantAction::Sign),
        Self::Grant(GrantAction::Countersign),
        Self::Grant(GrantAction::SubmitReport),
        Self::Grant(GrantAction::RequestReportChanges),
        Self::Grant(GrantAction::ApproveReport),
        Self::Grant(GrantAction::Close),
        Self::Grant(GrantAction::Lapse),
        Self::Grant(GrantAction::RequestRecovery),
        Self::Grant(GrantAction::CloseRecovery),
        Self::BankDetails,
        Self::Instalment(InstalmentAction::Request),
        Self::Instalment(InstalmentAction::Order),
        Self::Instalment(InstalmentAction::Pay),
        Self::Instalment(InstalmentAction::Cancel),
        Self::CommuneOpinion,
        Self::Registration,
    ];

    /// The name the trail stores (and the API's `action` carries).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::UploadDocument => "upload-document",
            Self::DeleteDocument => "delete-document",
            Self::Transition(a) => a.as_str(),
            Self::Decision => "decision",
            Self::AssignReviewer => "assign-reviewer",
            Self::AssignmentAccept => "assignment-accept",
            Self::AssignmentRecuse => "assignment-recuse",
            Self::SubmitReview => "submit-review",
            Self::Grant(a) => a.history_name(),
            Self::BankDetails => "grant-bank-details",
            Self::Instalment(a) => a.history_name(),
            Self::CommuneOpinion => "commune-opinion",
            Self::Registration => "registration",
        }
    }

    /// The action a stored name stands for; `None` for a name essor does not write (read
    /// as the staff's only: an unknown event is never shown to an applicant).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == name)
    }

    pub fn part(self) -> Part {
        match self {
            Self::Create
            | Self::Update
            | Self::UploadDocument
            | Self::DeleteDocument
            | Self::Decision
            // `start-review` is the agents' move of the application; its reviewer ids are
            // withheld from the applicant (`audience`).
            | Self::Transition(_)
            // The grant is the beneficiary's: they see each of its moves.
            | Self::Grant(_)
            | Self::BankDetails
            | Self::Instalment(_)
            | Self::Registration => Part::Application,
            Self::AssignReviewer
            | Self::AssignmentAccept
            | Self::AssignmentRecuse
            | Self::SubmitReview => Part::Reviewers,
            Self::CommuneOpinion => Part::Communes,
        }
    }

    /// A decision's outcome, read from the state it led to (`decision` names both).
    pub fn is_award(self, to_state: Option<&str>) -> bool {
        match self {
            Self::Transition(Action::Accept) => true,
            Self::Decision => to_state == Some("accepted"),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_reads_back_as_itself() {
        let all = HistoryAction::ALL;
        for a in &all {
            assert_eq!(HistoryAction::parse(a.as_str()), Some(*a), "{a:?}");
        }
        // Every transition of the application's machine is a history action.
        for action in Action::ALL {
            assert!(
                all.contains(&HistoryAction::Transition(action)),
                "{action:?}"
            );
        }
        for action in GrantAction::ALL {
            assert!(all.contains(&HistoryAction::Grant(action)), "{action:?}");
        }
        let mut names: Vec<&str> = all.iter().map(|a| a.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len(), "two actions share a name");
    }

    #[test]
    fn names_essor_does_not_write_are_nobodys_part() {
        for name in [
            "",
            "review",
            "comment",
            "Submit",
            "submit ",
            "account.signed_in",
        ] {
            assert_eq!(HistoryAction::parse(name), None, "{name:?}");
        }
    }

    #[test]
    fn whose_part_each_action_is() {
        // (name, part)
        let cases = [
            ("create", Part::Application),
            ("update", Part::Application),
            ("upload-document", Part::Application),
            ("delete-document", Part::Application),
            ("submit", Part::Application),
            ("request-changes", Part::Application),
            ("declare-ineligible", Part::Application),
            ("start-review", Part::Application),
            ("accept", Part::Application),
            ("reject", Part::Application),
            ("withdraw", Part::Application),
            ("decision", Part::Application),
            ("assign-reviewer", Part::Reviewers),
            ("assignment-accept", Part::Reviewers),
            ("assignment-recuse", Part::Reviewers),
            ("submit-review", Part::Reviewers),
            ("grant-sign", Part::Application),
            ("grant-start", Part::Application),
            ("commune-opinion", Part::Communes),
        ];
        for (name, part) in cases {
            let action = HistoryAction::parse(name).expect(name);
            assert_eq!(action.part(), part, "{name}");
        }
    }

    #[test]
    fn a_decision_is_an_award_by_the_state_it_led_to() {
        use HistoryAction as H;
        let cases = [
            (H::Transition(Action::Accept), None, true),
            (H::Transition(Action::Reject), Some("rejected"), false),
            (H::Decision, Some("accepted"), true),
            (H::Decision, Some("rejected"), false),
            (H::Create, Some("accepted"), false),
        ];
        for (action, to, award) in cases {
            assert_eq!(action.is_award(to), award, "{action:?} {to:?}");
        }
    }
}

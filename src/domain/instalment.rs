//! The instalments of a grant (DESIGN.md §15): each line of the call's schedule becomes an
//! instalment `planned -> requested -> ordered -> paid`, or `cancelled`. essor pays nothing
//! itself: it requests an instalment once its trigger has fired and the bank details exist,
//! and the finance service's software orders and pays it (its file is imported back).
//!
//! Who may take each move is read from `TRANSITIONS` only, like the other machines.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::grant::{GrantState, InstalmentTrigger};
use crate::domain::money::Cents;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum InstalmentState {
    Planned,
    Requested,
    Ordered,
    Paid,
    Cancelled,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum InstalmentAction {
    /// essor asks the finance service to pay it: its trigger fired, the bank details exist.
    Request,
    /// The finance service issued the payment order (mandat).
    Order,
    /// The payment is made.
    Pay,
    /// Staff cancel it (the grant lapsed, a recovery).
    Cancel,
}

/// Who moves an instalment: essor itself, or staff (by hand or by importing the finance
/// service's file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InstalmentParty {
    System,
    Staff,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstalmentTransition {
    pub from: InstalmentState,
    pub action: InstalmentAction,
    pub by: InstalmentParty,
    pub to: InstalmentState,
}

use InstalmentAction as A;
use InstalmentParty as P;
use InstalmentState as S;

const fn row(from: S, action: A, by: P, to: S) -> InstalmentTransition {
    InstalmentTransition {
        from,
        action,
        by,
        to,
    }
}

/// One row per (from, action).
pub const TRANSITIONS: &[InstalmentTransition] = &[
    row(S::Planned, A::Request, P::System, S::Requested),
    row(S::Requested, A::Order, P::Staff, S::Ordered),
    // The finance file may say « paid » of an instalment never seen « ordered ».
    row(S::Requested, A::Pay, P::Staff, S::Paid),
    row(S::Ordered, A::Pay, P::Staff, S::Paid),
    row(S::Planned, A::Cancel, P::Staff, S::Cancelled),
    row(S::Requested, A::Cancel, P::Staff, S::Cancelled),
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InstalmentTransitionError {
    #[error("Le versement est {} : l'action « {} » n'est pas possible", state.label_fr(), action.verb_fr())]
    NotAllowedInState {
        state: InstalmentState,
        action: InstalmentAction,
    },
    #[error("Vous n'êtes pas autorisé à {} ce versement", action.verb_fr())]
    Forbidden { action: InstalmentAction },
}

pub fn next_state(
    from: InstalmentState,
    action: InstalmentAction,
    by: InstalmentParty,
) -> Result<InstalmentState, InstalmentTransitionError> {
    let mut rows = TRANSITIONS
        .iter()
        .filter(|t| t.from == from && t.action == action)
        .peekable();
    if rows.peek().is_none() {
        return Err(InstalmentTransitionError::NotAllowedInState {
            state: from,
            action,
        });
    }
    rows.find(|t| t.by == by)
        .map(|t| t.to)
        .ok_or(InstalmentTransitionError::Forbidden { action })
}

impl InstalmentState {
    pub const ALL: [InstalmentState; 5] =
        [S::Planned, S::Requested, S::Ordered, S::Paid, S::Cancelled];

    pub fn as_str(self) -> &'static str {
        match self {
            S::Planned => "planned",
            S::Requested => "requested",
            S::Ordered => "ordered",
            S::Paid => "paid",
            S::Cancelled => "cancelled",
        }
    }

    /// An attribute of « le versement ».
    pub fn label_fr(self) -> &'static str {
        match self {
            S::Planned => "prévu",
            S::Requested => "demandé au service financier",
            S::Ordered => "mandaté",
            S::Paid => "payé",
            S::Cancelled => "annulé",
        }
    }
}

impl fmt::Display for InstalmentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for InstalmentState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| format!("état de versement inconnu : « {s} »"))
    }
}

impl InstalmentAction {
    pub const ALL: [InstalmentAction; 4] = [A::Request, A::Order, A::Pay, A::Cancel];

    pub fn as_str(self) -> &'static str {
        match self {
            A::Request => "request",
            A::Order => "order",
            A::Pay => "pay",
            A::Cancel => "cancel",
        }
    }

    /// The name of the move in an application's history.
    pub fn history_name(self) -> &'static str {
        match self {
            A::Request => "instalment-request",
            A::Order => "instalment-order",
            A::Pay => "instalment-pay",
            A::Cancel => "instalment-cancel",
        }
    }

    /// How the application's history words the move.
    pub fn history_label_fr(self) -> &'static str {
        match self {
            A::Request => "Versement demandé au service financier",
            A::Order => "Versement mandaté",
            A::Pay => "Versement payé",
            A::Cancel => "Versement annulé",
        }
    }

    pub fn verb_fr(self) -> &'static str {
        match self {
            A::Request => "demander",
            A::Order => "mandater",
            A::Pay => "payer",
            A::Cancel => "annuler",
        }
    }
}

impl InstalmentTrigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Award => "award",
            Self::Signature => "signature",
            Self::ReportApproved => "report_approved",
        }
    }
}

impl FromStr for InstalmentTrigger {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Self::Award, Self::Signature, Self::ReportApproved]
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| format!("déclencheur de versement inconnu : « {s} »"))
    }
}

/// Whether `trigger` has fired for a grant in `state`: the award from the start, the
/// signature once the beneficiary signed (at the award when no convention is needed), the
/// approved report once approved. A lapsed grant, or one in recovery, fires nothing more.
pub fn has_fired(trigger: InstalmentTrigger, state: GrantState, convention_required: bool) -> bool {
    use GrantState as G;
    let live = !matches!(state, G::Lapsed | G::RecoveryRequested | G::Closed);
    let signed = matches!(
        state,
        G::Signed | G::Running | G::ReportSubmitted | G::ReportChangesRequested | G::ReportApproved
    );
    live && match trigger {
        InstalmentTrigger::Award => true,
        InstalmentTrigger::Signature => !convention_required || signed,
        InstalmentTrigger::ReportApproved => state == G::ReportApproved,
    }
}

/// Whether essor requests a planned instalment now: its trigger fired and the bank details
/// exist (nothing is requested that the finance service could not pay).
pub fn to_request(
    instalment: InstalmentState,
    trigger: InstalmentTrigger,
    grant: GrantState,
    convention_required: bool,
    has_bank_details: bool,
) -> bool {
    instalment == InstalmentState::Planned
        && has_bank_details
        && has_fired(trigger, grant, convention_required)
}

/// What a grant's instalments have paid: the sum of those `paid` (a recovery is checked
/// against it, the pages and exports show it).
pub fn paid_total(instalments: impl IntoIterator<Item = (InstalmentState, Cents)>) -> Cents {
    let paid = instalments
        .into_iter()
        .filter(|(state, _)| *state == InstalmentState::Paid)
        .map(|(_, amount)| amount.value())
        .sum();
    Cents::new(paid).unwrap_or_default()
}

/// Whether essor closes the grant now (§15): its report is approved and every instalment is
/// paid or cancelled — nothing more is owed either way.
pub fn closes_grant(state: GrantState, instalments: &[InstalmentState]) -> bool {
    use InstalmentState as I;
    state == GrantState::ReportApproved
        && instalments
            .iter()
            .all(|i| matches!(i, I::Paid | I::Cancelled))
}

#[cfg(test)]
mod tests {
    use super::*;
    use GrantState as G;
    use InstalmentTrigger as T;

    #[test]
    fn a_grant_closes_once_approved_and_paid() {
        use InstalmentState as I;
        let cases = [
            (GrantState::ReportApproved, vec![I::Paid, I::Paid], true),
            (
                GrantState::ReportApproved,
                vec![I::Paid, I::Cancelled],
                true,
            ),
            (
                GrantState::ReportApproved,
                vec![I::Paid, I::Requested],
                false,
            ),
            (GrantState::ReportApproved, vec![I::Paid, I::Ordered], false),
            (GrantState::Running, vec![I::Paid, I::Paid], false),
            (GrantState::ReportSubmitted, vec![I::Paid, I::Paid], false),
        ];
        for (state, instalments, expected) in cases {
            assert_eq!(
                closes_grant(state, &instalments),
                expected,
                "{state:?} {instalments:?}"
            );
        }
    }

    #[test]
    fn every_move_of_the_table_and_only_those() {
        for from in InstalmentState::ALL {
            for action in InstalmentAction::ALL {
                for by in [P::System, P::Staff, P::Other] {
                    let row = TRANSITIONS
                        .iter()
                        .find(|t| t.from == from && t.action == action && t.by == by);
                    let got = next_state(from, action, by);
                    match row {
                        Some(t) => assert_eq!(got, Ok(t.to)),
                        None => assert!(got.is_err(), "{from:?} {action:?} {by:?}"),
                    }
                }
            }
        }
        // Paid and cancelled are final; a paid instalment is paid once.
        for action in InstalmentAction::ALL {
            assert!(next_state(S::Paid, action, P::Staff).is_err());
            assert!(next_state(S::Cancelled, action, P::Staff).is_err());
        }
        assert_eq!(
            next_state(S::Planned, A::Request, P::Staff),
            Err(InstalmentTransitionError::Forbidden { action: A::Request })
        );
    }

    #[test]
    fn triggers_fire_with_the_grant() {
        let cases = [
            // (trigger, grant, convention, fired)
            (T::Award, G::Awarded, true, true),
            (T::Award, G::Lapsed, false, false),
            (T::Signature, G::Running, false, true),
            (T::Signature, G::AwaitingSignature, true, false),
            (T::Signature, G::Signed, true, true),
            (T::Signature, G::Running, true, true),
            (T::Signature, G::Lapsed, true, false),
            (T::Signature, G::RecoveryRequested, true, false),
            (T::ReportApproved, G::Running, false, false),
            (T::ReportApproved, G::ReportSubmitted, false, false),
            (T::ReportApproved, G::ReportApproved, false, true),
        ];
        for (trigger, grant, convention, fired) in cases {
            assert_eq!(
                has_fired(trigger, grant, convention),
                fired,
                "{trigger:?} {grant:?} {convention}"
            );
        }
    }

    #[test]
    fn nothing_is_requested_without_bank_details_nor_twice() {
        assert!(to_request(
            S::Planned,
            T::Signature,
            G::Running,
            false,
            true
        ));
        assert!(!to_request(
            S::Planned,
            T::Signature,
            G::Running,
            false,
            false
        ));
        assert!(!to_request(
            S::Requested,
            T::Signature,
            G::Running,
            false,
            true
        ));
        assert!(!to_request(
            S::Planned,
            T::ReportApproved,
            G::Running,
            false,
            true
        ));
    }
}

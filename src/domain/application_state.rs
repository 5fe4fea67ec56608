//! The life cycle of an application (DESIGN.md §7), as one table.
//!
//! Who may do what is read from `TRANSITIONS` only: the handlers, the 409 body and the tests
//! all ask this module, so adding a row is the whole of a new transition's rule. Conditions that
//! need data (the call is open, enough reviews, the amount fits) are checked by the services.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    ToSchema,
    diesel::AsExpression,
    diesel::FromSqlRow,
)]
#[serde(rename_all = "snake_case")]
// Stored as its `as_str` text (`db::sql_types`).
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum ApplicationState {
    Draft,
    Submitted,
    ChangesRequested,
    Ineligible,
    UnderReview,
    Accepted,
    Rejected,
    Withdrawn,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Submit,
    RequestChanges,
    DeclareIneligible,
    StartReview,
    Accept,
    Reject,
    Withdraw,
}

/// Who acts, relative to the application. The caller maps roles: admin counts as `Staff`, the
/// applicant who created the application is `Owner`, anybody else is `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Party {
    Owner,
    Staff,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub from: ApplicationState,
    pub action: Action,
    pub by: Party,
    pub to: ApplicationState,
}

const fn row(
    from: ApplicationState,
    action: Action,
    by: Party,
    to: ApplicationState,
) -> Transition {
    Transition {
        from,
        action,
        by,
        to,
    }
}

use Action as A;
use ApplicationState as S;

/// DESIGN.md §7, one row per (from, action).
pub const TRANSITIONS: &[Transition] = &[
    row(S::Draft, A::Submit, Party::Owner, S::Submitted),
    row(S::ChangesRequested, A::Submit, Party::Owner, S::Submitted),
    row(
        S::Submitted,
        A::RequestChanges,
        Party::Staff,
        S::ChangesRequested,
    ),
    row(
        S::Submitted,
        A::DeclareIneligible,
        Party::Staff,
        S::Ineligible,
    ),
    // Changes were requested and never came: the agents can close the file (DESIGN.md §7).
    row(
        S::ChangesRequested,
        A::DeclareIneligible,
        Party::Staff,
        S::Ineligible,
    ),
    row(S::Submitted, A::StartReview, Party::Staff, S::UnderReview),
    row(S::UnderReview, A::Accept, Party::Staff, S::Accepted),
    row(S::UnderReview, A::Reject, Party::Staff, S::Rejected),
    row(S::Draft, A::Withdraw, Party::Owner, S::Withdrawn),
    row(S::Submitted, A::Withdraw, Party::Owner, S::Withdrawn),
    row(S::ChangesRequested, A::Withdraw, Party::Owner, S::Withdrawn),
    row(S::UnderReview, A::Withdraw, Party::Owner, S::Withdrawn),
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// No row leaves `state` by `action`, whoever acts (409 with `allowed`).
    #[error("{} : l'action « {} » n'est pas possible", state.sentence_fr(), action.verb_fr())]
    NotAllowedInState {
        state: ApplicationState,
        action: Action,
        /// What the same actor may do now, for the 409 body.
        allowed: Vec<Action>,
    },
    /// The action is possible from this state, but for someone else (403).
    #[error("vous n'êtes pas autorisé à {} cette candidature", action.verb_fr())]
    Forbidden { action: Action },
}

/// The state reached when `by` takes `action` from `from`.
pub fn next_state(
    from: ApplicationState,
    action: Action,
    by: Party,
) -> Result<ApplicationState, TransitionError> {
    let mut rows = TRANSITIONS
        .iter()
        .filter(|t| t.from == from && t.action == action)
        .peekable();
    if rows.peek().is_none() {
        return Err(TransitionError::NotAllowedInState {
            state: from,
            action,
            allowed: allowed_actions(from, by),
        });
    }
    rows.find(|t| t.by == by)
        .map(|t| t.to)
        .ok_or(TransitionError::Forbidden { action })
}

/// The actions `by` may take from `state`, in the order of [`Action::ALL`].
pub fn allowed_actions(state: ApplicationState, by: Party) -> Vec<Action> {
    Action::ALL
        .into_iter()
        .filter(|&a| {
            TRANSITIONS
                .iter()
                .any(|t| t.from == state && t.action == a && t.by == by)
        })
        .collect()
}

impl ApplicationState {
    pub const ALL: [ApplicationState; 8] = [
        S::Draft,
        S::Submitted,
        S::ChangesRequested,
        S::Ineligible,
        S::UnderReview,
        S::Accepted,
        S::Rejected,
        S::Withdrawn,
    ];

    /// The name stored in the database and used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            S::Draft => "draft",
            S::Submitted => "submitted",
            S::ChangesRequested => "changes_requested",
            S::Ineligible => "ineligible",
            S::UnderReview => "under_review",
            S::Accepted => "accepted",
            S::Rejected => "rejected",
            S::Withdrawn => "withdrawn",
        }
    }

    /// What a project holder reads in a mail, a page or an export: an attribute of « la
    /// candidature », so in the feminine (« déposée », « acceptée »).
    pub fn label_fr(self) -> &'static str {
        match self {
            S::Draft => "brouillon",
            S::Submitted => "déposée",
            S::ChangesRequested => "modifications demandées",
            S::Ineligible => "inéligible",
            S::UnderReview => "en cours d'instruction",
            S::Accepted => "acceptée",
            S::Rejected => "refusée",
            S::Withdrawn => "retirée",
        }
    }

    /// The state as the end of « La candidature est … » (a refusal's first words).
    pub fn predicate_fr(self) -> &'static str {
        match self {
            S::Draft => "à l'état de brouillon",
            S::Submitted => "déposée",
            S::ChangesRequested => "en attente des modifications demandées",
            S::Ineligible => "déclarée inéligible",
            S::UnderReview => "en cours d'instruction",
            S::Accepted => "acceptée",
            S::Rejected => "refusée",
            S::Withdrawn => "retirée",
        }
    }

    /// « La candidature est déposée » — how a refusal names the state it found.
    pub fn sentence_fr(self) -> String {
        format!("La candidature est {}", self.predicate_fr())
    }

    /// No transition leaves a final state.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            S::Ineligible | S::Accepted | S::Rejected | S::Withdrawn
        )
    }

    /// Whether the holder may still change the body and the documents.
    pub fn is_editable(self) -> bool {
        matches!(self, S::Draft | S::ChangesRequested)
    }
}

impl fmt::Display for ApplicationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("état de dossier inconnu : « {0} »")]
pub struct UnknownState(pub String);

impl FromStr for ApplicationState {
    type Err = UnknownState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| UnknownState(s.to_owned()))
    }
}

impl Action {
    pub const ALL: [Action; 7] = [
        A::Submit,
        A::RequestChanges,
        A::DeclareIneligible,
        A::StartReview,
        A::Accept,
        A::Reject,
        A::Withdraw,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            A::Submit => "submit",
            A::RequestChanges => "request-changes",
            A::DeclareIneligible => "declare-ineligible",
            A::StartReview => "start-review",
            A::Accept => "accept",
            A::Reject => "reject",
            A::Withdraw => "withdraw",
        }
    }

    /// The action in French words, as a person names it (« déposer », « retirer »): what
    /// messages say, never the endpoint's name.
    pub fn verb_fr(self) -> &'static str {
        match self {
            A::Submit => "déposer",
            A::RequestChanges => "demander des modifications",
            A::DeclareIneligible => "déclarer inéligible",
            A::StartReview => "mettre en instruction",
            A::Accept => "accepter",
            A::Reject => "refuser",
            A::Withdraw => "retirer",
        }
    }

    /// The last segment of `POST /api/v1/applications/{id}/…`: accepting and rejecting are
    /// one `decision` endpoint whose body carries the outcome.
    pub fn endpoint(self) -> &'static str {
        match self {
            A::Accept | A::Reject => "decision",
            other => other.as_str(),
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The endpoint names of these actions, each once, in order: what `allowed_actions` says, so
/// a client can POST each of them (`decision`, never `accept`/`reject`).
pub fn endpoints(actions: &[Action]) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for a in actions {
        if !out.contains(&a.endpoint()) {
            out.push(a.endpoint());
        }
    }
    out
}

/// Serde shape of a list of actions as their endpoint names (`allowed_actions`).
pub mod as_endpoints {
    use super::{Action, endpoints};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(actions: &[Action], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(endpoints(actions))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Action>, D::Error> {
        let names = Vec::<String>::deserialize(d)?;
        let mut out = Vec::new();
        for name in names {
            if name == "decision" {
                out.extend([Action::Accept, Action::Reject]);
            } else {
                out.push(name.parse().map_err(serde::de::Error::custom)?);
            }
        }
        Ok(out)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("action inconnue : « {0} »")]
pub struct UnknownAction(pub String);

impl FromStr for Action {
    type Err = UnknownAction;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|action| action.as_str() == s)
            .ok_or_else(|| UnknownAction(s.to_owned()))
    }
}

impl Party {
    pub const ALL: [Party; 3] = [Party::Owner, Party::Staff, Party::Other];
}

#[cfg(test)]
mod tests {
    use super::*;

    /// DESIGN.md §7 written out again, in the API's own words, independently of `TRANSITIONS`:
    /// (from, action, who, to).
    const EXPECTED: &[(&str, &str, &str, &str)] = &[
        ("draft", "submit", "owner", "submitted"),
        ("changes_requested", "submit", "owner", "submitted"),
        ("submitted", "request-changes", "staff", "changes_requested"),
        ("submitted", "declare-ineligible", "staff", "ineligible"),
        (
            "changes_requested",
            "declare-ineligible",
            "staff",
            "ineligible",
        ),
        ("submitted", "start-review", "staff", "under_review"),
        ("under_review", "accept", "staff", "accepted"),
        ("under_review", "reject", "staff", "rejected"),
        ("draft", "withdraw", "owner", "withdrawn"),
        ("submitted", "withdraw", "owner", "withdrawn"),
        ("changes_requested", "withdraw", "owner", "withdrawn"),
        ("under_review", "withdraw", "owner", "withdrawn"),
    ];

    const STATES: [&str; 8] = [
        "draft",
        "submitted",
        "changes_requested",
        "ineligible",
        "under_review",
        "accepted",
        "rejected",
        "withdrawn",
    ];
    const ACTIONS: [&str; 7] = [
        "submit",
        "request-changes",
        "declare-ineligible",
        "start-review",
        "accept",
        "reject",
        "withdraw",
    ];
    const PARTIES: [(&str, Party); 3] = [
        ("owner", Party::Owner),
        ("staff", Party::Staff),
        ("other", Party::Other),
    ];

    fn expected_allowed(state: &str, who: &str) -> Vec<Action> {
        ACTIONS
            .iter()
            .filter(|a| {
                EXPECTED
                    .iter()
                    .any(|&(f, act, w, _)| f == state && act == **a && w == who)
            })
            .map(|a| a.parse().unwrap())
            .collect()
    }

    fn expected_cell(
        state: &str,
        action: &str,
        who: &str,
    ) -> Result<ApplicationState, TransitionError> {
        let rows: Vec<_> = EXPECTED
            .iter()
            .filter(|&&(f, a, _, _)| f == state && a == action)
            .collect();
        let parsed_action: Action = action.parse().unwrap();
        if rows.is_empty() {
            return Err(TransitionError::NotAllowedInState {
                state: state.parse().unwrap(),
                action: parsed_action,
                allowed: expected_allowed(state, who),
            });
        }
        match rows.iter().find(|&&&(_, _, w, _)| w == who) {
            Some(&&(_, _, _, to)) => Ok(to.parse().unwrap()),
            None => Err(TransitionError::Forbidden {
                action: parsed_action,
            }),
        }
    }

    #[test]
    fn every_cell_of_state_action_actor() {
        let (mut cells, mut ok, mut forbidden, mut not_allowed) = (0, 0, 0, 0);
        for state in STATES {
            for action in ACTIONS {
                for (who, actor) in PARTIES {
                    let expected = expected_cell(state, action, who);
                    let got = next_state(state.parse().unwrap(), action.parse().unwrap(), actor);
                    assert_eq!(got, expected, "{state} --{action}({who})-->");
                    cells += 1;
                    match expected {
                        Ok(_) => ok += 1,
                        Err(TransitionError::Forbidden { .. }) => forbidden += 1,
                        Err(TransitionError::NotAllowedInState { .. }) => not_allowed += 1,
                    }
                }
            }
        }
        assert_eq!(cells, 8 * 7 * 3);
        assert_eq!(ok, 12, "one success per row of §7");
        assert_eq!(forbidden, 24, "the two other actors of each row");
        assert_eq!(not_allowed, 168 - 12 - 24);
    }

    #[test]
    fn allowed_actions_are_endpoint_names() {
        use Action::*;
        assert_eq!(
            endpoints(&[Accept, Reject, Withdraw]),
            ["decision", "withdraw"]
        );
        assert_eq!(endpoints(&[Submit, Withdraw]), ["submit", "withdraw"]);
        assert!(endpoints(&[]).is_empty());
    }

    #[test]
    fn the_table_is_the_design() {
        let table: Vec<_> = TRANSITIONS
            .iter()
            .map(|t| (t.from.as_str(), t.action.as_str(), t.by, t.to.as_str()))
            .collect();
        let expected: Vec<_> = EXPECTED
            .iter()
            .map(|&(f, a, w, t)| {
                let actor = PARTIES.iter().find(|(name, _)| *name == w).unwrap().1;
                (f, a, actor, t)
            })
            .collect();
        assert_eq!(table, expected);
    }

    #[test]
    fn allowed_actions_per_state_and_actor() {
        use Action::*;
        let cases: &[(ApplicationState, Party, &[Action])] = &[
            (S::Draft, Party::Owner, &[Submit, Withdraw]),
            (S::Draft, Party::Staff, &[]),
            (S::Draft, Party::Other, &[]),
            (S::Submitted, Party::Owner, &[Withdraw]),
            (
                S::Submitted,
                Party::Staff,
                &[RequestChanges, DeclareIneligible, StartReview],
            ),
            (S::Submitted, Party::Other, &[]),
            (S::ChangesRequested, Party::Owner, &[Submit, Withdraw]),
            (S::ChangesRequested, Party::Staff, &[DeclareIneligible]),
            (S::UnderReview, Party::Owner, &[Withdraw]),
            (S::UnderReview, Party::Staff, &[Accept, Reject]),
            (S::UnderReview, Party::Other, &[]),
        ];
        for (state, actor, expected) in cases {
            assert_eq!(
                allowed_actions(*state, *actor),
                *expected,
                "{state} for {actor:?}"
            );
        }
    }

    #[test]
    fn final_states_allow_nothing() {
        for state in ApplicationState::ALL {
            let nothing = Party::ALL
                .into_iter()
                .all(|actor| allowed_actions(state, actor).is_empty());
            assert_eq!(state.is_final(), nothing, "{state}");
        }
        let finals: Vec<_> = ApplicationState::ALL
            .into_iter()
            .filter(|s| s.is_final())
            .map(ApplicationState::as_str)
            .collect();
        assert_eq!(finals, ["ineligible", "accepted", "rejected", "withdrawn"]);
        assert!(TRANSITIONS.iter().all(|t| !t.from.is_final()));
    }

    #[test]
    fn editable_states() {
        let editable: Vec<_> = ApplicationState::ALL
            .into_iter()
            .filter(|s| s.is_editable())
            .map(ApplicationState::as_str)
            .collect();
        assert_eq!(editable, ["draft", "changes_requested"]);
    }

    #[test]
    fn state_names_and_labels() {
        let cases = [
            (S::Draft, "draft", "brouillon"),
            (S::Submitted, "submitted", "déposée"),
            (
                S::ChangesRequested,
                "changes_requested",
                "modifications demandées",
            ),
            (S::Ineligible, "ineligible", "inéligible"),
            (S::UnderReview, "under_review", "en cours d'instruction"),
            (S::Accepted, "accepted", "acceptée"),
            (S::Rejected, "rejected", "refusée"),
            (S::Withdrawn, "withdrawn", "retirée"),
        ];
        assert_eq!(cases.len(), ApplicationState::ALL.len());
        for (state, name, label) in cases {
            assert_eq!(state.as_str(), name);
            assert_eq!(state.to_string(), name);
            assert_eq!(state.label_fr(), label);
            assert_eq!(name.parse::<ApplicationState>(), Ok(state));
            assert_eq!(
                serde_json::to_value(state).unwrap(),
                serde_json::json!(name)
            );
            assert_eq!(
                serde_json::from_value::<ApplicationState>(serde_json::json!(name)).unwrap(),
                state
            );
        }
        assert_eq!(
            "Draft".parse::<ApplicationState>(),
            Err(UnknownState("Draft".to_owned()))
        );
        assert_eq!(
            UnknownState("x".to_owned()).to_string(),
            "état de dossier inconnu : « x »"
        );
    }

    #[test]
    fn action_names_and_endpoints() {
        let cases = [
            (A::Submit, "submit", "submit"),
            (A::RequestChanges, "request-changes", "request-changes"),
            (
                A::DeclareIneligible,
                "declare-ineligible",
                "declare-ineligible",
            ),
            (A::StartReview, "start-review", "start-review"),
            (A::Accept, "accept", "decision"),
            (A::Reject, "reject", "decision"),
            (A::Withdraw, "withdraw", "withdraw"),
        ];
        assert_eq!(cases.len(), Action::ALL.len());
        for (action, name, endpoint) in cases {
            assert_eq!(action.as_str(), name);
            assert_eq!(action.to_string(), name);
            assert_eq!(action.endpoint(), endpoint);
            assert_eq!(name.parse::<Action>(), Ok(action));
            assert_eq!(
                serde_json::to_value(action).unwrap(),
                serde_json::json!(name)
            );
            assert_eq!(
                serde_json::from_value::<Action>(serde_json::json!(name)).unwrap(),
                action
            );
        }
        assert!("decision".parse::<Action>().is_err());
    }

    #[test]
    fn french_error_messages() {
        let cases = [
            (
                next_state(S::Accepted, A::Submit, Party::Owner),
                "La candidature est acceptée : l'action « déposer » n'est pas possible",
            ),
            (
                next_state(S::Draft, A::StartReview, Party::Staff),
                "La candidature est à l'état de brouillon : l'action « mettre en instruction » n'est pas possible",
            ),
            (
                next_state(S::Submitted, A::Submit, Party::Owner),
                "La candidature est déposée : l'action « déposer » n'est pas possible",
            ),
            (
                next_state(S::Draft, A::Submit, Party::Staff),
                "vous n'êtes pas autorisé à déposer cette candidature",
            ),
        ];
        for (result, message) in cases {
            assert_eq!(result.unwrap_err().to_string(), message);
        }
    }

    #[test]
    fn a_409_carries_what_the_actor_may_do_instead() {
        assert_eq!(
            next_state(S::Submitted, A::Accept, Party::Staff),
            Err(TransitionError::NotAllowedInState {
                state: S::Submitted,
                action: A::Accept,
                allowed: vec![A::RequestChanges, A::DeclareIneligible, A::StartReview],
            })
        );
    }

    /// « La candidature est déposée », not « est « déposé » »: each state's sentence agrees
    /// with « la candidature », and each action is said in French words.
    #[test]
    fn states_and_actions_are_said_in_french() {
        let sentences = [
            (S::Draft, "La candidature est à l'état de brouillon"),
            (S::Submitted, "La candidature est déposée"),
            (
                S::ChangesRequested,
                "La candidature est en attente des modifications demandées",
            ),
            (S::Ineligible, "La candidature est déclarée inéligible"),
            (S::UnderReview, "La candidature est en cours d'instruction"),
            (S::Accepted, "La candidature est acceptée"),
            (S::Rejected, "La candidature est refusée"),
            (S::Withdrawn, "La candidature est retirée"),
        ];
        assert_eq!(sentences.len(), ApplicationState::ALL.len());
        for (state, sentence) in sentences {
            assert_eq!(state.sentence_fr(), sentence);
            assert!(!sentence.contains('«'), "{sentence}");
        }
        let verbs = [
            (A::Submit, "déposer"),
            (A::RequestChanges, "demander des modifications"),
            (A::DeclareIneligible, "déclarer inéligible"),
            (A::StartReview, "mettre en instruction"),
            (A::Accept, "accepter"),
            (A::Reject, "refuser"),
            (A::Withdraw, "retirer"),
        ];
        assert_eq!(verbs.len(), Action::ALL.len());
        for (action, verb) in verbs {
            assert_eq!(action.verb_fr(), verb);
        }
        let refused = next_state(S::Submitted, A::Submit, Party::Owner).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "La candidature est déposée : l'action « déposer » n'est pas possible"
        );
    }
}

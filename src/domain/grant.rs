//! The life of a grant after the award (DESIGN.md §15), as one table, like the application's.
//!
//! `awarded -> awaiting_signature -> signed -> running -> report_submitted -> report_approved ->
//! closed`, with `report_submitted <-> report_changes_requested`, and the exits `lapsed` (staff,
//! with a motivation) and `recovery_requested -> closed` (reversement). essor itself moves the
//! grant when it issues the convention, or starts it at once when the call needs none.
//!
//! Who may do what is read from `TRANSITIONS` only; conditions that need data (the signatory
//! accepted, the structure has a SIRET, the last instalment is paid) are the services'.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use chrono::{Months, NaiveDate};

use crate::domain::money::Cents;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum GrantState {
    Awarded,
    AwaitingSignature,
    Signed,
    Running,
    ReportSubmitted,
    ReportChangesRequested,
    ReportApproved,
    RecoveryRequested,
    Lapsed,
    Closed,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum GrantAction {
    /// essor issues the convention to sign (at the award, when the call requires one).
    IssueConvention,
    /// essor starts a grant that needs no convention, once the award letter is issued.
    Start,
    Sign,
    Countersign,
    SubmitReport,
    RequestReportChanges,
    ApproveReport,
    /// essor closes the grant once the report is approved and the last instalment paid.
    Close,
    Lapse,
    RequestRecovery,
    CloseRecovery,
}

/// Who acts on a grant: its beneficiary (the applicant who owns the application), staff, or
/// essor itself (a move that follows from another: the award, the last payment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrantParty {
    Beneficiary,
    Staff,
    System,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrantTransition {
    pub from: GrantState,
    pub action: GrantAction,
    pub by: GrantParty,
    pub to: GrantState,
}

const fn row(
    from: GrantState,
    action: GrantAction,
    by: GrantParty,
    to: GrantState,
) -> GrantTransition {
    GrantTransition {
        from,
        action,
        by,
        to,
    }
}

use GrantAction as A;
use GrantParty as P;
use GrantState as S;

/// DESIGN.md §15, one row per (from, action).
pub const TRANSITIONS: &[GrantTransition] = &[
    row(
        S::Awarded,
        A::IssueConvention,
        P::System,
        S::AwaitingSignature,
    ),
    row(S::Awarded, A::Start, P::System, S::Running),
    row(S::AwaitingSignature, A::Sign, P::Beneficiary, S::Signed),
    row(S::Signed, A::Countersign, P::Staff, S::Running),
    row(
        S::Running,
        A::SubmitReport,
        P::Beneficiary,
        S::ReportSubmitted,
    ),
    row(
        S::ReportChangesRequested,
        A::SubmitReport,
        P::Beneficiary,
        S::ReportSubmitted,
    ),
    row(
        S::ReportSubmitted,
        A::RequestReportChanges,
        P::Staff,
        S::ReportChangesRequested,
    ),
    row(
        S::ReportSubmitted,
        A::ApproveReport,
        P::Staff,
        S::ReportApproved,
    ),
    row(S::ReportApproved, A::Close, P::System, S::Closed),
    // The convention never signed, the project never started: before any report.
    row(S::Awarded, A::Lapse, P::Staff, S::Lapsed),
    row(S::AwaitingSignature, A::Lapse, P::Staff, S::Lapsed),
    row(S::Signed, A::Lapse, P::Staff, S::Lapsed),
    row(S::Running, A::Lapse, P::Staff, S::Lapsed),
    // Reversement: once money may have been paid (the advance falls due at the signature).
    row(
        S::Signed,
        A::RequestRecovery,
        P::Staff,
        S::RecoveryRequested,
    ),
    row(
        S::Running,
        A::RequestRecovery,
        P::Staff,
        S::RecoveryRequested,
    ),
    row(
        S::ReportSubmitted,
        A::RequestRecovery,
        P::Staff,
        S::RecoveryRequested,
    ),
    row(
        S::ReportChangesRequested,
        A::RequestRecovery,
        P::Staff,
        S::RecoveryRequested,
    ),
    row(
        S::ReportApproved,
        A::RequestRecovery,
        P::Staff,
        S::RecoveryRequested,
    ),
    row(S::RecoveryRequested, A::CloseRecovery, P::Staff, S::Closed),
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantTransitionError {
    /// No row leaves `state` by `action`, whoever acts (409 with `allowed`).
    #[error("Le financement est {} : l'action « {} » n'est pas possible", state.label_fr(), action.verb_fr())]
    NotAllowedInState {
        state: GrantState,
        action: GrantAction,
        allowed: Vec<GrantAction>,
    },
    /// The action is possible from this state, but for someone else (403).
    #[error("Vous n'êtes pas autorisé à {} ce financement", action.verb_fr())]
    Forbidden { action: GrantAction },
}

/// The state reached when `by` takes `action` from `from`.
pub fn next_state(
    from: GrantState,
    action: GrantAction,
    by: GrantParty,
) -> Result<GrantState, GrantTransitionError> {
    let mut rows = TRANSITIONS
        .iter()
        .filter(|t| t.from == from && t.action == action)
        .peekable();
    if rows.peek().is_none() {
        return Err(GrantTransitionError::NotAllowedInState {
            state: from,
            action,
            allowed: allowed_actions(from, by),
        });
    }
    rows.find(|t| t.by == by)
        .map(|t| t.to)
        .ok_or(GrantTransitionError::Forbidden { action })
}

/// The actions `by` may take from `state`, in the order of [`GrantAction::ALL`].
pub fn allowed_actions(state: GrantState, by: GrantParty) -> Vec<GrantAction> {
    GrantAction::ALL
        .into_iter()
        .filter(|&a| {
            TRANSITIONS
                .iter()
                .any(|t| t.from == state && t.action == a && t.by == by)
        })
        .collect()
}

impl GrantState {
    pub const ALL: [GrantState; 10] = [
        S::Awarded,
        S::AwaitingSignature,
        S::Signed,
        S::Running,
        S::ReportSubmitted,
        S::ReportChangesRequested,
        S::ReportApproved,
        S::RecoveryRequested,
        S::Lapsed,
        S::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            S::Awarded => "awarded",
            S::AwaitingSignature => "awaiting_signature",
            S::Signed => "signed",
            S::Running => "running",
            S::ReportSubmitted => "report_submitted",
            S::ReportChangesRequested => "report_changes_requested",
            S::ReportApproved => "report_approved",
            S::RecoveryRequested => "recovery_requested",
            S::Lapsed => "lapsed",
            S::Closed => "closed",
        }
    }

    /// An attribute of « le financement » (« Le financement est en attente de signature »).
    pub fn label_fr(self) -> &'static str {
        match self {
            S::Awarded => "attribué",
            S::AwaitingSignature => "en attente de la signature de la convention",
            S::Signed => "signé par le bénéficiaire, en attente de la contresignature",
            S::Running => "en cours",
            S::ReportSubmitted => "en attente de l'examen du compte rendu",
            S::ReportChangesRequested => "en attente d'un compte rendu corrigé",
            S::ReportApproved => "au compte rendu approuvé",
            S::RecoveryRequested => "en reversement",
            S::Lapsed => "caduc",
            S::Closed => "clos",
        }
    }

    /// What the grant waits for, in words (« signer la convention »), beside [`waits_for`].
    pub fn awaited_fr(self) -> Option<&'static str> {
        match self {
            S::Awarded => Some("émettre la convention ou démarrer la subvention"),
            S::AwaitingSignature => Some("signer la convention"),
            S::Signed => Some("contresigner la convention"),
            S::Running => Some("remettre le compte rendu financier"),
            S::ReportSubmitted => Some("examiner le compte rendu financier"),
            S::ReportChangesRequested => Some("corriger le compte rendu financier"),
            S::ReportApproved => Some("clore la subvention après le dernier versement"),
            S::RecoveryRequested => Some("constater le reversement des sommes demandées"),
            S::Lapsed | S::Closed => None,
        }
    }

    /// Whom the grant waits for, on the staff's list (« what waits for whom »).
    pub fn waits_for(self) -> Option<GrantParty> {
        match self {
            S::AwaitingSignature | S::Running | S::ReportChangesRequested => {
                Some(GrantParty::Beneficiary)
            }
            S::Signed | S::ReportSubmitted | S::RecoveryRequested => Some(GrantParty::Staff),
            S::Awarded | S::ReportApproved => Some(GrantParty::System),
            S::Lapsed | S::Closed => None,
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, S::Lapsed | S::Closed)
    }

    /// Whether the beneficiary may give or change the bank details: while the grant may
    /// still pay, not once it is over or its money is being recovered.
    /// Whether a final report may have been submitted by this state (staff's page shows it
    /// when one was).
    pub fn has_report(self) -> bool {
        matches!(
            self,
            Self::ReportSubmitted
                | Self::ReportChangesRequested
                | Self::ReportApproved
                | Self::RecoveryRequested
                | Self::Closed
        )
    }

    /// Whether the beneficiary writes the final report (and its annexes) in this state.
    pub fn takes_report(self) -> bool {
        matches!(self, Self::Running | Self::ReportChangesRequested)
    }

    pub fn takes_bank_details(self) -> bool {
        !self.is_final() && self != S::RecoveryRequested
    }
}

impl fmt::Display for GrantState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("état de financement inconnu : « {0} »")]
pub struct UnknownGrantState(pub String);

impl FromStr for GrantState {
    type Err = UnknownGrantState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| UnknownGrantState(s.to_owned()))
    }
}

impl GrantAction {
    pub const ALL: [GrantAction; 11] = [
        A::IssueConvention,
        A::Start,
        A::Sign,
        A::Countersign,
        A::SubmitReport,
        A::RequestReportChanges,
        A::ApproveReport,
        A::Close,
        A::Lapse,
        A::RequestRecovery,
        A::CloseRecovery,
    ];

    /// The name in the audit trail and in `allowed_actions`, the last segment of
    /// `POST /api/v1/grants/{id}/…` for the actions a person takes.
    pub fn as_str(self) -> &'static str {
        match self {
            A::IssueConvention => "issue-convention",
            A::Start => "start",
            A::Sign => "sign",
            A::Countersign => "countersign",
            A::SubmitReport => "submit-report",
            A::RequestReportChanges => "request-report-changes",
            A::ApproveReport => "approve-report",
            A::Close => "close",
            A::Lapse => "lapse",
            A::RequestRecovery => "request-recovery",
            A::CloseRecovery => "close-recovery",
        }
    }

    /// The name of the move in an application's history (`domain::history`).
    pub fn history_name(self) -> &'static str {
        match self {
            A::IssueConvention => "grant-issue-convention",
            A::Start => "grant-start",
            A::Sign => "grant-sign",
            A::Countersign => "grant-countersign",
            A::SubmitReport => "grant-submit-report",
            A::RequestReportChanges => "grant-request-report-changes",
            A::ApproveReport => "grant-approve-report",
            A::Close => "grant-close",
            A::Lapse => "grant-lapse",
            A::RequestRecovery => "grant-request-recovery",
            A::CloseRecovery => "grant-close-recovery",
        }
    }

    /// What a timeline says of the move.
    pub fn history_label_fr(self) -> &'static str {
        match self {
            A::IssueConvention => "Convention émise, en attente de signature",
            A::Start => "Financement démarré",
            A::Sign => "Convention signée par le bénéficiaire",
            A::Countersign => "Convention contresignée",
            A::SubmitReport => "Compte rendu financier déposé",
            A::RequestReportChanges => "Corrections du compte rendu demandées",
            A::ApproveReport => "Compte rendu financier approuvé",
            A::Close => "Financement clos",
            A::Lapse => "Financement déclaré caduc",
            A::RequestRecovery => "Reversement demandé",
            A::CloseRecovery => "Reversement soldé, financement clos",
        }
    }

    pub fn verb_fr(self) -> &'static str {
        match self {
            A::IssueConvention => "émettre la convention de",
            A::Start => "démarrer",
            A::Sign => "signer la convention de",
            A::Countersign => "contresigner la convention de",
            A::SubmitReport => "déposer le compte rendu de",
            A::RequestReportChanges => "demander des corrections au compte rendu de",
            A::ApproveReport => "approuver le compte rendu de",
            A::Close => "clore",
            A::Lapse => "déclarer caduc",
            A::RequestRecovery => "demander le reversement de",
            A::CloseRecovery => "clore le reversement de",
        }
    }
}

impl fmt::Display for GrantAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

pub use crate::domain::money::CONVENTION_THRESHOLD;

/// When a call's grants need a signed convention (§15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum ConventionPolicy {
    Always,
    /// Only above the call's threshold (23 000 € unless the call says otherwise).
    #[default]
    AboveThreshold,
    Never,
}

impl ConventionPolicy {
    pub const ALL: [ConventionPolicy; 3] = [Self::Always, Self::AboveThreshold, Self::Never];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Always => "always",
            Self::AboveThreshold => "above_threshold",
            Self::Never => "never",
        }
    }

    pub fn label_fr(self) -> &'static str {
        match self {
            Self::Always => "toujours",
            Self::AboveThreshold => "au-delà du seuil",
            Self::Never => "jamais",
        }
    }

    /// Whether a grant of `awarded` needs a convention. The law's wording is « dépasse » a
    /// threshold: exactly 23 000 € needs none.
    pub fn requires_convention(self, threshold: Cents, awarded: Cents) -> bool {
        match self {
            Self::Always => true,
            Self::AboveThreshold => awarded > threshold,
            Self::Never => false,
        }
    }
}

impl FromStr for ConventionPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| format!("politique de convention inconnue : « {s} »"))
    }
}

/// The first move of a new grant, made in the decision's transaction: to the convention's
/// signature, or straight to `running`.
pub fn first_move(convention_required: bool) -> GrantAction {
    if convention_required {
        GrantAction::IssueConvention
    } else {
        GrantAction::Start
    }
}

/// Months after the project's end when the final report falls due, unless the call says.
pub const DEFAULT_REPORT_DUE_MONTHS: u32 = 6;
/// The longest a call may give (the migration's CHECK says the same).
pub const MAX_REPORT_DUE_MONTHS: u32 = 36;

/// When the final report is due (§15): `months` after the project's end, or 12 months after
/// the award when the project gives no end. The day is kept, or the month's last when it has
/// none (31 August + 6 months is 28 or 29 February).
pub fn report_due_on(
    awarded_on: NaiveDate,
    project_end: Option<NaiveDate>,
    months: u32,
) -> NaiveDate {
    let (from, months) = match project_end {
        Some(end) => (end, months),
        None => (awarded_on, 12),
    };
    from.checked_add_months(Months::new(months))
        .unwrap_or(NaiveDate::MAX)
}

/// One line of a call's payment schedule: a label, a share and what makes it fall due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleLine {
    #[schema(example = "Avance")]
    pub label: String,
    #[schema(example = 80, minimum = 1, maximum = 100)]
    pub percent: u8,
    pub trigger: InstalmentTrigger,
}

/// The most lines a schedule holds.
pub const SCHEDULE_MAX_LINES: usize = 12;
/// The longest label of a line.
pub const SCHEDULE_LABEL_MAX: usize = 60;

/// What is wrong with a call's schedule, each problem with the path of its field
/// (`[1].percent`, or empty for the whole); nothing when it may be used.
pub fn check_schedule(schedule: &[ScheduleLine]) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    if schedule.is_empty() {
        problems.push((
            String::new(),
            "l'échéancier compte au moins un versement".into(),
        ));
        return problems;
    }
    if schedule.len() > SCHEDULE_MAX_LINES {
        problems.push((
            String::new(),
            format!("l'échéancier compte {SCHEDULE_MAX_LINES} versements au plus"),
        ));
    }
    for (i, line) in schedule.iter().enumerate() {
        let n = line.label.trim().chars().count();
        if let Err(e) = crate::domain::text::check(&line.label, crate::domain::text::Lines::Single)
        {
            problems.push((format!("[{i}].label"), e.to_string()));
        } else if n == 0 || n > SCHEDULE_LABEL_MAX {
            problems.push((
                format!("[{i}].label"),
                format!("nommez le versement ({SCHEDULE_LABEL_MAX} caractères au plus)"),
            ));
        }
        if !(1..=100).contains(&line.percent) {
            problems.push((
                format!("[{i}].percent"),
                "la part d'un versement est comprise entre 1 et 100 %".into(),
            ));
        }
    }
    let total: u32 = schedule.iter().map(|l| u32::from(l.percent)).sum();
    if total != 100 {
        problems.push((
            String::new(),
            format!("les parts des versements font {total} % : elles doivent faire 100 % en tout"),
        ));
    }
    problems
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InstalmentTrigger {
    Award,
    /// The signature of the convention; at the award when the grant needs none.
    Signature,
    ReportApproved,
}

impl InstalmentTrigger {
    /// When it falls due, as the award letter says it.
    pub fn when_fr(self, convention_required: bool) -> &'static str {
        match self {
            Self::Award => "à la notification du présent arrêté",
            Self::Signature if convention_required => "à la signature de la convention",
            Self::Signature => "à la notification du présent arrêté",
            Self::ReportApproved => "après l'approbation du compte rendu financier",
        }
    }
}

/// The default schedule (§15): 80 % « Avance » at the signature, 20 % « Solde » on the approved
/// report.
pub fn default_schedule() -> Vec<ScheduleLine> {
    vec![
        ScheduleLine {
            label: "Avance".into(),
            percent: 80,
            trigger: InstalmentTrigger::Signature,
        },
        ScheduleLine {
            label: "Solde".into(),
            percent: 20,
            trigger: InstalmentTrigger::ReportApproved,
        },
    ]
}

/// The amounts of a schedule: each line its share rounded down to the cent, the last the
/// remainder, so they sum to `awarded` exactly. `None` unless the shares sum to 100.
pub fn split(awarded: Cents, schedule: &[ScheduleLine]) -> Option<Vec<Cents>> {
    let total: u32 = schedule.iter().map(|l| u32::from(l.percent)).sum();
    if total != 100 || schedule.is_empty() {
        return None;
    }
    let mut amounts: Vec<Cents> = schedule[..schedule.len() - 1]
        .iter()
        .map(|l| awarded.percent_of(l.percent))
        .collect();
    let given = amounts
        .iter()
        .try_fold(Cents::ZERO, |sum, a| sum.checked_add(*a))?;
    amounts.push(awarded.checked_sub(given)?);
    Some(amounts)
}

/// A convention binds an identified structure, and money goes to one (§15, §16): a structure
/// still being created, with neither a SIRET nor an RNA number, gives one before it signs or
/// is paid; a hosted activity is identified by its host's SIRET. `None` when it is identified.
pub fn identifier_missing(
    organisation: &crate::domain::application::Organisation,
) -> Option<&'static str> {
    use crate::domain::application::OrganisationStatus as S;
    let given = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
    let identified = match organisation.status {
        S::Hosted => given(&organisation.host_siret),
        S::Registered | S::InCreation => given(&organisation.siret) || given(&organisation.rna),
    };
    if identified {
        None
    } else {
        Some(
            "La structure doit indiquer son numéro SIRET ou son numéro RNA avant de signer la \
             convention et de recevoir un versement : indiquez-le sur la page de la candidature \
             (« Ma structure est immatriculée »).",
        )
    }
}

/// The reminders a grant's beneficiary gets while something waits for them (§15), each at
/// most once per grant (the database keeps which were sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reminder {
    /// The convention is still unsigned 7 days after it was issued.
    ConventionUnsigned7Days,
    /// … and 21 days after.
    ConventionUnsigned21Days,
}

impl Reminder {
    pub const ALL: [Reminder; 2] = [
        Self::ConventionUnsigned7Days,
        Self::ConventionUnsigned21Days,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ConventionUnsigned7Days => "convention_unsigned_7_days",
            Self::ConventionUnsigned21Days => "convention_unsigned_21_days",
        }
    }

    /// Days after the convention's issue.
    pub fn days(self) -> i64 {
        match self {
            Self::ConventionUnsigned7Days => 7,
            Self::ConventionUnsigned21Days => 21,
        }
    }
}

/// The reminders due for a grant in `state` whose convention was issued on `issued_on`, on
/// `today` (Paris days: a reminder goes on the 7th day, whatever the hour). The one already
/// sent are the caller's to leave out. Only the most recent is due: a server stopped for a
/// month sends one reminder, not two at once.
pub fn due_reminders(
    state: GrantState,
    issued_on: NaiveDate,
    today: NaiveDate,
) -> Option<Reminder> {
    if state != GrantState::AwaitingSignature {
        return None;
    }
    let elapsed = (today - issued_on).num_days();
    Reminder::ALL
        .into_iter()
        .rev()
        .find(|r| elapsed >= r.days())
}

/// The reminders of the final report (§15): 30 and 7 days before it is due, and the day after
/// if it has not come; each at most once per grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportReminder {
    Due30Days,
    Due7Days,
    Late1Day,
}

impl ReportReminder {
    pub const ALL: [ReportReminder; 3] = [Self::Due30Days, Self::Due7Days, Self::Late1Day];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Due30Days => "report_due_30_days",
            Self::Due7Days => "report_due_7_days",
            Self::Late1Day => "report_late_1_day",
        }
    }

    /// Days from the due date (negative: before it).
    pub fn offset(self) -> i64 {
        match self {
            Self::Due30Days => -30,
            Self::Due7Days => -7,
            Self::Late1Day => 1,
        }
    }

    pub fn is_late(self) -> bool {
        self == Self::Late1Day
    }
}

/// The report reminder due for a grant in `state` whose report is due on `due_on`, on `today`
/// (Paris): only while the report is not submitted, and only the most recent (a server
/// stopped for a month sends one, not three).
pub fn due_report_reminder(
    state: GrantState,
    due_on: NaiveDate,
    today: NaiveDate,
) -> Option<ReportReminder> {
    if state != GrantState::Running {
        return None;
    }
    let from_due = (today - due_on).num_days();
    ReportReminder::ALL
        .into_iter()
        .rev()
        .find(|r| from_due >= r.offset())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARTIES: [GrantParty; 4] = [P::Beneficiary, P::Staff, P::System, P::Other];

    #[test]
    fn every_move_of_section_15_and_nothing_else() {
        // (from, action, by, to): the whole table, read as DESIGN.md §15 states it.
        let expected: &[(S, A, P, S)] = &[
            (
                S::Awarded,
                A::IssueConvention,
                P::System,
                S::AwaitingSignature,
            ),
            (S::Awarded, A::Start, P::System, S::Running),
            (S::AwaitingSignature, A::Sign, P::Beneficiary, S::Signed),
            (S::Signed, A::Countersign, P::Staff, S::Running),
            (
                S::Running,
                A::SubmitReport,
                P::Beneficiary,
                S::ReportSubmitted,
            ),
            (
                S::ReportChangesRequested,
                A::SubmitReport,
                P::Beneficiary,
                S::ReportSubmitted,
            ),
            (
                S::ReportSubmitted,
                A::RequestReportChanges,
                P::Staff,
                S::ReportChangesRequested,
            ),
            (
                S::ReportSubmitted,
                A::ApproveReport,
                P::Staff,
                S::ReportApproved,
            ),
            (S::ReportApproved, A::Close, P::System, S::Closed),
            (S::Awarded, A::Lapse, P::Staff, S::Lapsed),
            (S::AwaitingSignature, A::Lapse, P::Staff, S::Lapsed),
            (S::Signed, A::Lapse, P::Staff, S::Lapsed),
            (S::Running, A::Lapse, P::Staff, S::Lapsed),
            (
                S::Signed,
                A::RequestRecovery,
                P::Staff,
                S::RecoveryRequested,
            ),
            (
                S::Running,
                A::RequestRecovery,
                P::Staff,
                S::RecoveryRequested,
            ),
            (
                S::ReportSubmitted,
                A::RequestRecovery,
                P::Staff,
                S::RecoveryRequested,
            ),
            (
                S::ReportChangesRequested,
                A::RequestRecovery,
                P::Staff,
                S::RecoveryRequested,
            ),
            (
                S::ReportApproved,
                A::RequestRecovery,
                P::Staff,
                S::RecoveryRequested,
            ),
            (S::RecoveryRequested, A::CloseRecovery, P::Staff, S::Closed),
        ];
        for from in GrantState::ALL {
            for action in GrantAction::ALL {
                for by in PARTIES {
                    let want = expected
                        .iter()
                        .find(|(f, a, b, _)| *f == from && *a == action && *b == by)
                        .map(|(_, _, _, to)| *to);
                    let got = next_state(from, action, by).ok();
                    assert_eq!(got, want, "{from} --{action}--> by {by:?}");
                }
            }
        }
    }

    #[test]
    fn the_report_is_recalled_30_and_7_days_before_and_the_day_after() {
        let due = NaiveDate::from_ymd_opt(2027, 6, 30).unwrap();
        let day = |d: i64| due + chrono::Duration::days(d);
        use ReportReminder as R;
        let cases = [
            (S::Running, day(-31), None),
            (S::Running, day(-30), Some(R::Due30Days)),
            (S::Running, day(-8), Some(R::Due30Days)),
            (S::Running, day(-7), Some(R::Due7Days)),
            (S::Running, day(0), Some(R::Due7Days)),
            (S::Running, day(1), Some(R::Late1Day)),
            (S::Running, day(90), Some(R::Late1Day)),
            (S::ReportSubmitted, day(1), None),
            (S::ReportChangesRequested, day(1), None),
            (S::AwaitingSignature, day(-7), None),
        ];
        for (state, today, expected) in cases {
            assert_eq!(
                due_report_reminder(state, due, today),
                expected,
                "{state:?} {today}"
            );
        }
    }

    #[test]
    fn refusals_say_whether_the_state_or_the_party_is_wrong() {
        // Signing twice: the state is wrong, whoever tries.
        assert!(matches!(
            next_state(S::Signed, A::Sign, P::Beneficiary),
            Err(GrantTransitionError::NotAllowedInState { .. })
        ));
        // A member of staff cannot sign for the beneficiary, nor a stranger.
        for by in [P::Staff, P::Other, P::System] {
            assert_eq!(
                next_state(S::AwaitingSignature, A::Sign, by),
                Err(GrantTransitionError::Forbidden { action: A::Sign })
            );
        }
        // A countersignature before the signature is a conflict, not a permission matter.
        assert!(matches!(
            next_state(S::AwaitingSignature, A::Countersign, P::Staff),
            Err(GrantTransitionError::NotAllowedInState { .. })
        ));
        // A lapsed grant is signed by nobody.
        assert!(matches!(
            next_state(S::Lapsed, A::Sign, P::Beneficiary),
            Err(GrantTransitionError::NotAllowedInState { .. })
        ));
    }

    #[test]
    fn final_states_have_no_way_out_and_others_wait_for_someone() {
        for state in GrantState::ALL {
            let leaves = TRANSITIONS.iter().any(|t| t.from == state);
            assert_eq!(leaves, !state.is_final(), "{state}");
            assert_eq!(state.waits_for().is_none(), state.is_final(), "{state}");
            assert_eq!(state.as_str().parse::<GrantState>(), Ok(state));
        }
        assert!("signé".parse::<GrantState>().is_err());
    }

    #[test]
    fn allowed_actions_follow_the_table() {
        assert_eq!(
            allowed_actions(S::AwaitingSignature, P::Beneficiary),
            vec![A::Sign]
        );
        assert_eq!(
            allowed_actions(S::Signed, P::Staff),
            vec![A::Countersign, A::Lapse, A::RequestRecovery]
        );
        assert!(allowed_actions(S::Running, P::Other).is_empty());
    }

    #[test]
    fn the_convention_is_required_above_the_threshold_strictly() {
        let c = |cents| Cents::new(cents).unwrap();
        let cases = [
            (ConventionPolicy::Always, 100, true),
            (ConventionPolicy::Never, 10_000_000, false),
            (ConventionPolicy::AboveThreshold, 2_300_000, false),
            (ConventionPolicy::AboveThreshold, 2_300_001, true),
            (ConventionPolicy::AboveThreshold, 1_850_000, false),
        ];
        for (policy, awarded, required) in cases {
            assert_eq!(
                policy.requires_convention(CONVENTION_THRESHOLD, c(awarded)),
                required,
                "{policy:?} {awarded}"
            );
        }
        assert_eq!(CONVENTION_THRESHOLD.value(), 2_300_000);
        assert_eq!(first_move(true), A::IssueConvention);
        assert_eq!(first_move(false), A::Start);
        for p in ConventionPolicy::ALL {
            assert_eq!(p.as_str().parse::<ConventionPolicy>(), Ok(p));
        }
    }

    #[test]
    fn the_report_is_due_months_after_the_end_or_a_year_after_the_award() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let cases = [
            ("2027-03-15", Some("2027-12-31"), 6, "2028-06-30"),
            ("2027-03-15", Some("2027-08-31"), 6, "2028-02-29"),
            ("2027-03-15", None, 6, "2028-03-15"),
            ("2027-03-15", Some("2028-01-10"), 3, "2028-04-10"),
        ];
        for (awarded, end, months, due) in cases {
            assert_eq!(
                report_due_on(d(awarded), end.map(d), months),
                d(due),
                "{awarded} {end:?}"
            );
        }
    }

    #[test]
    fn a_schedule_splits_the_award_to_the_cent() {
        let c = |cents| Cents::new(cents).unwrap();
        let default = default_schedule();
        assert_eq!(
            split(c(1_850_000), &default),
            Some(vec![c(1_480_000), c(370_000)])
        );
        // 80 % of 1 000,01 € is 800,008 €: rounded down, the balance takes the cent.
        assert_eq!(
            split(c(100_001), &default),
            Some(vec![c(80_000), c(20_001)])
        );
        let thirds = vec![
            ScheduleLine {
                label: "1".into(),
                percent: 33,
                trigger: InstalmentTrigger::Award,
            },
            ScheduleLine {
                label: "2".into(),
                percent: 33,
                trigger: InstalmentTrigger::Signature,
            },
            ScheduleLine {
                label: "3".into(),
                percent: 34,
                trigger: InstalmentTrigger::ReportApproved,
            },
        ];
        for awarded in [1, 99, 100, 333_333, 2_000_000] {
            let parts = split(c(awarded), &thirds).unwrap();
            assert_eq!(parts.iter().map(|p| p.value()).sum::<i64>(), awarded);
        }
        let mut short = default.clone();
        short[1].percent = 10;
        assert_eq!(split(c(100), &short), None);
        assert_eq!(split(c(100), &[]), None);
    }

    #[test]
    fn reminders_fall_due_on_the_7th_and_21st_day_of_an_unsigned_convention() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let issued = d("2027-03-01");
        let cases = [
            (S::AwaitingSignature, "2027-03-01", None),
            (S::AwaitingSignature, "2027-03-07", None),
            (
                S::AwaitingSignature,
                "2027-03-08",
                Some(Reminder::ConventionUnsigned7Days),
            ),
            (
                S::AwaitingSignature,
                "2027-03-21",
                Some(Reminder::ConventionUnsigned7Days),
            ),
            (
                S::AwaitingSignature,
                "2027-03-22",
                Some(Reminder::ConventionUnsigned21Days),
            ),
            (
                S::AwaitingSignature,
                "2027-06-01",
                Some(Reminder::ConventionUnsigned21Days),
            ),
            // Signed, running or lapsed: nothing to remind.
            (S::Signed, "2027-03-08", None),
            (S::Running, "2027-03-22", None),
            (S::Lapsed, "2027-03-22", None),
        ];
        for (state, today, want) in cases {
            assert_eq!(
                due_reminders(state, issued, d(today)),
                want,
                "{state:?} {today}"
            );
        }
    }

    #[test]
    fn each_state_says_who_it_waits_for_and_only_the_ends_wait_for_no_one() {
        for state in GrantState::ALL {
            match state {
                S::Lapsed | S::Closed => {
                    assert_eq!(state.waits_for(), None, "{state:?}");
                    assert_eq!(state.awaited_fr(), None, "{state:?}");
                }
                _ => {
                    let who = state.waits_for().expect("a live grant waits for someone");
                    let what = state.awaited_fr().expect("and for something");
                    assert!(!what.is_empty());
                    // The party it waits for can make a move from this state (essor's own
                    // moves included): the list never points at someone who cannot act.
                    assert!(
                        TRANSITIONS.iter().any(|t| t.from == state && t.by == who),
                        "{state:?} waits for {who:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_structure_signs_and_is_paid_once_it_has_an_identifier() {
        use crate::domain::application::Organisation;
        // (status, siret, rna, host_siret, identified)
        let cases = [
            ("registered", Some("73282932000074"), None, None, true),
            ("registered", None, Some("W595012345"), None, true),
            ("registered", None, None, None, false),
            ("registered", Some("  "), Some(""), None, false),
            ("in_creation", None, None, None, false),
            ("in_creation", Some("73282932000074"), None, None, true),
            ("hosted", None, None, Some("44306184100047"), true),
            ("hosted", None, None, None, false),
        ];
        for (status, siret, rna, host, identified) in cases {
            let o: Organisation = serde_json::from_value(serde_json::json!({
                "status": status, "name": "Atelier", "legal_form": "association",
                "siret": siret, "rna": rna, "host_siret": host, "created_on": null,
                "address": "1 rue", "postal_code": "59100", "commune_insee": "59512",
                "employees": 0, "esus": "none", "insertion_structure": null,
                "rcs_ess_mention": false, "in_insolvency_proceedings": false,
            }))
            .unwrap();
            assert_eq!(
                identifier_missing(&o).is_none(),
                identified,
                "{status} {siret:?} {rna:?} {host:?}"
            );
        }
    }

    #[test]
    fn a_schedule_sums_to_100_with_named_lines() {
        let line = |label: &str, percent: u8| ScheduleLine {
            label: label.into(),
            percent,
            trigger: InstalmentTrigger::Signature,
        };
        assert!(check_schedule(&default_schedule()).is_empty());
        assert!(check_schedule(&[line("Unique", 100)]).is_empty());
        let paths = |s: &[ScheduleLine]| -> Vec<String> {
            check_schedule(s).into_iter().map(|(p, _)| p).collect()
        };
        assert_eq!(paths(&[line("Avance", 80), line("Solde", 30)]), [""]);
        assert_eq!(paths(&[]), [""]);
        assert_eq!(paths(&[line(" ", 100)]), ["[0].label"]);
        assert_eq!(paths(&[line("A", 0), line("B", 100)]), ["[0].percent"]);
        let twelve: Vec<ScheduleLine> = (0..13).map(|_| line("Part", 1)).collect();
        assert!(paths(&twelve).contains(&String::new()));
        let (_, message) = &check_schedule(&[line("Avance", 80), line("Solde", 30)])[0];
        assert!(message.contains("110 %"), "{message}");
    }
}

//! Mail at every step of an application (DESIGN.md §10): a transactional outbox.
//!
//! - [`Notifier::queue`] renders an event's mails (French templates, plain text + HTML) and
//!   inserts one outbox row per recipient on the caller's connection, inside the caller's
//!   transaction: a transition that rolls back queues nothing, one that commits always sends.
//! - [`worker::DeliveryWorker`], started with the server, claims due rows (`FOR UPDATE SKIP
//!   LOCKED` and a lease on PostgreSQL, `BEGIN IMMEDIATE` on SQLite), sends them through the
//!   configured [`transport::Transport`] (SMTP, `.eml` files or memory), and retries failures
//!   with exponential backoff and jitter until `mail.max_attempts`, then marks them `dead`.
//! - [`outbox`] holds the table's queries and what the admin endpoints show and re-queue.

pub mod account;
/// The outbox's table lives with the other tables (`db::outbox`); the notifier and its
/// workers read it through this name.
pub use crate::db::outbox;
pub mod referral;
pub mod retention;
pub mod templates;
pub mod transport;
pub mod worker;

use chrono::{DateTime, NaiveDate, Utc};
use minijinja::Value;
use uuid::Uuid;

use crate::clock::Clock;
use crate::config::Settings;
use crate::db::DbConnection;
use crate::domain::application_state::ApplicationState;
use crate::domain::money::Cents;
use crate::error::ServiceError;

pub use account::{AccountMail, AccountRecipient};
pub use outbox::{OutboxMessage, OutboxStatus};
pub use templates::{MailKind, Rendered, Templates};
pub use transport::{MemoryMailbox, SentMail, Transport};
pub use worker::{DeliveryWorker, WorkerStop};

/// What every application mail needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationSummary {
    pub application_id: String,
    /// "EA-2026-00042"
    pub reference: String,
    pub call_id: String,
    pub call_title: String,
    pub applicant_email: String,
    pub applicant_name: String,
    pub organisation_name: String,
    pub project_title: String,
    pub requested_cents: i64,
}

/// A step of an application's life that mails someone (DESIGN.md §7, last column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailEvent {
    /// To the applicant (receipt) and to staff.
    Submitted {
        app: ApplicationSummary,
        submitted_at: DateTime<Utc>,
        /// The active accounts of the communes where the project takes place (DESIGN.md §16).
        commune_addresses: Vec<String>,
    },
    /// To the applicant.
    ChangesRequested {
        app: ApplicationSummary,
        message: String,
    },
    /// To the applicant.
    DeclaredIneligible {
        app: ApplicationSummary,
        motivation: String,
        /// The ineligibility letter, attached to the mail.
        letter_id: Option<String>,
    },
    /// To the applicant.
    ReviewStarted { app: ApplicationSummary },
    /// To that reviewer; their mail links to the page of this assignment.
    ReviewerAssigned {
        app: ApplicationSummary,
        assignment_id: String,
        reviewer_email: String,
        reviewer_name: String,
    },
    /// To the applicant.
    Accepted {
        app: ApplicationSummary,
        awarded_cents: i64,
        motivation: String,
        committee_date: NaiveDate,
        decision_reference: String,
        /// The award letter (arrêté attributif), attached to the mail.
        letter_id: Option<String>,
    },
    /// To the applicant.
    Rejected {
        app: ApplicationSummary,
        motivation: String,
        committee_date: NaiveDate,
        /// The refusal letter, attached to the mail.
        letter_id: Option<String>,
    },
    /// To the applicant, and to staff if the application had been submitted.
    Withdrawn {
        app: ApplicationSummary,
        reason: String,
        was_submitted: bool,
    },
    /// To staff: a reviewer recused themselves, with their reason.
    ReviewerRecused {
        app: ApplicationSummary,
        reviewer_name: String,
        reason: String,
    },
    /// To staff: every reviewer not recused has submitted their review.
    ReviewsComplete {
        app: ApplicationSummary,
        submitted_reviews: i64,
        min_reviews: i64,
    },
    /// To the beneficiary: the convention is issued, to sign in essor (§15).
    ConventionToSign {
        app: ApplicationSummary,
        awarded_cents: i64,
        /// The convention, attached to the mail.
        letter_id: Option<String>,
    },
    /// To the beneficiary (a receipt, the signed convention attached) and to staff (to
    /// countersign).
    ConventionSigned {
        app: ApplicationSummary,
        signatory_name: String,
        signatory_quality: String,
        signed_at: DateTime<Utc>,
        letter_id: Option<String>,
    },
    /// To the beneficiary: staff countersigned, the grant is running.
    ConventionCountersigned {
        app: ApplicationSummary,
        countersigned_at: DateTime<Utc>,
    },
    /// To the beneficiary: the convention is still unsigned `days` after it was issued.
    ConventionReminder {
        app: ApplicationSummary,
        days: i64,
        /// The convention, attached again.
        letter_id: Option<String>,
    },
    /// To staff (the finance team): an instalment is to be paid.
    InstalmentRequested {
        app: ApplicationSummary,
        label: String,
        amount_cents: i64,
    },
    /// To the beneficiary: an instalment is paid (the finance service's file says so).
    InstalmentPaid {
        app: ApplicationSummary,
        label: String,
        amount_cents: i64,
        paid_on: chrono::NaiveDate,
    },
    /// To the beneficiary: staff ask for money back (reversement), the letter attached.
    RecoveryRequested {
        app: ApplicationSummary,
        amount_cents: i64,
        motivation: String,
        letter_id: Option<String>,
    },
    /// To staff: a final report is submitted, to read.
    ReportSubmitted { app: ApplicationSummary },
    /// To the beneficiary: staff ask for changes to the report.
    ReportChangesRequested {
        app: ApplicationSummary,
        message: String,
    },
    /// To the beneficiary: the report is approved (the balance falls due).
    ReportApproved { app: ApplicationSummary },
    /// To the beneficiary: the report is due on `due_on` (in `days` days), or late.
    ReportReminder {
        app: ApplicationSummary,
        due_on: NaiveDate,
        days: i64,
        late: bool,
    },
    /// To the beneficiary: staff declared the grant lapsed, with their motivation.
    GrantLapsed {
        app: ApplicationSummary,
        motivation: String,
    },
}

/// Who a mail is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Applicant,
    Staff,
    Reviewer,
    /// A commune's account (DESIGN.md §16).
    Commune,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applicant => "applicant",
            Self::Staff => "staff",
            Self::Reviewer => "reviewer",
            Self::Commune => "commune",
        }
    }
}

impl MailEvent {
    /// The name stored in the outbox (`event` column).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Submitted { .. } => "submitted",
            Self::ChangesRequested { .. } => "changes_requested",
            Self::DeclaredIneligible { .. } => "declared_ineligible",
            Self::ReviewStarted { .. } => "review_started",
            Self::ReviewerAssigned { .. } => "reviewer_assigned",
            Self::Accepted { .. } => "accepted",
            Self::Rejected { .. } => "rejected",
            Self::Withdrawn { .. } => "withdrawn",
            Self::ReviewerRecused { .. } => "reviewer_recused",
            Self::ReviewsComplete { .. } => "reviews_complete",
            Self::ConventionToSign { .. } => "convention_to_sign",
            Self::ConventionSigned { .. } => "convention_signed",
            Self::ConventionCountersigned { .. } => "convention_countersigned",
            Self::ConventionReminder { .. } => "convention_reminder",
            Self::InstalmentRequested { .. } => "instalment_requested",
            Self::InstalmentPaid { .. } => "instalment_paid",
            Self::RecoveryRequested { .. } => "recovery_requested",
            Self::ReportSubmitted { .. } => "report_submitted",
            Self::ReportChangesRequested { .. } => "report_changes_requested",
            Self::ReportApproved { .. } => "report_approved",
            Self::ReportReminder { .. } => "report_reminder",
            Self::GrantLapsed { .. } => "grant_lapsed",
        }
    }

    /// The letter the applicant's mail carries, if any.
    pub fn letter_id(&self) -> Option<&str> {
        match self {
            Self::DeclaredIneligible { letter_id, .. }
            | Self::Accepted { letter_id, .. }
            | Self::Rejected { letter_id, .. }
            | Self::ConventionToSign { letter_id, .. }
            | Self::ConventionSigned { letter_id, .. }
            | Self::ConventionReminder { letter_id, .. }
            | Self::RecoveryRequested { letter_id, .. } => letter_id.as_deref(),
            _ => None,
        }
    }

    /// Attaches a letter to the decision's mail (a no-op for events without one).
    pub fn attach_letter(&mut self, id: String) {
        if let Self::DeclaredIneligible { letter_id, .. }
        | Self::Accepted { letter_id, .. }
        | Self::Rejected { letter_id, .. }
        | Self::ConventionToSign { letter_id, .. }
        | Self::ConventionSigned { letter_id, .. }
        | Self::ConventionReminder { letter_id, .. }
        | Self::RecoveryRequested { letter_id, .. } = self
        {
            *letter_id = Some(id);
        }
    }

    pub fn app(&self) -> &ApplicationSummary {
        match self {
            Self::Submitted { app, .. }
            | Self::ChangesRequested { app, .. }
            | Self::DeclaredIneligible { app, .. }
            | Self::ReviewStarted { app }
            | Self::ReviewerAssigned { app, .. }
            | Self::Accepted { app, .. }
            | Self::Rejected { app, .. }
            | Self::Withdrawn { app, .. }
            | Self::ReviewerRecused { app, .. }
            | Self::ReviewsComplete { app, .. }
            | Self::ConventionToSign { app, .. }
            | Self::ConventionSigned { app, .. }
            | Self::ConventionCountersigned { app, .. }
            | Self::ConventionReminder { app, .. }
            | Self::InstalmentRequested { app, .. }
            | Self::InstalmentPaid { app, .. }
            | Self::RecoveryRequested { app, .. }
            | Self::ReportSubmitted { app }
            | Self::ReportChangesRequested { app, .. }
            | Self::ReportApproved { app }
            | Self::ReportReminder { app, .. }
            | Self::GrantLapsed { app, .. } => app,
        }
    }

    /// The application's state once the event has happened.
    pub fn new_state(&self) -> ApplicationState {
        match self {
            Self::Submitted { .. } => ApplicationState::Submitted,
            Self::ChangesRequested { .. } => ApplicationState::ChangesRequested,
            Self::DeclaredIneligible { .. } => ApplicationState::Ineligible,
            Self::ReviewStarted { .. }
            | Self::ReviewerAssigned { .. }
            | Self::ReviewerRecused { .. }
            | Self::ReviewsComplete { .. } => ApplicationState::UnderReview,
            // The grant's life happens on an accepted application.
            Self::Accepted { .. }
            | Self::ConventionToSign { .. }
            | Self::ConventionSigned { .. }
            | Self::ConventionCountersigned { .. }
            | Self::ConventionReminder { .. }
            | Self::InstalmentRequested { .. }
            | Self::InstalmentPaid { .. }
            | Self::RecoveryRequested { .. }
            | Self::ReportSubmitted { .. }
            | Self::ReportChangesRequested { .. }
            | Self::ReportApproved { .. }
            | Self::ReportReminder { .. }
            | Self::GrantLapsed { .. } => ApplicationState::Accepted,
            Self::Rejected { .. } => ApplicationState::Rejected,
            Self::Withdrawn { .. } => ApplicationState::Withdrawn,
        }
    }

    /// Every mail kind this event can produce (whatever the recipients).
    pub fn kinds(&self) -> &'static [MailKind] {
        match self {
            Self::Submitted { .. } => &[
                MailKind::SubmittedApplicant,
                MailKind::SubmittedStaff,
                MailKind::SubmittedCommune,
            ],
            Self::ChangesRequested { .. } => &[MailKind::ChangesRequested],
            Self::DeclaredIneligible { .. } => &[MailKind::DeclaredIneligible],
            Self::ReviewStarted { .. } => &[MailKind::ReviewStarted],
            Self::ReviewerAssigned { .. } => &[MailKind::ReviewerAssigned],
            Self::Accepted { .. } => &[MailKind::Accepted],
            Self::Rejected { .. } => &[MailKind::Rejected],
            Self::Withdrawn { .. } => &[MailKind::WithdrawnApplicant, MailKind::WithdrawnStaff],
            Self::ReviewerRecused { .. } => &[MailKind::ReviewerRecused],
            Self::ReviewsComplete { .. } => &[MailKind::ReviewsComplete],
            Self::ConventionToSign { .. } => &[MailKind::ConventionToSign],
            Self::ConventionSigned { .. } => &[
                MailKind::ConventionSignedApplicant,
                MailKind::ConventionSignedStaff,
            ],
            Self::ConventionCountersigned { .. } => &[MailKind::ConventionCountersigned],
            Self::ConventionReminder { .. } => &[MailKind::ConventionReminder],
            Self::InstalmentRequested { .. } => &[MailKind::InstalmentRequested],
            Self::InstalmentPaid { .. } => &[MailKind::InstalmentPaid],
            Self::RecoveryRequested { .. } => &[MailKind::RecoveryRequested],
            Self::ReportSubmitted { .. } => &[MailKind::ReportSubmitted],
            Self::ReportChangesRequested { .. } => &[MailKind::ReportChangesRequested],
            Self::ReportApproved { .. } => &[MailKind::ReportApproved],
            Self::ReportReminder { .. } => &[MailKind::ReportReminder],
            Self::GrantLapsed { .. } => &[MailKind::GrantLapsed],
        }
    }

    /// Who gets which mail: `(kind, audience, address, name)`, one per recipient.
    pub fn recipients(&self, staff: &[String]) -> Vec<Recipient> {
        let app = self.app();
        let applicant = |kind| Recipient {
            kind,
            audience: Audience::Applicant,
            address: app.applicant_email.clone(),
            name: Some(app.applicant_name.clone()).filter(|n| !n.trim().is_empty()),
        };
        let staff_of = |kind| {
            staff.iter().map(move |address| Recipient {
                kind,
                audience: Audience::Staff,
                address: address.clone(),
                name: None,
            })
        };
        match self {
            Self::Submitted {
                commune_addresses, ..
            } => std::iter::once(applicant(MailKind::SubmittedApplicant))
                .chain(staff_of(MailKind::SubmittedStaff))
                .chain(commune_addresses.iter().map(|address| Recipient {
                    kind: MailKind::SubmittedCommune,
                    audience: Audience::Commune,
                    address: address.clone(),
                    name: None,
                }))
                .collect(),
            Self::ChangesRequested { .. } => vec![applicant(MailKind::ChangesRequested)],
            Self::DeclaredIneligible { .. } => vec![applicant(MailKind::DeclaredIneligible)],
            Self::ReviewStarted { .. } => vec![applicant(MailKind::ReviewStarted)],
            Self::ReviewerAssigned {
                reviewer_email,
                reviewer_name,
                ..
            } => vec![Recipient {
                kind: MailKind::ReviewerAssigned,
                audience: Audience::Reviewer,
                address: reviewer_email.clone(),
                name: Some(reviewer_name.clone()).filter(|n| !n.trim().is_empty()),
            }],
            Self::Accepted { .. } => vec![applicant(MailKind::Accepted)],
            Self::Rejected { .. } => vec![applicant(MailKind::Rejected)],
            Self::Withdrawn { was_submitted, .. } => {
                let mut all = vec![applicant(MailKind::WithdrawnApplicant)];
                if *was_submitted {
                    all.extend(staff_of(MailKind::WithdrawnStaff));
                }
                all
            }
            Self::ReviewerRecused { .. } => staff_of(MailKind::ReviewerRecused).collect(),
            Self::ReviewsComplete { .. } => staff_of(MailKind::ReviewsComplete).collect(),
            Self::ConventionToSign { .. } => vec![applicant(MailKind::ConventionToSign)],
            Self::ConventionSigned { .. } => {
                std::iter::once(applicant(MailKind::ConventionSignedApplicant))
                    .chain(staff_of(MailKind::ConventionSignedStaff))
                    .collect()
            }
            Self::ConventionCountersigned { .. } => {
                vec![applicant(MailKind::ConventionCountersigned)]
            }
            Self::ConventionReminder { .. } => vec![applicant(MailKind::ConventionReminder)],
            Self::InstalmentRequested { .. } => staff_of(MailKind::InstalmentRequested).collect(),
            Self::InstalmentPaid { .. } => vec![applicant(MailKind::InstalmentPaid)],
            Self::RecoveryRequested { .. } => vec![applicant(MailKind::RecoveryRequested)],
            Self::ReportSubmitted { .. } => staff_of(MailKind::ReportSubmitted).collect(),
            Self::ReportChangesRequested { .. } => {
                vec![applicant(MailKind::ReportChangesRequested)]
            }
            Self::ReportApproved { .. } => vec![applicant(MailKind::ReportApproved)],
            Self::ReportReminder { .. } => vec![applicant(MailKind::ReportReminder)],
            Self::GrantLapsed { .. } => vec![applicant(MailKind::GrantLapsed)],
        }
    }

    /// The variables only this event has.
    fn specific_context(&self) -> Vec<(&'static str, Value)> {
        match self {
            Self::Submitted { submitted_at, .. } => vec![
                ("submitted_at", templates::datetime_fr(*submitted_at).into()),
                (
                    "submitted_on",
                    templates::date_fr(
                        submitted_at
                            .with_timezone(&chrono_tz::Europe::Paris)
                            .date_naive(),
                    )
                    .into(),
                ),
            ],
            Self::ChangesRequested { message, .. } => vec![("message", message.clone().into())],
            Self::DeclaredIneligible { motivation, .. } => {
                vec![("motivation", motivation.clone().into())]
            }
            Self::ReviewStarted { .. } => vec![],
            Self::ReviewerAssigned {
                reviewer_email,
                reviewer_name,
                ..
            } => vec![
                ("reviewer_email", reviewer_email.clone().into()),
                ("reviewer_name", reviewer_name.clone().into()),
            ],
            Self::Accepted {
                awarded_cents,
                motivation,
                committee_date,
                decision_reference,
                ..
            } => vec![
                ("awarded_amount", amount_fr(*awarded_cents).into()),
                ("awarded_cents", (*awarded_cents).into()),
                ("motivation", motivation.clone().into()),
                ("committee_date", templates::date_fr(*committee_date).into()),
                ("decision_reference", decision_reference.clone().into()),
            ],
            Self::Rejected {
                motivation,
                committee_date,
                ..
            } => vec![
                ("motivation", motivation.clone().into()),
                ("committee_date", templates::date_fr(*committee_date).into()),
            ],
            Self::Withdrawn {
                reason,
                was_submitted,
                ..
            } => vec![
                ("reason", reason.trim().to_owned().into()),
                ("was_submitted", (*was_submitted).into()),
            ],
            Self::ReviewerRecused {
                reviewer_name,
                reason,
                ..
            } => vec![
                ("reviewer_name", reviewer_name.clone().into()),
                ("reason", reason.trim().to_owned().into()),
            ],
            Self::ReviewsComplete {
                submitted_reviews,
                min_reviews,
                ..
            } => vec![
                ("submitted_reviews", (*submitted_reviews).into()),
                ("min_reviews", (*min_reviews).into()),
            ],
            Self::ConventionToSign { awarded_cents, .. } => vec![
                ("awarded_amount", amount_fr(*awarded_cents).into()),
                ("awarded_cents", (*awarded_cents).into()),
            ],
            Self::ConventionSigned {
                signatory_name,
                signatory_quality,
                signed_at,
                ..
            } => vec![
                ("signatory_name", signatory_name.clone().into()),
                ("signatory_quality", signatory_quality.clone().into()),
                ("signed_at", templates::datetime_fr(*signed_at).into()),
            ],
            Self::ConventionCountersigned {
                countersigned_at, ..
            } => vec![(
                "countersigned_on",
                templates::date_fr(
                    countersigned_at
                        .with_timezone(&chrono_tz::Europe::Paris)
                        .date_naive(),
                )
                .into(),
            )],
            Self::ConventionReminder { days, .. } => vec![("days", (*days).into())],
            Self::InstalmentRequested {
                label,
                amount_cents,
                ..
            } => vec![
                ("instalment_label", label.clone().into()),
                ("instalment_amount", amount_fr(*amount_cents).into()),
                ("instalment_cents", (*amount_cents).into()),
            ],
            Self::InstalmentPaid {
                label,
                amount_cents,
                paid_on,
                ..
            } => vec![
                ("instalment_label", label.clone().into()),
                ("instalment_amount", amount_fr(*amount_cents).into()),
                ("instalment_cents", (*amount_cents).into()),
                ("paid_on", templates::date_fr(*paid_on).into()),
            ],
            Self::RecoveryRequested {
                amount_cents,
                motivation,
                ..
            } => vec![
                ("recovery_amount", amount_fr(*amount_cents).into()),
                ("recovery_cents", (*amount_cents).into()),
                ("motivation", motivation.trim().to_owned().into()),
            ],
            Self::ReportSubmitted { .. } | Self::ReportApproved { .. } => vec![],
            Self::ReportChangesRequested { message, .. } => {
                vec![("message", message.trim().to_owned().into())]
            }
            Self::ReportReminder {
                due_on, days, late, ..
            } => vec![
                ("due_on", templates::date_fr(*due_on).into()),
                ("days", (*days).into()),
                ("late", (*late).into()),
            ],
            Self::GrantLapsed { motivation, .. } => {
                vec![("motivation", motivation.trim().to_owned().into())]
            }
        }
    }
}

/// One recipient of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub kind: MailKind,
    pub audience: Audience,
    pub address: String,
    pub name: Option<String>,
}

/// A rendered mail for one recipient, as it goes into the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    pub event: &'static str,
    pub recipient: Recipient,
    pub application_id: String,
    pub content: Rendered,
}

/// `20 000,00 €` (with no-break spaces).
pub fn amount_fr(cents: i64) -> String {
    match Cents::new(cents) {
        Ok(c) => c.to_fr_string(),
        // Amounts are never negative; should one come, say it rather than fail the transition.
        Err(_) => format!(
            "-{}",
            Cents::new(cents.saturating_abs())
                .unwrap_or_default()
                .to_fr_string()
        ),
    }
}

/// Renders and queues the mails of application events.
#[derive(Debug)]
pub struct Notifier {
    templates: Templates,
    staff: Vec<String>,
    base_url: String,
    authority: String,
    scheme: String,
    message_id_domain: String,
    /// Stamps the queued messages (and the runner's audit events): the services' clock.
    clock: Clock,
}

impl Notifier {
    /// Loads the templates (the embedded ones, overridden by `mail.templates_dir` when set) and
    /// renders every one of them once with a sample event, so a broken override (syntax error,
    /// unknown variable, empty subject) stops the start-up instead of a transition.
    pub fn new(settings: &Settings) -> anyhow::Result<Notifier> {
        let dir = settings.mail.templates_dir.trim();
        let templates = if dir.is_empty() {
            Templates::embedded()?
        } else {
            Templates::load(Some(std::path::Path::new(dir)))?
        };
        let from: lettre::message::Mailbox = settings
            .mail
            .from
            .parse()
            .map_err(|e| anyhow::anyhow!("mail.from: {e}"))?;
        let notifier = Notifier {
            templates,
            staff: settings.mail.staff_address_list(),
            base_url: settings.frontend.base_url.trim_end_matches('/').to_owned(),
            authority: settings.authority.name.clone(),
            scheme: settings.authority.grant_scheme.clone(),
            message_id_domain: from.email.domain().to_owned(),
            clock: Clock::system(),
        };
        notifier.check_templates()?;
        if !notifier.templates.overridden.is_empty() {
            tracing::info!(
                dir,
                files = %notifier.templates.overridden.join(", "),
                "mail templates overridden"
            );
        }
        Ok(notifier)
    }

    /// The same notifier, stamping its rows with `clock` (the services' clock).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The clock the rows it writes are stamped with.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    fn check_templates(&self) -> anyhow::Result<()> {
        for event in sample_events() {
            for recipient in event.recipients(&["agent@exemple.fr".to_owned()]) {
                let kind = recipient.kind;
                let rendered = self
                    .templates
                    .render(kind, &self.context(&event, recipient.audience))
                    .map_err(|e| {
                        anyhow::anyhow!(
                            "mail template {} cannot be rendered: {}",
                            kind.name(),
                            templates::describe(&e)
                        )
                    })?;
                anyhow::ensure!(
                    !rendered.subject.is_empty(),
                    "mail template {}.subject.txt renders an empty subject",
                    kind.name()
                );
            }
        }
        let sample = retention::sample_draft_warning();
        self.render_draft_warning(&sample)
            .map_err(|e| anyhow::anyhow!("mail template draft_expiring cannot be rendered: {e}"))?;
        self.render_referral(&referral::sample_referral())
            .map_err(|e| anyhow::anyhow!("mail template referral cannot be rendered: {e}"))?;
        for mail in account::sample_account_mails() {
            let rendered = self
                .templates
                .render(mail.kind(), &self.account_context(&mail))
                .map_err(|e| {
                    anyhow::anyhow!(
                        "mail template {} cannot be rendered: {}",
                        mail.kind().name(),
                        templates::describe(&e)
                    )
                })?;
            anyhow::ensure!(
                !rendered.subject.is_empty(),
                "mail template {}.subject.txt renders an empty subject",
                mail.kind().name()
            );
        }
        Ok(())
    }

    /// `{frontend.base_url}/candidatures/{application_id}`: the applicant's page.
    pub fn link(&self, application_id: &str) -> String {
        format!("{}/candidatures/{application_id}", self.base_url)
    }

    /// The page a mail's link opens: the one of the person it is sent to (DESIGN.md §10) —
    /// the applicant's page, the staff application page, or the reviewer's page of their
    /// assignment.
    pub fn link_for(&self, event: &MailEvent, audience: Audience) -> String {
        let app = event.app();
        match (audience, event) {
            // The report's form itself, where the beneficiary has something to write.
            (
                Audience::Applicant,
                MailEvent::ReportReminder { .. } | MailEvent::ReportChangesRequested { .. },
            ) => format!("{}/compte-rendu", self.link(&app.application_id)),
            (Audience::Applicant, _) => self.link(&app.application_id),
            (Audience::Reviewer, MailEvent::ReviewerAssigned { assignment_id, .. }) => {
                format!("{}/evaluations/{assignment_id}", self.base_url)
            }
            // A reviewer's mail always names its assignment; should another event ever be
            // sent to a reviewer, their list of assignments is where they find it.
            (Audience::Reviewer, _) => format!("{}/evaluations", self.base_url),
            (Audience::Staff, _) => {
                format!(
                    "{}/gestion/candidatures/{}",
                    self.base_url, app.application_id
                )
            }
            // A commune's page of an application in its commune.
            (Audience::Commune, _) => {
                format!(
                    "{}/commune/candidatures/{}",
                    self.base_url, app.application_id
                )
            }
        }
    }

    /// The template variables of an event for one audience (docs/running.md, « Mail », lists them).
    fn context(&self, event: &MailEvent, audience: Audience) -> Value {
        let app = event.app();
        let state = event.new_state();
        let mut pairs: Vec<(&'static str, Value)> = vec![
            ("application_id", app.application_id.clone().into()),
            ("reference", app.reference.clone().into()),
            ("call_id", app.call_id.clone().into()),
            ("call_title", app.call_title.clone().into()),
            ("applicant_email", app.applicant_email.clone().into()),
            ("applicant_name", app.applicant_name.clone().into()),
            ("organisation_name", app.organisation_name.clone().into()),
            ("project_title", app.project_title.clone().into()),
            ("requested_amount", amount_fr(app.requested_cents).into()),
            ("requested_cents", app.requested_cents.into()),
            ("state", state.label_fr().into()),
            ("state_code", state.as_str().into()),
            ("event", event.name().into()),
            ("link", self.link_for(event, audience).into()),
            ("frontend_url", self.base_url.clone().into()),
            ("authority", self.authority.clone().into()),
            ("scheme", self.scheme.clone().into()),
        ];
        pairs.extend(event.specific_context());
        templates::context(pairs)
    }

    /// The event's mails, one per recipient, rendered (no I/O).
    pub fn render(&self, event: &MailEvent) -> Result<Vec<OutgoingMail>, ServiceError> {
        event
            .recipients(&self.staff)
            .into_iter()
            .map(|recipient| {
                let ctx = self.context(event, recipient.audience);
                let content = self.templates.render(recipient.kind, &ctx).map_err(|e| {
                    ServiceError::Internal(anyhow::anyhow!(
                        "mail template {}: {}",
                        recipient.kind.name(),
                        templates::describe(&e)
                    ))
                })?;
                Ok(OutgoingMail {
                    event: event.name(),
                    application_id: event.app().application_id.clone(),
                    recipient,
                    content,
                })
            })
            .collect()
    }

    /// Renders the event's mails and inserts them in the outbox, on the caller's connection
    /// (inside the caller's transaction). Returns the number of messages queued.
    pub fn queue(&self, conn: &mut DbConnection, event: &MailEvent) -> Result<usize, ServiceError> {
        let mails = self.render(event)?;
        let now = self.clock.now();
        for mail in &mails {
            let id = Uuid::now_v7().to_string();
            let message_id = format!("<{id}@{}>", self.message_id_domain);
            outbox::insert(
                conn,
                &outbox::NewOutboxRow {
                    id: &id,
                    message_id: &message_id,
                    event: mail.event,
                    audience: mail.recipient.audience.as_str(),
                    application_id: Some(&mail.application_id),
                    recipient: &mail.recipient.address,
                    recipient_name: mail.recipient.name.as_deref(),
                    subject: &mail.content.subject,
                    body_text: &mail.content.text,
                    body_html: &mail.content.html,
                    status: OutboxStatus::Pending.as_str(),
                    attempts: 0,
                    next_attempt_at: now,
                    created_at: now,
                    updated_at: now,
                    // Only the applicant's mail carries the letter addressed to them.
                    letter_id: (mail.recipient.audience == Audience::Applicant)
                        .then(|| event.letter_id())
                        .flatten(),
                },
            )?;
        }
        tracing::debug!(
            event = event.name(),
            application = %event.app().application_id,
            queued = mails.len(),
            "mail queued"
        );
        Ok(mails.len())
    }
}

/// One event of each kind, for checking templates (and for tests).
#[expect(clippy::expect_used, reason = "the sample's constant dates exist")]
pub fn sample_events() -> Vec<MailEvent> {
    let app = ApplicationSummary {
        application_id: "01936f4e-5a7b-7c3d-9e2f-0a1b2c3d4e5f".into(),
        reference: "EA-2026-00042".into(),
        call_id: "01936f4e-0000-7000-8000-000000000001".into(),
        call_title: "Entreprendre autrement 2026".into(),
        applicant_email: "porteur@exemple.fr".into(),
        applicant_name: "Jeanne Dupont".into(),
        organisation_name: "Les Ateliers du Sart".into(),
        project_title: "Recyclerie de quartier".into(),
        requested_cents: 2_000_000,
    };
    let date = NaiveDate::from_ymd_opt(2027, 1, 15).expect("a valid date");
    vec![
        MailEvent::Submitted {
            app: app.clone(),
            submitted_at: date.and_hms_opt(13, 30, 0).expect("a valid time").and_utc(),
            commune_addresses: vec!["agent@ville-roubaix.fr".into()],
        },
        MailEvent::ChangesRequested {
            app: app.clone(),
            message: "Merci de joindre le RIB de la structure.".into(),
        },
        MailEvent::DeclaredIneligible {
            app: app.clone(),
            motivation: "Activité hors du territoire de la Métropole.".into(),
            letter_id: None,
        },
        MailEvent::ReviewStarted { app: app.clone() },
        MailEvent::ReviewerAssigned {
            app: app.clone(),
            assignment_id: "01936f4e-1111-7000-8000-000000000002".into(),
            reviewer_email: "expert@exemple.fr".into(),
            reviewer_name: "Camille Martin".into(),
        },
        MailEvent::Accepted {
            app: app.clone(),
            awarded_cents: 1_500_000,
            motivation: "Projet solide, fort ancrage local.".into(),
            committee_date: date,
            decision_reference: "DEL-2027-015".into(),
            letter_id: None,
        },
        MailEvent::Rejected {
            app: app.clone(),
            motivation: "Modèle économique insuffisamment étayé.".into(),
            committee_date: date,
            letter_id: None,
        },
        MailEvent::Withdrawn {
            app: app.clone(),
            reason: "Projet reporté.".into(),
            was_submitted: true,
        },
        MailEvent::ReviewerRecused {
            app: app.clone(),
            reviewer_name: "Camille Martin".into(),
            reason: "J'ai conseillé cette structure l'an dernier.".into(),
        },
        MailEvent::ReviewsComplete {
            app: app.clone(),
            submitted_reviews: 2,
            min_reviews: 2,
        },
        MailEvent::ConventionToSign {
            app: app.clone(),
            awarded_cents: 2_450_000,
            letter_id: None,
        },
        MailEvent::ConventionSigned {
            app: app.clone(),
            signatory_name: "Jeanne Dupont".into(),
            signatory_quality: "Présidente".into(),
            signed_at: date.and_hms_opt(9, 5, 0).expect("a valid time").and_utc(),
            letter_id: None,
        },
        MailEvent::ConventionCountersigned {
            app: app.clone(),
            countersigned_at: date.and_hms_opt(15, 0, 0).expect("a valid time").and_utc(),
        },
        MailEvent::ConventionReminder {
            app: app.clone(),
            days: 7,
            letter_id: None,
        },
        MailEvent::InstalmentRequested {
            app: app.clone(),
            label: "Avance".into(),
            amount_cents: 1_960_000,
        },
        MailEvent::InstalmentPaid {
            app: app.clone(),
            label: "Avance".into(),
            amount_cents: 1_960_000,
            paid_on: date,
        },
        MailEvent::RecoveryRequested {
            app: app.clone(),
            amount_cents: 450_000,
            motivation: "Le projet a été réalisé en partie : 4 500 € n'ont pas été employés."
                .into(),
            letter_id: None,
        },
        MailEvent::ReportSubmitted { app: app.clone() },
        MailEvent::ReportChangesRequested {
            app: app.clone(),
            message: "Joignez les factures des achats de matériel.".into(),
        },
        MailEvent::ReportApproved { app: app.clone() },
        MailEvent::ReportReminder {
            app: app.clone(),
            due_on: date,
            days: 30,
            late: false,
        },
        MailEvent::GrantLapsed {
            app,
            motivation: "La convention n'a pas été signée dans le délai de trois mois.".into(),
        },
    ]
}

#[cfg(test)]
mod tests;

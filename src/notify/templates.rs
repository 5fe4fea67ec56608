//! The mail templates: French, one subject + plain-text + HTML triple per mail kind, embedded
//! from `templates/mail/` at compile time and overridable file by file from a directory
//! (`mail.templates_dir`). Rendered with minijinja: `.html` templates are HTML-escaped
//! automatically, undefined variables are errors (a typo in an override is caught at start-up,
//! when every template is rendered once with a sample of its event).

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, NaiveDate, Timelike, Utc};
use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, HtmlEscape, UndefinedBehavior, Value};

/// The mails essor sends, each with its three templates `{name}.subject.txt`, `{name}.txt`
/// and `{name}.html`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MailKind {
    SubmittedApplicant,
    SubmittedStaff,
    /// To a commune's accounts: an application taking place in the commune was submitted.
    SubmittedCommune,
    ChangesRequested,
    DeclaredIneligible,
    ReviewStarted,
    ReviewerAssigned,
    Accepted,
    Rejected,
    WithdrawnApplicant,
    WithdrawnStaff,
    /// To staff: a reviewer recused themselves (with the reason), someone must be assigned.
    ReviewerRecused,
    /// To staff: every reviewer not recused has submitted their review.
    ReviewsComplete,
    /// To the beneficiary: the convention to sign in essor (§15), attached.
    ConventionToSign,
    /// To the beneficiary: the receipt of their signature, the signed convention attached.
    ConventionSignedApplicant,
    /// To staff: a convention is signed, to countersign.
    ConventionSignedStaff,
    /// To the beneficiary: staff countersigned, the grant runs.
    ConventionCountersigned,
    /// To the beneficiary: the convention is still unsigned (7 and 21 days).
    ConventionReminder,
    /// To staff: an instalment is to be paid (bank details given, trigger fired).
    InstalmentRequested,
    /// To the beneficiary: an instalment is paid.
    InstalmentPaid,
    /// To the beneficiary: a recovery (reversement) is asked, the letter attached.
    RecoveryRequested,
    /// To staff: a final report to read.
    ReportSubmitted,
    /// To the beneficiary: changes asked to the report.
    ReportChangesRequested,
    /// To the beneficiary: the report is approved.
    ReportApproved,
    /// To the beneficiary: the report is due soon, or late.
    ReportReminder,
    /// To the beneficiary: the grant is declared lapsed.
    GrantLapsed,
    /// Account mails (DESIGN.md §14): the link that verifies a new applicant's address,
    VerifyEmail,
    /// … the answer to a registration with a known address (with a reset link),
    AccountExists,
    /// … a password-reset link,
    PasswordReset,
    /// … an invitation to set one's password (staff, reviewers, admins).
    Invitation,
    /// A draft never submitted will be deleted (retention, issue 20).
    DraftExpiring,
    /// To a project holder a commune recommends the call to (§16): the call's page and a code.
    Referral,
}

impl MailKind {
    /// The mails of accounts (no application behind them).
    pub const ACCOUNT: [MailKind; 4] = [
        Self::VerifyEmail,
        Self::AccountExists,
        Self::PasswordReset,
        Self::Invitation,
    ];

    /// The mails of application events.
    pub const APPLICATION: [MailKind; 26] = [
        Self::SubmittedApplicant,
        Self::SubmittedStaff,
        Self::SubmittedCommune,
        Self::ChangesRequested,
        Self::DeclaredIneligible,
        Self::ReviewStarted,
        Self::ReviewerAssigned,
        Self::Accepted,
        Self::Rejected,
        Self::WithdrawnApplicant,
        Self::WithdrawnStaff,
        Self::ReviewerRecused,
        Self::ReviewsComplete,
        Self::ConventionToSign,
        Self::ConventionSignedApplicant,
        Self::ConventionSignedStaff,
        Self::ConventionCountersigned,
        Self::ConventionReminder,
        Self::InstalmentRequested,
        Self::InstalmentPaid,
        Self::RecoveryRequested,
        Self::ReportSubmitted,
        Self::ReportChangesRequested,
        Self::ReportApproved,
        Self::ReportReminder,
        Self::GrantLapsed,
    ];

    pub const ALL: [MailKind; 32] = [
        Self::SubmittedApplicant,
        Self::SubmittedStaff,
        Self::SubmittedCommune,
        Self::ChangesRequested,
        Self::DeclaredIneligible,
        Self::ReviewStarted,
        Self::ReviewerAssigned,
        Self::Accepted,
        Self::Rejected,
        Self::WithdrawnApplicant,
        Self::WithdrawnStaff,
        Self::ReviewerRecused,
        Self::ReviewsComplete,
        Self::ConventionToSign,
        Self::ConventionSignedApplicant,
        Self::ConventionSignedStaff,
        Self::ConventionCountersigned,
        Self::ConventionReminder,
        Self::InstalmentRequested,
        Self::InstalmentPaid,
        Self::RecoveryRequested,
        Self::ReportSubmitted,
        Self::ReportChangesRequested,
        Self::ReportApproved,
        Self::ReportReminder,
        Self::GrantLapsed,
        Self::VerifyEmail,
        Self::AccountExists,
        Self::PasswordReset,
        Self::Invitation,
        Self::DraftExpiring,
        Self::Referral,
    ];

    /// The stem of the template files.
    pub fn name(self) -> &'static str {
        match self {
            Self::SubmittedApplicant => "submitted_applicant",
            Self::SubmittedStaff => "submitted_staff",
            Self::SubmittedCommune => "submitted_commune",
            Self::ChangesRequested => "changes_requested",
            Self::DeclaredIneligible => "declared_ineligible",
            Self::ReviewStarted => "review_started",
            Self::ReviewerAssigned => "reviewer_assigned",
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
            Self::WithdrawnApplicant => "withdrawn_applicant",
            Self::WithdrawnStaff => "withdrawn_staff",
            Self::ReviewerRecused => "reviewer_recused",
            Self::ReviewsComplete => "reviews_complete",
            Self::ConventionToSign => "convention_to_sign",
            Self::ConventionSignedApplicant => "convention_signed_applicant",
            Self::ConventionSignedStaff => "convention_signed_staff",
            Self::ConventionCountersigned => "convention_countersigned",
            Self::ConventionReminder => "convention_reminder",
            Self::InstalmentRequested => "instalment_requested",
            Self::InstalmentPaid => "instalment_paid",
            Self::RecoveryRequested => "recovery_requested",
            Self::ReportSubmitted => "report_submitted",
            Self::ReportChangesRequested => "report_changes_requested",
            Self::ReportApproved => "report_approved",
            Self::ReportReminder => "report_reminder",
            Self::GrantLapsed => "grant_lapsed",
            Self::VerifyEmail => "account_verify_email",
            Self::AccountExists => "account_exists",
            Self::PasswordReset => "account_password_reset",
            Self::Invitation => "account_invitation",
            Self::DraftExpiring => "draft_expiring",
            Self::Referral => "referral",
        }
    }
}

macro_rules! embedded {
    ($($file:literal),* $(,)?) => {
        &[$(($file, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/mail/", $file)))),*]
    };
}

/// Every template file, as shipped. An override directory may replace any of them (and only
/// them: an unknown file name there is refused, it is most likely a typo).
pub const EMBEDDED: &[(&str, &str)] = embedded!(
    "_layout.html",
    "_signature.txt",
    "_summary.txt",
    "submitted_applicant.subject.txt",
    "submitted_applicant.txt",
    "submitted_applicant.html",
    "submitted_staff.subject.txt",
    "submitted_staff.txt",
    "submitted_staff.html",
    "submitted_commune.subject.txt",
    "submitted_commune.txt",
    "submitted_commune.html",
    "changes_requested.subject.txt",
    "changes_requested.txt",
    "changes_requested.html",
    "declared_ineligible.subject.txt",
    "declared_ineligible.txt",
    "declared_ineligible.html",
    "review_started.subject.txt",
    "review_started.txt",
    "review_started.html",
    "reviewer_assigned.subject.txt",
    "reviewer_assigned.txt",
    "reviewer_assigned.html",
    "accepted.subject.txt",
    "accepted.txt",
    "accepted.html",
    "rejected.subject.txt",
    "rejected.txt",
    "rejected.html",
    "withdrawn_applicant.subject.txt",
    "withdrawn_applicant.txt",
    "withdrawn_applicant.html",
    "withdrawn_staff.subject.txt",
    "withdrawn_staff.txt",
    "withdrawn_staff.html",
    "reviewer_recused.subject.txt",
    "reviewer_recused.txt",
    "reviewer_recused.html",
    "reviews_complete.subject.txt",
    "reviews_complete.txt",
    "reviews_complete.html",
    "convention_to_sign.subject.txt",
    "convention_to_sign.txt",
    "convention_to_sign.html",
    "convention_signed_applicant.subject.txt",
    "convention_signed_applicant.txt",
    "convention_signed_applicant.html",
    "convention_signed_staff.subject.txt",
    "convention_signed_staff.txt",
    "convention_signed_staff.html",
    "convention_countersigned.subject.txt",
    "convention_countersigned.txt",
    "convention_countersigned.html",
    "convention_reminder.subject.txt",
    "convention_reminder.txt",
    "convention_reminder.html",
    "instalment_requested.subject.txt",
    "instalment_requested.txt",
    "instalment_requested.html",
    "instalment_paid.subject.txt",
    "instalment_paid.txt",
    "instalment_paid.html",
    "recovery_requested.subject.txt",
    "recovery_requested.txt",
    "recovery_requested.html",
    "report_submitted.subject.txt",
    "report_submitted.txt",
    "report_submitted.html",
    "report_changes_requested.subject.txt",
    "report_changes_requested.txt",
    "report_changes_requested.html",
    "report_approved.subject.txt",
    "report_approved.txt",
    "report_approved.html",
    "report_reminder.subject.txt",
    "report_reminder.txt",
    "report_reminder.html",
    "grant_lapsed.subject.txt",
    "grant_lapsed.txt",
    "grant_lapsed.html",
    "_account_layout.html",
    "_account_signature.txt",
    "account_verify_email.subject.txt",
    "account_verify_email.txt",
    "account_verify_email.html",
    "account_exists.subject.txt",
    "account_exists.txt",
    "account_exists.html",
    "account_password_reset.subject.txt",
    "account_password_reset.txt",
    "account_password_reset.html",
    "account_invitation.subject.txt",
    "account_invitation.txt",
    "account_invitation.html",
    "draft_expiring.subject.txt",
    "draft_expiring.txt",
    "draft_expiring.html",
    "referral.subject.txt",
    "referral.txt",
    "referral.html",
);

/// A mail rendered from its templates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub struct Templates {
    env: Environment<'static>,
    /// The files taken from the override directory (for the start-up log).
    pub overridden: Vec<String>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates")
            .field("overridden", &self.overridden)
            .finish_non_exhaustive()
    }
}

impl Templates {
    /// The embedded templates only.
    pub fn embedded() -> anyhow::Result<Self> {
        Self::load(None)
    }

    /// The embedded templates, each replaced by the file of the same name in `dir` when there
    /// is one. Fails on a missing directory, an unknown or unreadable file, or a syntax error.
    pub fn load(dir: Option<&Path>) -> anyhow::Result<Self> {
        let mut env = Environment::new();
        let mut syntax = SyntaxConfig::builder();
        // Block tags on their own line leave no blank line; an included file keeps its last
        // newline, so what follows an include starts on a new line.
        syntax
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true);
        env.set_syntax(
            syntax
                .build()
                .map_err(|e| anyhow::anyhow!("template syntax: {e}"))?,
        );
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.add_filter("multiline", multiline);

        let mut overridden = Vec::new();
        if let Some(dir) = dir {
            let entries = std::fs::read_dir(dir).map_err(|e| {
                anyhow::anyhow!(
                    "mail.templates_dir {}: cannot read the directory: {e}",
                    dir.display()
                )
            })?;
            for entry in entries {
                let entry = entry?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') || !entry.file_type()?.is_file() {
                    continue;
                }
                if !EMBEDDED.iter().any(|(known, _)| *known == name) {
                    anyhow::bail!(
                        "mail.templates_dir {}: unknown template file {name:?} (expected one of: {})",
                        dir.display(),
                        EMBEDDED
                            .iter()
                            .map(|(n, _)| *n)
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                }
            }
        }
        for (name, source) in EMBEDDED {
            let source = match dir.map(|d| d.join(name)).filter(|p| p.is_file()) {
                Some(path) => {
                    let text = std::fs::read_to_string(&path)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
                    overridden.push((*name).to_owned());
                    text
                }
                None => (*source).to_owned(),
            };
            env.add_template_owned(*name, source)
                .map_err(|e| anyhow::anyhow!("mail template {name}: {}", describe(&e)))?;
        }
        Ok(Self { env, overridden })
    }

    /// Renders the three templates of `kind` with `ctx`.
    pub fn render(&self, kind: MailKind, ctx: &Value) -> Result<Rendered, minijinja::Error> {
        let render = |suffix: &str| {
            self.env
                .get_template(&format!("{}.{suffix}", kind.name()))?
                .render(ctx)
        };
        Ok(Rendered {
            subject: one_line(&render("subject.txt")?),
            text: tidy_text(&render("txt")?),
            html: render("html")?,
        })
    }
}

/// A template error with its position, for the start-up message.
pub fn describe(e: &minijinja::Error) -> String {
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        msg.push_str(&format!(": {inner}"));
        source = inner.source();
    }
    msg
}

/// A subject is one line: whatever the template's layout, newlines and runs of spaces become
/// one space (no-break spaces, as in amounts, stay).
fn one_line(s: &str) -> String {
    s.split_ascii_whitespace().collect::<Vec<_>>().join(" ")
}

/// Plain text: no trailing spaces, at most one blank line in a row, one final newline.
fn tidy_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = 0;
    for line in s.trim().lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// `{{ motivation | multiline }}` in an HTML template: the text escaped, its line breaks kept.
fn multiline(value: String) -> Value {
    let escaped = HtmlEscape(&value.replace("\r\n", "\n")).to_string();
    Value::from_safe_string(escaped.replace('\n', "<br>\n"))
}

/// « 15 janvier 2027 », « 1er mars 2027 » (the first of the month is an ordinal in French).
pub fn date_fr(date: NaiveDate) -> String {
    crate::domain::dates::french_date(date)
}

/// « 15 janvier 2027 à 14 h 30 », in Paris time (what the applicant's clock said).
pub fn datetime_fr(at: DateTime<Utc>) -> String {
    let local = at.with_timezone(&chrono_tz::Europe::Paris);
    format!(
        "{} à {} h {:02}",
        date_fr(local.date_naive()),
        local.hour(),
        local.minute()
    )
}

/// A template context from `(name, value)` pairs.
pub fn context<I, K, V>(pairs: I) -> Value
where
    I: IntoIterator<Item = (K, V)>,
    K: Into<String>,
    V: Into<Value>,
{
    Value::from(
        pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect::<BTreeMap<String, Value>>(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_dates() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let cases = [
            (d(2027, 1, 15), "15 janvier 2027"),
            (d(2027, 3, 1), "1er mars 2027"),
            (d(2026, 2, 28), "28 février 2026"),
            (d(2026, 8, 2), "2 août 2026"),
            (d(2026, 12, 31), "31 décembre 2026"),
        ];
        for (date, expected) in cases {
            assert_eq!(date_fr(date), expected);
        }
    }

    #[test]
    fn french_datetimes_are_in_paris_time() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        // Winter: UTC+1; summer: UTC+2; a UTC evening can be the next day in Paris.
        let cases = [
            ("2027-01-15T13:30:00Z", "15 janvier 2027 à 14 h 30"),
            ("2026-07-14T08:05:00Z", "14 juillet 2026 à 10 h 05"),
            ("2026-12-31T23:10:00Z", "1er janvier 2027 à 0 h 10"),
        ];
        for (input, expected) in cases {
            assert_eq!(datetime_fr(at(input)), expected);
        }
    }

    #[test]
    fn every_embedded_template_parses() {
        let t = Templates::embedded().unwrap();
        assert!(t.overridden.is_empty());
        for kind in MailKind::ALL {
            for suffix in ["subject.txt", "txt", "html"] {
                let name = format!("{}.{suffix}", kind.name());
                assert!(
                    EMBEDDED.iter().any(|(n, _)| *n == name),
                    "{name} is not embedded"
                );
            }
        }
        assert_eq!(EMBEDDED.len(), MailKind::ALL.len() * 3 + 5);
    }

    #[test]
    fn text_is_tidied_and_subjects_are_one_line() {
        assert_eq!(tidy_text("\n a  \n\n\n\nb\n\n"), "a\n\nb\n");
        assert_eq!(
            one_line(" Candidature\n  EA-2026-00001 \n"),
            "Candidature EA-2026-00001"
        );
        assert_eq!(one_line("20\u{a0}000,00\u{a0}€"), "20\u{a0}000,00\u{a0}€");
    }

    #[test]
    fn multiline_escapes_and_keeps_line_breaks() {
        let v = multiline("<b>un</b>\r\ndeux & trois".into());
        assert_eq!(
            v.to_string(),
            "&lt;b&gt;un&lt;&#x2f;b&gt;<br>\ndeux &amp; trois"
        );
    }

    #[test]
    fn overrides_replace_files_and_unknown_or_broken_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("accepted.subject.txt"),
            "Bonne nouvelle : {{ reference }}",
        )
        .unwrap();
        let t = Templates::load(Some(dir.path())).unwrap();
        assert_eq!(t.overridden, vec!["accepted.subject.txt"]);

        std::fs::write(dir.path().join("acepted.txt"), "typo").unwrap();
        let err = Templates::load(Some(dir.path())).unwrap_err().to_string();
        assert!(err.contains("acepted.txt"), "{err}");
        std::fs::remove_file(dir.path().join("acepted.txt")).unwrap();

        std::fs::write(dir.path().join("accepted.txt"), "{% if %}").unwrap();
        let err = Templates::load(Some(dir.path())).unwrap_err().to_string();
        assert!(err.contains("accepted.txt"), "{err}");

        let missing = dir.path().join("nowhere");
        assert!(Templates::load(Some(&missing)).is_err());
    }
}

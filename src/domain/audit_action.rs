//! Every action the audit trail records, typed (issue 31): a service names what it did with a
//! variant, and the text the trail stores (`submit`, `publish`, `account.signed_in`,
//! `retention.sessions`…) is written here only. What an applicant may read of an
//! application's history is decided on the typed [`HistoryAction`] (`HistoryAction::part`),
//! never on the stored text.

use crate::domain::history::HistoryAction;

/// One action of the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    /// An event of an application's history (its audience: [`HistoryAction::part`]).
    Application(HistoryAction),
    /// A call's life: created, changed, published, closed, its decisions published as open
    /// data.
    Call(CallEvent),
    /// An account's life, its sign-ins and its tokens, stored as `account.<name>`.
    Account(AccountAudit),
    /// An administrator put a failed mail back in the queue.
    OutboxRetry,
    /// A retention run deleted or minimised what had outlived its purpose (DESIGN.md §13),
    /// stored as `retention.<name>`.
    Retention(RetentionRun),
}

/// What happened to a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallEvent {
    Create,
    Update,
    Publish,
    Close,
    /// Its decisions were published as open data (`open_data_published`).
    OpenDataPublished,
}

/// What happened to an account, as the trail names it after `account.`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountAudit {
    Created,
    /// An applicant registered (the account waits for its address to be verified).
    Registered,
    /// An administrator invited a staff member, a reviewer or a commune's agent.
    Invited,
    /// Someone registered again with the address of an existing account (the owner is told).
    RegistrationForExisting,
    SignedIn,
    /// The right password for an account that may not sign in (unverified, deactivated).
    SignInRefused,
    ProconnectLinked,
    EmailVerified,
    VerificationResent,
    InvitationAccepted,
    PasswordResetRequested,
    PasswordReset,
    PasswordChanged,
    RoleChanged,
    Deactivated,
    Reactivated,
    NameChanged,
    Erased,
    TokenCreated,
    TokenRevoked,
}

/// What a retention run purged, as the trail names it after `retention.`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetentionRun {
    MailBodies,
    MailFiles,
    Sessions,
    LinkTokens,
    ThrottleEvents,
    ApplicationsMinimised,
    DraftsWarned,
    DraftsDeleted,
}

impl CallEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Publish => "publish",
            Self::Close => "close",
            Self::OpenDataPublished => "open_data_published",
        }
    }
}

impl AccountAudit {
    pub const ALL: [Self; 20] = [
        Self::Created,
        Self::Registered,
        Self::Invited,
        Self::RegistrationForExisting,
        Self::SignedIn,
        Self::SignInRefused,
        Self::ProconnectLinked,
        Self::EmailVerified,
        Self::VerificationResent,
        Self::InvitationAccepted,
        Self::PasswordResetRequested,
        Self::PasswordReset,
        Self::PasswordChanged,
        Self::RoleChanged,
        Self::Deactivated,
        Self::Reactivated,
        Self::NameChanged,
        Self::Erased,
        Self::TokenCreated,
        Self::TokenRevoked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "account.created",
            Self::Registered => "account.registered",
            Self::Invited => "account.invited",
            Self::SignInRefused => "account.sign_in_refused",
            Self::RegistrationForExisting => "account.registration_for_existing",
            Self::SignedIn => "account.signed_in",
            Self::ProconnectLinked => "account.proconnect_linked",
            Self::EmailVerified => "account.email_verified",
            Self::VerificationResent => "account.verification_resent",
            Self::InvitationAccepted => "account.invitation_accepted",
            Self::PasswordResetRequested => "account.password_reset_requested",
            Self::PasswordReset => "account.password_reset",
            Self::PasswordChanged => "account.password_changed",
            Self::RoleChanged => "account.role_changed",
            Self::Deactivated => "account.deactivated",
            Self::Reactivated => "account.reactivated",
            Self::NameChanged => "account.name_changed",
            Self::Erased => "account.erased",
            Self::TokenCreated => "account.token_created",
            Self::TokenRevoked => "account.token_revoked",
        }
    }
}

impl RetentionRun {
    pub const ALL: [Self; 8] = [
        Self::MailBodies,
        Self::MailFiles,
        Self::Sessions,
        Self::LinkTokens,
        Self::ThrottleEvents,
        Self::ApplicationsMinimised,
        Self::DraftsWarned,
        Self::DraftsDeleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::MailBodies => "retention.mail_bodies",
            Self::MailFiles => "retention.mail_files",
            Self::Sessions => "retention.sessions",
            Self::LinkTokens => "retention.link_tokens",
            Self::ThrottleEvents => "retention.throttle_events",
            Self::ApplicationsMinimised => "retention.applications_minimised",
            Self::DraftsWarned => "retention.drafts_warned",
            Self::DraftsDeleted => "retention.drafts_deleted",
        }
    }
}

impl AuditAction {
    /// The name the trail stores (and the API's history and audit exports carry).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Application(a) => a.as_str(),
            Self::Call(e) => e.as_str(),
            Self::Account(e) => e.as_str(),
            Self::OutboxRetry => "outbox-retry",
            Self::Retention(r) => r.as_str(),
        }
    }
}

impl From<HistoryAction> for AuditAction {
    fn from(a: HistoryAction) -> Self {
        Self::Application(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names are what the trail already holds: changing one would orphan the rows written
    /// before (and break the verification of the chain, which hashes them).
    #[test]
    fn the_stored_names_are_the_ones_the_trail_holds() {
        let cases = [
            (AuditAction::Call(CallEvent::Create), "create"),
            (AuditAction::Call(CallEvent::Update), "update"),
            (AuditAction::Call(CallEvent::Publish), "publish"),
            (AuditAction::Call(CallEvent::Close), "close"),
            (
                AuditAction::Call(CallEvent::OpenDataPublished),
                "open_data_published",
            ),
            (AuditAction::OutboxRetry, "outbox-retry"),
            (
                AuditAction::Account(AccountAudit::SignedIn),
                "account.signed_in",
            ),
            (
                AuditAction::Account(AccountAudit::TokenRevoked),
                "account.token_revoked",
            ),
            (
                AuditAction::Retention(RetentionRun::Sessions),
                "retention.sessions",
            ),
            (AuditAction::Application(HistoryAction::Create), "create"),
        ];
        for (action, name) in cases {
            assert_eq!(action.as_str(), name, "{action:?}");
        }
    }

    #[test]
    fn account_and_retention_names_are_unique_and_prefixed() {
        let mut names: Vec<&str> = AccountAudit::ALL.iter().map(|e| e.as_str()).collect();
        assert!(names.iter().all(|n| n.starts_with("account.")));
        let retention: Vec<&str> = RetentionRun::ALL.iter().map(|r| r.as_str()).collect();
        assert!(retention.iter().all(|n| n.starts_with("retention.")));
        names.extend(retention);
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count, "two actions share a name");
    }

    /// No account or retention event reads as an application's: the applicant's history is
    /// read through `HistoryAction::parse`, which must not know them.
    #[test]
    fn no_account_or_retention_event_is_an_application_event() {
        for name in AccountAudit::ALL
            .iter()
            .map(|e| e.as_str())
            .chain(RetentionRun::ALL.iter().map(|r| r.as_str()))
            .chain(["outbox-retry", "open_data_published"])
        {
            assert_eq!(HistoryAction::parse(name), None, "{name}");
        }
    }
}

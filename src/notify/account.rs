//! Account mails (DESIGN.md §14): verification, "an account already exists", password reset,
//! invitation. Each carries a single-use link ending in `?token=<token>`, and is queued in the
//! outbox on the caller's connection, inside the transaction that stored the token.

use minijinja::Value;
use uuid::Uuid;

use super::{Audience, MailKind, Notifier, OutboxStatus, outbox, templates};
use crate::db::DbConnection;
use crate::domain::account::Role;
use crate::error::ServiceError;

/// Who gets an account mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRecipient {
    pub email: String,
    pub full_name: String,
    pub role: Role,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountMail {
    /// After registration: verify the address (24 h).
    VerifyEmail { to: AccountRecipient, token: String },
    /// A registration with a known address: nothing changed, here is a reset link (1 h).
    AccountExists { to: AccountRecipient, token: String },
    /// A reset link (1 h).
    PasswordReset { to: AccountRecipient, token: String },
    /// An invitation to set one's password (7 days).
    Invitation {
        to: AccountRecipient,
        token: String,
        invited_by: String,
    },
}

impl AccountMail {
    pub fn kind(&self) -> MailKind {
        match self {
            Self::VerifyEmail { .. } => MailKind::VerifyEmail,
            Self::AccountExists { .. } => MailKind::AccountExists,
            Self::PasswordReset { .. } => MailKind::PasswordReset,
            Self::Invitation { .. } => MailKind::Invitation,
        }
    }

    /// The `event` column of the outbox.
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }

    fn parts(&self) -> (&AccountRecipient, &str) {
        match self {
            Self::VerifyEmail { to, token }
            | Self::AccountExists { to, token }
            | Self::PasswordReset { to, token }
            | Self::Invitation { to, token, .. } => (to, token),
        }
    }

    /// The page of the web front end the link opens.
    fn path(&self) -> &'static str {
        match self {
            Self::VerifyEmail { .. } => "/compte/verifier",
            Self::AccountExists { .. } | Self::PasswordReset { .. } => {
                "/compte/mot-de-passe/nouveau"
            }
            Self::Invitation { .. } => "/compte/invitation",
        }
    }

    fn expires_fr(&self) -> &'static str {
        match self {
            Self::VerifyEmail { .. } => "dans 24 heures",
            Self::AccountExists { .. } | Self::PasswordReset { .. } => "dans une heure",
            Self::Invitation { .. } => "dans 7 jours",
        }
    }
}

pub fn role_fr(role: Role) -> &'static str {
    match role {
        Role::Applicant => "porteur de projet",
        Role::Reviewer => "membre du comité de sélection",
        Role::Staff => "agent instructeur",
        Role::Admin => "administrateur",
        Role::Commune => "agent de commune",
    }
}

impl Notifier {
    /// `{frontend.base_url}{path}?token=<token>`
    pub fn account_link(&self, mail: &AccountMail) -> String {
        let (_, token) = mail.parts();
        format!("{}{}?token={token}", self.base_url, mail.path())
    }

    pub(super) fn account_context(&self, mail: &AccountMail) -> Value {
        let (to, _) = mail.parts();
        let mut pairs: Vec<(&'static str, Value)> = vec![
            ("full_name", to.full_name.clone().into()),
            ("email", to.email.clone().into()),
            ("role", role_fr(to.role).into()),
            ("role_code", to.role.as_str().into()),
            ("link", self.account_link(mail).into()),
            ("expires", mail.expires_fr().into()),
            ("event", mail.name().into()),
            ("frontend_url", self.base_url.clone().into()),
            ("authority", self.authority.clone().into()),
            ("scheme", self.scheme.clone().into()),
        ];
        if let AccountMail::Invitation { invited_by, .. } = mail {
            pairs.push(("invited_by", invited_by.clone().into()));
        }
        templates::context(pairs)
    }

    pub fn render_account(&self, mail: &AccountMail) -> Result<templates::Rendered, ServiceError> {
        self.templates
            .render(mail.kind(), &self.account_context(mail))
            .map_err(|e| {
                ServiceError::Internal(anyhow::anyhow!(
                    "mail template {}: {}",
                    mail.kind().name(),
                    templates::describe(&e)
                ))
            })
    }

    /// Renders and inserts the mail in the outbox on the caller's connection.
    pub fn queue_account(
        &self,
        conn: &mut DbConnection,
        mail: &AccountMail,
    ) -> Result<(), ServiceError> {
        let content = self.render_account(mail)?;
        let (to, _) = mail.parts();
        let audience = match to.role {
            Role::Applicant => Audience::Applicant,
            Role::Reviewer => Audience::Reviewer,
            Role::Staff | Role::Admin => Audience::Staff,
            Role::Commune => Audience::Commune,
        };
        let now = self.clock.now();
        let id = Uuid::now_v7().to_string();
        let message_id = format!("<{id}@{}>", self.message_id_domain);
        outbox::insert(
            conn,
            &outbox::NewOutboxRow {
                id: &id,
                message_id: &message_id,
                event: mail.name(),
                audience: audience.as_str(),
                application_id: None,
                recipient: &to.email,
                recipient_name: Some(to.full_name.as_str()).filter(|n| !n.trim().is_empty()),
                subject: &content.subject,
                body_text: &content.text,
                body_html: &content.html,
                status: OutboxStatus::Pending.as_str(),
                attempts: 0,
                next_attempt_at: now,
                created_at: now,
                updated_at: now,
                letter_id: None,
            },
        )?;
        tracing::debug!(event = mail.name(), "account mail queued");
        Ok(())
    }
}

/// One mail of each kind (template checks at start-up, tests).
pub fn sample_account_mails() -> Vec<AccountMail> {
    let to = AccountRecipient {
        email: "porteur@exemple.fr".into(),
        full_name: "Jeanne Dupont".into(),
        role: Role::Applicant,
    };
    let token = "c2FtcGxlLXRva2VuLXNhbXBsZS10b2tlbg".to_owned();
    vec![
        AccountMail::VerifyEmail {
            to: to.clone(),
            token: token.clone(),
        },
        AccountMail::AccountExists {
            to: to.clone(),
            token: token.clone(),
        },
        AccountMail::PasswordReset {
            to: to.clone(),
            token: token.clone(),
        },
        AccountMail::Invitation {
            to: AccountRecipient {
                email: "expert@exemple.fr".into(),
                full_name: "Camille Martin".into(),
                role: Role::Reviewer,
            },
            token,
            invited_by: "Administrateur de la MEL".into(),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notifier() -> Notifier {
        let mut vars = std::collections::HashMap::new();
        vars.insert(
            "APP__FRONTEND__BASE_URL".to_owned(),
            "https://depot.lillemetropole.fr/".to_owned(),
        );
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        Notifier::new(&crate::config::Settings::load_from(&dir, vars).unwrap()).unwrap()
    }

    #[test]
    fn every_account_mail_renders_with_its_link_at_the_end() {
        let n = notifier();
        let mails = sample_account_mails();
        let kinds: Vec<_> = mails.iter().map(AccountMail::kind).collect();
        assert_eq!(kinds, MailKind::ACCOUNT);
        let expected = [
            ("/compte/verifier", "24 heures", "Confirmez"),
            (
                "/compte/mot-de-passe/nouveau",
                "une heure",
                "déjà un compte",
            ),
            (
                "/compte/mot-de-passe/nouveau",
                "une heure",
                "nouveau mot de passe",
            ),
            ("/compte/invitation", "7 jours", "Invitation"),
        ];
        for (mail, (path, expires, subject)) in mails.iter().zip(expected) {
            let link = format!(
                "https://depot.lillemetropole.fr{path}?token=c2FtcGxlLXRva2VuLXNhbXBsZS10b2tlbg"
            );
            assert_eq!(n.account_link(mail), link);
            let r = n.render_account(mail).unwrap();
            assert!(r.subject.contains(subject), "{}", r.subject);
            assert!(r.text.contains(&format!("{link}\n")), "{}", r.text);
            assert!(r.text.contains(expires), "{}", r.text);
            // minijinja escapes `/` in HTML (`&#x2f;`), which the browser decodes in href.
            assert!(r.html.contains(&link.replace('/', "&#x2f;")), "{}", r.html);
            assert!(r.html.contains("lang=\"fr\""));
        }
        let invitation = n.render_account(&mails[3]).unwrap();
        assert!(invitation.subject.contains("membre du comité de sélection"));
        assert!(
            invitation
                .text
                .contains("Administrateur de la MEL vous invite")
        );
    }
}

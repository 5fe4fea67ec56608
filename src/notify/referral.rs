//! The mail a commune's referral sends the project holder it recommends (DESIGN.md §16): the
//! call's page, and the code that ties the application to the commune. The holder has no
//! account yet: the mail goes to the address the commune gave, queued on the caller's
//! connection in the transaction that records the referral.

use chrono::NaiveDateTime;
use uuid::Uuid;

use super::{Audience, MailKind, Notifier, OutboxStatus, outbox, templates};
use crate::db::DbConnection;
use crate::error::ServiceError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralMail {
    pub email: String,
    pub organisation_name: String,
    pub commune_name: String,
    pub message: String,
    pub call_id: String,
    pub call_title: String,
    pub code: String,
}

pub fn sample_referral() -> ReferralMail {
    ReferralMail {
        email: "contact@cafe-des-parents.fr".into(),
        organisation_name: "Le Café des Parents".into(),
        commune_name: "Roubaix".into(),
        message: "Nous avons parlé de votre projet au forum des associations.".into(),
        call_id: "01936f4e-5a7b-7c3d-9e2f-0a1b2c3d4e5f".into(),
        call_title: "Entreprendre autrement 2027".into(),
        code: "REC-7K3M9Q2X".into(),
    }
}

impl Notifier {
    /// `{frontend.base_url}/appels/{call}?recommandation={code}`: the call's page, whose
    /// « Candidater » carries the code into the first step.
    pub fn referral_link(&self, m: &ReferralMail) -> String {
        format!(
            "{}/appels/{}?recommandation={}",
            self.base_url, m.call_id, m.code
        )
    }

    pub fn render_referral(&self, m: &ReferralMail) -> Result<templates::Rendered, ServiceError> {
        let ctx = templates::context::<_, _, minijinja::Value>([
            ("email", m.email.clone().into()),
            ("organisation_name", m.organisation_name.clone().into()),
            ("commune_name", m.commune_name.clone().into()),
            (
                "of_commune",
                crate::domain::territory::of_commune(&m.commune_name).into(),
            ),
            ("message", m.message.clone().into()),
            ("call_title", m.call_title.clone().into()),
            ("code", m.code.clone().into()),
            ("link", self.referral_link(m).into()),
            ("authority", self.authority.clone().into()),
            ("scheme", self.scheme.clone().into()),
        ]);
        self.templates
            .render(MailKind::Referral, &ctx)
            .map_err(|e| {
                ServiceError::Internal(anyhow::anyhow!(
                    "mail template referral: {}",
                    templates::describe(&e)
                ))
            })
    }

    /// Renders the mail and inserts it in the outbox on the caller's connection.
    pub fn queue_referral(
        &self,
        conn: &mut DbConnection,
        m: &ReferralMail,
        now: NaiveDateTime,
    ) -> Result<(), ServiceError> {
        let content = self.render_referral(m)?;
        let id = Uuid::now_v7().to_string();
        let message_id = format!("<{id}@{}>", self.message_id_domain);
        outbox::insert(
            conn,
            &outbox::NewOutboxRow {
                id: &id,
                message_id: &message_id,
                event: MailKind::Referral.name(),
                audience: Audience::Applicant.as_str(),
                application_id: None,
                recipient: &m.email,
                recipient_name: Some(m.organisation_name.as_str()),
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
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_referral_names_the_commune_the_call_the_code_and_the_link() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let settings =
            crate::config::Settings::load_from(&dir, std::collections::HashMap::new()).unwrap();
        let n = Notifier::new(&settings).unwrap();
        let r = n.render_referral(&sample_referral()).unwrap();
        assert!(r.subject.contains("commune de Roubaix"), "{}", r.subject);
        assert!(r.text.contains("Entreprendre autrement 2027"), "{}", r.text);
        assert!(r.text.contains("REC-7K3M9Q2X"), "{}", r.text);
        assert!(r.text.contains("forum des associations"), "{}", r.text);
        assert!(
            r.text.contains(
                "/appels/01936f4e-5a7b-7c3d-9e2f-0a1b2c3d4e5f?recommandation=REC-7K3M9Q2X"
            ),
            "{}",
            r.text
        );
        assert!(r.html.contains("lang=\"fr\""));
    }
}

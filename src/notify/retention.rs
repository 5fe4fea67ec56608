//! The mail that warns the owner of a draft never submitted that it will be deleted
//! (`services::retention`), queued on the job's connection in the transaction that records
//! the warning.

use chrono::NaiveDateTime;
use uuid::Uuid;

use super::{Audience, MailKind, Notifier, OutboxStatus, outbox, templates};
use crate::db::DbConnection;
use crate::error::ServiceError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftWarning {
    pub email: String,
    pub full_name: String,
    pub application_id: String,
    pub reference: String,
    pub project_title: String,
    pub call_title: String,
    /// Deleted on or after this instant (UTC).
    pub deleted_after: NaiveDateTime,
}

pub fn sample_draft_warning() -> DraftWarning {
    DraftWarning {
        email: "porteur@exemple.fr".into(),
        full_name: "Jeanne Dupont".into(),
        application_id: "01936f4e-5a7b-7c3d-9e2f-0a1b2c3d4e5f".into(),
        reference: "EA-2026-00042".into(),
        project_title: "Recyclerie solidaire du quartier".into(),
        call_title: "Entreprendre autrement 2026".into(),
        deleted_after: chrono::NaiveDate::from_ymd_opt(2027, 1, 15)
            .and_then(|d| d.and_hms_opt(9, 0, 0))
            .unwrap_or_default(),
    }
}

impl Notifier {
    pub fn render_draft_warning(
        &self,
        w: &DraftWarning,
    ) -> Result<templates::Rendered, ServiceError> {
        let ctx = templates::context::<_, _, minijinja::Value>([
            ("full_name", w.full_name.clone().into()),
            ("email", w.email.clone().into()),
            ("reference", w.reference.clone().into()),
            ("project_title", w.project_title.clone().into()),
            ("call_title", w.call_title.clone().into()),
            (
                "deleted_on",
                templates::datetime_fr(w.deleted_after.and_utc()).into(),
            ),
            ("link", self.link(&w.application_id).into()),
            ("authority", self.authority.clone().into()),
            ("scheme", self.scheme.clone().into()),
        ]);
        self.templates
            .render(MailKind::DraftExpiring, &ctx)
            .map_err(|e| {
                ServiceError::Internal(anyhow::anyhow!(
                    "mail template draft_expiring: {}",
                    templates::describe(&e)
                ))
            })
    }

    /// Renders the warning and inserts it in the outbox on the caller's connection.
    pub fn queue_draft_warning(
        &self,
        conn: &mut DbConnection,
        w: &DraftWarning,
        now: NaiveDateTime,
    ) -> Result<(), ServiceError> {
        let content = self.render_draft_warning(w)?;
        let id = Uuid::now_v7().to_string();
        let message_id = format!("<{id}@{}>", self.message_id_domain);
        outbox::insert(
            conn,
            &outbox::NewOutboxRow {
                id: &id,
                message_id: &message_id,
                event: MailKind::DraftExpiring.name(),
                audience: Audience::Applicant.as_str(),
                application_id: Some(&w.application_id),
                recipient: &w.email,
                recipient_name: Some(w.full_name.as_str()).filter(|n| !n.trim().is_empty()),
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
    fn the_draft_warning_names_the_draft_the_date_and_the_link() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let settings =
            crate::config::Settings::load_from(&dir, std::collections::HashMap::new()).unwrap();
        let n = Notifier::new(&settings).unwrap();
        let r = n.render_draft_warning(&sample_draft_warning()).unwrap();
        assert!(r.subject.contains("EA-2026-00042"), "{}", r.subject);
        assert!(r.text.contains("15 janvier 2027"), "{}", r.text);
        assert!(r.text.contains("Recyclerie solidaire du quartier"));
        assert!(
            r.text
                .contains("/candidatures/01936f4e-5a7b-7c3d-9e2f-0a1b2c3d4e5f"),
            "{}",
            r.text
        );
        assert!(r.html.contains("lang=\"fr\""));
    }
}

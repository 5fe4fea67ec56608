//! A structure that applied while in creation is now registered (DESIGN.md §16): its SIRET
//! or RNA number and its creation date replace « en création » in the application, so that
//! its convention may be signed and its instalments requested. Once submitted (the answers
//! are frozen then), by the applicant or staff; audited as `registration`, in the
//! transaction that writes the body; the instalments waiting for it are requested at once.

use chrono::NaiveDate;
use diesel::Connection;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::db::applications as rows;
use crate::domain::account::Role;
use crate::domain::actor::Actor;
use crate::domain::application::OrganisationStatus;
use crate::domain::history::HistoryAction;
use crate::domain::identifiers::{Rna, Siret};
use crate::domain::ids::ApplicationId;
use crate::error::{FieldErrors, ServiceError};
use crate::services::applications::{
    Application, actor, check_body, not_found, record_event, visibility,
};
use crate::services::version::check_version;
use crate::state::AppState;

/// The body of `PUT /applications/{id}/registration`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistrationInput {
    /// 14 digits with a valid key (spaces allowed); required unless the structure is an
    /// association with an RNA number.
    #[schema(example = "73282932000074")]
    pub siret: Option<String>,
    #[schema(example = "W595012345")]
    pub rna: Option<String>,
    /// The day of its declaration or registration.
    #[schema(example = "2027-02-01")]
    pub created_on: NaiveDate,
}

impl RegistrationInput {
    /// Each field's problem at once; `today` (Europe/Paris) bounds the date.
    fn check(&self, association: bool, today: NaiveDate) -> Result<(), ServiceError> {
        let mut errors = FieldErrors::new();
        let mut err = |f: &str, m: String| errors.entry(f.to_owned()).or_default().push(m);
        let given = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
        if let Some(s) = self.siret.as_deref().filter(|s| !s.trim().is_empty())
            && let Err(e) = Siret::parse(s)
        {
            err("siret", e.to_string());
        }
        if let Some(r) = self.rna.as_deref().filter(|s| !s.trim().is_empty())
            && let Err(e) = Rna::parse(r)
        {
            err("rna", e.to_string());
        }
        let identified = given(&self.siret) || (association && given(&self.rna));
        if !identified {
            err(
                "siret",
                if association {
                    "indiquez le numéro SIRET de l'association ou, à défaut, son numéro RNA"
                        .to_owned()
                } else {
                    "indiquez le numéro SIRET de la structure".to_owned()
                },
            );
        }
        if self.created_on > today {
            err(
                "created_on",
                "la date de création ne peut pas être dans le futur".to_owned(),
            );
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ServiceError::invalid(errors))
        }
    }
}

/// Records the registration; the application as `user` now reads it.
pub async fn register(
    state: &AppState,
    user: &Actor,
    id: ApplicationId,
    expected_version: Option<i32>,
    input: RegistrationInput,
) -> Result<Application, ServiceError> {
    user.require(&[Role::Applicant, Role::Staff, Role::Admin])?;
    let user = user.clone();
    let notifier = state.notifier.clone();
    let (now, today) = (state.clock.now(), state.clock.paris_today());
    state
        .db
        .transaction(move |conn| {
            rows::find_visible(conn, &id, &visibility(&user))?.ok_or_else(not_found)?;
            let mut row = rows::find_for_update(conn, &id)?.ok_or_else(not_found)?;
            if actor(&user, &row) == crate::domain::application_state::Party::Other {
                return Err(not_found());
            }
            check_version(expected_version, row.version)?;
            let before = row.parsed_body()?;
            if before.organisation.status != OrganisationStatus::InCreation {
                return Err(ServiceError::conflict(
                    "La structure de cette candidature n'est pas en création : son identifiant \
                     figure déjà dans la candidature.",
                ));
            }
            if row.submitted_at.is_none() {
                return Err(ServiceError::conflict(
                    "La candidature est un brouillon : indiquez que la structure existe déjà \
                     à sa première étape.",
                ));
            }
            input.check(before.organisation.legal_form.is_association(), today)?;
            let mut after = before.clone();
            let holder = after.organisation.holder_name.take();
            after.organisation.status = OrganisationStatus::Registered;
            after.organisation.siret = input.siret.clone();
            after.organisation.rna = input.rna.clone();
            after.organisation.created_on = Some(input.created_on);
            let after = check_body(after)?;
            row.set_body(&after)?;
            crate::services::applications::check_one_per_structure(conn, &row)?;
            let app_state = row.state;
            let old = row.version;
            row.version += 1;
            row.updated_at = now;
            let written = conn
                .transaction(|c| rows::update_versioned(c, &row, old))
                .map_err(|e| crate::services::applications::org_key_race(conn, &row, e))?;
            if written != 1 {
                return Err(crate::services::version::stale(old, old + 1));
            }
            record_event(
                conn,
                &row.id,
                &user.id,
                HistoryAction::Registration,
                Some(app_state),
                Some(app_state),
                json!({
                    "siret": after.organisation.siret,
                    "rna": after.organisation.rna,
                    "created_on": input.created_on,
                    "holder_name": holder,
                }),
                now,
            )?;
            // The instalments that waited for an identified structure.
            if let Some(grant) = crate::db::grants::of_application(conn, row.id.as_str())? {
                crate::services::instalments::request_due(conn, &notifier, &user.id, &grant.id)?;
            }
            row.to_view(&user)
        })
        .await
}

//! A commune's account (DESIGN.md §16): the submitted applications whose activity takes place
//! in its commune, with what a commune needs to know of them — who applies (name, SIRET or
//! RNA, where it is based), for what (the project's title and summary, its communes), how much
//! it asks and where the application stands. Never a document, a review, a staff reading or
//! note, the eligibility report, the history, nor anything of another commune's application:
//! those answer 404, as a draft does.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::communes::{self, CommuneApplicationRow};
use crate::domain::account::Role;
use crate::domain::actor::Actor;
use crate::domain::application::ApplicationBody;
use crate::domain::application_state::ApplicationState;
use crate::domain::money::Cents;
use crate::domain::territory::commune_name;
use crate::error::ServiceError;
use crate::state::AppState;

/// An application as a commune reads it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CommuneApplication {
    #[schema(example = "01936f4e-5a7b-7c3d-9e2f-0a1b2c3d4e5f")]
    pub id: String,
    #[schema(example = "EA-2026-00042")]
    pub reference: String,
    pub call_id: String,
    pub state: ApplicationState,
    #[schema(example = "Les Ateliers du Sart")]
    pub organisation_name: String,
    #[schema(example = "73282932000074")]
    pub siret: Option<String>,
    #[schema(example = "W595012345")]
    pub rna: Option<String>,
    /// Where the organisation is based (INSEE code and name).
    #[schema(example = "59009")]
    pub organisation_commune_insee: String,
    #[schema(example = "Villeneuve-d'Ascq")]
    pub organisation_commune_name: Option<String>,
    #[schema(example = "Recyclerie de quartier")]
    pub project_title: String,
    pub project_summary: String,
    /// Every commune where the project takes place (this one among them).
    #[schema(example = json!(["59512", "59350"]))]
    pub activity_communes: Vec<String>,
    #[schema(value_type = i64, example = 2000000)]
    pub requested_cents: Cents,
    pub submitted_at: Option<DateTime<Utc>>,
}

impl CommuneApplication {
    fn from_row(row: CommuneApplicationRow) -> Result<Self, ServiceError> {
        let internal = |what: &str, e: String| {
            ServiceError::Internal(anyhow::anyhow!("application {}: {what}: {e}", row.id))
        };
        let body: ApplicationBody =
            serde_json::from_str(&row.body).map_err(|e| internal("body", e.to_string()))?;
        let state =
            row.state
                .parse()
                .map_err(|e: crate::domain::application_state::UnknownState| {
                    internal("state", e.to_string())
                })?;
        let organisation_commune_name = commune_name(crate::domain::territory::canonical_commune(
            &body.organisation.commune_insee,
        ))
        .map(str::to_owned);
        Ok(Self {
            state,
            reference: row.reference,
            call_id: row.call_id,
            organisation_name: row.organisation_name,
            siret: body.organisation.siret,
            rna: body.organisation.rna,
            organisation_commune_insee: body.organisation.commune_insee,
            organisation_commune_name,
            project_title: row.project_title,
            project_summary: body.project.summary,
            activity_communes: body.project.activity_communes,
            requested_cents: Cents::new(row.requested_cents)
                .map_err(|e| internal("requested_cents", e.to_string()))?,
            submitted_at: row.submitted_at.map(|t| t.and_utc()),
            id: row.id,
        })
    }
}

/// The commune's applications, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CommuneApplications {
    /// The account's commune.
    #[schema(example = "59512")]
    pub commune_insee: String,
    #[schema(example = "Roubaix")]
    pub commune_name: String,
    pub items: Vec<CommuneApplication>,
}

/// The commune of the calling account, checked against the account as it is now.
fn commune_of(conn: &mut crate::db::DbConnection, actor: &Actor) -> Result<String, ServiceError> {
    communes::commune_of(conn, &actor.id)?
        .ok_or_else(|| ServiceError::Forbidden("Ce compte n'est rattaché à aucune commune.".into()))
}

pub async fn list(state: &AppState, actor: &Actor) -> Result<CommuneApplications, ServiceError> {
    actor.require(&[Role::Commune])?;
    let actor = actor.clone();
    state
        .db
        .run(move |conn| {
            let commune = commune_of(conn, &actor)?;
            let items = communes::applications(conn, &commune)?
                .into_iter()
                .map(CommuneApplication::from_row)
                .collect::<Result<_, _>>()?;
            Ok(CommuneApplications {
                commune_name: commune_name(&commune).unwrap_or_default().to_owned(),
                commune_insee: commune,
                items,
            })
        })
        .await
}

pub fn not_found() -> ServiceError {
    ServiceError::not_found(
        "Cette candidature n'existe pas ou ne se déroule pas dans votre commune.",
    )
}

pub async fn get(
    state: &AppState,
    actor: &Actor,
    id: String,
) -> Result<CommuneApplication, ServiceError> {
    actor.require(&[Role::Commune])?;
    let actor = actor.clone();
    state
        .db
        .run(move |conn| {
            let commune = commune_of(conn, &actor)?;
            let row = communes::application(conn, &commune, &id)?.ok_or_else(not_found)?;
            CommuneApplication::from_row(row)
        })
        .await
}

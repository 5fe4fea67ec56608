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
    #[schema(value_type = String, example = "01936f4e-5a7b-7c3d-9e2f-0a1b2c3d4e5f")]
    pub id: crate::domain::ids::ApplicationId,
    #[schema(example = "EA-2026-00042")]
    pub reference: String,
    #[schema(value_type = String)]
    pub call_id: crate::domain::ids::CallId,
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
    /// The commune's opinion on it, once given.
    pub opinion: Option<OwnOpinion>,
    /// Whether the commune may still give or change it, and until when.
    pub opinion_window: OpinionWindow,
}

impl CommuneApplication {
    /// The application as `commune_insee` reads it at `now`, its opinion included.
    pub fn load(
        conn: &mut crate::db::DbConnection,
        commune_insee: &str,
        row: CommuneApplicationRow,
        now: DateTime<Utc>,
    ) -> Result<Self, ServiceError> {
        let mut app = Self::from_row(row)?;
        let (opinion, window) = own(conn, commune_insee, &app, now)?;
        app.opinion = opinion;
        app.opinion_window = window;
        Ok(app)
    }

    /// The application's facts, before its opinion is read (`load`).
    pub fn from_row(row: CommuneApplicationRow) -> Result<Self, ServiceError> {
        let internal = |what: &str, e: String| {
            ServiceError::Internal(anyhow::anyhow!("application {}: {what}: {e}", row.id))
        };
        let body: ApplicationBody =
            serde_json::from_str(&row.body).map_err(|e| internal("body", e.to_string()))?;
        let state = row.state;
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
            requested_cents: row.requested_cents,
            submitted_at: row.submitted_at.map(|t| t.and_utc()),
            opinion: None,
            opinion_window: OpinionWindow::default(),
            id: row.id,
        })
    }
}

/// The commune's own opinion, as it reads it back.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OwnOpinion {
    pub opinion: crate::domain::commune_opinion::Opinion,
    pub comment: String,
    pub updated_at: DateTime<Utc>,
}

/// Whether the commune may still give (or change) its opinion, and until when.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct OpinionWindow {
    /// Open now.
    pub open: bool,
    /// The last instant (the end of a Europe/Paris day); absent once the application is
    /// decided.
    pub deadline: Option<DateTime<Utc>>,
    /// Why it is closed, in French.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_because: Option<String>,
}

impl OpinionWindow {
    fn of(
        outcome: Result<DateTime<Utc>, crate::domain::commune_opinion::Closed>,
        deadline: Option<DateTime<Utc>>,
    ) -> Self {
        match outcome {
            Ok(until) => Self {
                open: true,
                deadline: Some(until),
                closed_because: None,
            },
            Err(crate::domain::commune_opinion::Closed::Decided) => Self {
                open: false,
                deadline: None,
                closed_because: Some(crate::domain::commune_opinion::Closed::Decided.to_string()),
            },
            Err(e) => Self {
                open: false,
                deadline,
                closed_because: Some(e.to_string()),
            },
        }
    }
}

/// What a commune reads of its own opinion on an application, and its window.
pub fn own(
    conn: &mut crate::db::DbConnection,
    commune_insee: &str,
    app: &CommuneApplication,
    now: DateTime<Utc>,
) -> Result<(Option<OwnOpinion>, OpinionWindow), ServiceError> {
    let (days, _) = days(conn, &app.call_id)?;
    let opinion = crate::db::commune_opinions::find(conn, app.id.as_str(), commune_insee)?
        .map(|row| {
            Ok::<_, ServiceError>(OwnOpinion {
                opinion: parse_opinion(&row)?,
                comment: row.comment,
                updated_at: row.updated_at.and_utc(),
            })
        })
        .transpose()?;
    let outcome = crate::domain::commune_opinion::window(app.state, app.submitted_at, days, now);
    let deadline = app
        .submitted_at
        .map(|at| crate::domain::commune_opinion::deadline(at, days));
    Ok((opinion, OpinionWindow::of(outcome, deadline)))
}

/// A stored value that does not read back.
fn internal(what: &str, e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Internal(anyhow::anyhow!("stored {what}: {e}"))
}

/// A stored opinion.
pub fn parse_opinion(
    row: &crate::db::commune_opinions::OpinionRow,
) -> Result<crate::domain::commune_opinion::Opinion, ServiceError> {
    crate::domain::commune_opinion::Opinion::parse(&row.opinion)
        .ok_or_else(|| internal("commune opinion", &row.opinion))
}

/// A call's opinion window (days) and whether its reviewers read the opinions.
pub fn days(
    conn: &mut crate::db::DbConnection,
    call_id: &crate::domain::ids::CallId,
) -> Result<(u32, bool), ServiceError> {
    let (days, reviewers) = crate::db::commune_opinions::call_terms(conn, call_id.as_str())?;
    Ok((
        u32::try_from(days).map_err(|e| internal("commune_opinion_days", e))?,
        reviewers,
    ))
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
pub fn commune_of(
    conn: &mut crate::db::DbConnection,
    actor: &Actor,
) -> Result<String, ServiceError> {
    communes::commune_of(conn, actor.id.as_str())?
        .ok_or_else(|| ServiceError::Forbidden("Ce compte n'est rattaché à aucune commune.".into()))
}

pub async fn list(state: &AppState, actor: &Actor) -> Result<CommuneApplications, ServiceError> {
    actor.require(&[Role::Commune])?;
    let actor = actor.clone();
    let now = state.clock.now_utc();
    state
        .db
        .run(move |conn| {
            let commune = commune_of(conn, &actor)?;
            let items = communes::applications(conn, &commune)?
                .into_iter()
                .map(|row| CommuneApplication::load(conn, &commune, row, now))
                .collect::<Result<_, _>>()?;
            Ok(CommuneApplications {
                commune_name: commune_name(&commune).unwrap_or_default().to_owned(),
                commune_insee: commune,
                items,
            })
        })
        .await
}

/// An application's id as a commune's face received it: a malformed one is « not found »,
/// like one outside the commune.
pub fn id(text: &str) -> Result<crate::domain::ids::ApplicationId, ServiceError> {
    crate::domain::ids::ApplicationId::parse(text).ok_or_else(not_found)
}

pub fn not_found() -> ServiceError {
    ServiceError::not_found(
        "Cette candidature n'existe pas ou ne se déroule pas dans votre commune.",
    )
}

pub async fn get(
    state: &AppState,
    actor: &Actor,
    id: crate::domain::ids::ApplicationId,
) -> Result<CommuneApplication, ServiceError> {
    actor.require(&[Role::Commune])?;
    let actor = actor.clone();
    let now = state.clock.now_utc();
    state
        .db
        .run(move |conn| {
            let commune = commune_of(conn, &actor)?;
            let row = communes::application(conn, &commune, &id)?.ok_or_else(not_found)?;
            CommuneApplication::load(conn, &commune, row, now)
        })
        .await
}

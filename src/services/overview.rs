//! What an application's own page shows, read in one database call: the application, its
//! call, its history and, once submitted, its documents and the communes' opinions. Apart from
//! `services::applications` because it gathers from the documents and the opinions, which
//! themselves read applications through it.

use crate::domain::actor::Actor;
use crate::domain::ids::ApplicationId;
use crate::error::ServiceError;
use crate::services::applications::{Application, HistoryEvent, history_of, load_readable};
use crate::services::commune_opinions::{self, CommuneOpinions};
use crate::services::documents::{self, Document};
use crate::state::AppState;

/// What an application's own page shows: the application, its call and its history, and once
/// it was submitted its documents and the communes consulted.
#[derive(Debug, Clone)]
pub struct Overview {
    pub application: Application,
    pub call: crate::services::calls::Call,
    pub history: Vec<HistoryEvent>,
    /// The documents the caller may read (empty before the submission).
    pub documents: Vec<Document>,
    /// The communes' opinions as the caller may read them (`None` before the submission).
    pub opinions: Option<CommuneOpinions>,
}

/// The application, its call, its history, its documents and the communes' opinions in one
/// database call (one hand-off to the blocking pool instead of five: bench/run, issues 19 and
/// 33), for the owner or staff.
pub async fn overview(
    state: &AppState,
    user: &Actor,
    id: ApplicationId,
) -> Result<Overview, ServiceError> {
    let user = user.clone();
    let now = state.clock.now();
    state
        .db
        .run(move |conn| {
            let row = load_readable(conn, &user, &id)?;
            let application = row.to_view(&user)?;
            let call =
                crate::services::calls::find_in(conn, user.role.is_staff(), &row.call_id, now)?;
            let history = history_of(conn, &user, &row)?;
            let (documents, opinions) = if row.submitted_at.is_some() {
                (
                    documents::list_in(conn, &user, &row)?,
                    Some(commune_opinions::read_in(conn, &user, &row)?),
                )
            } else {
                (Vec::new(), None)
            };
            Ok(Overview {
                application,
                call,
                history,
                documents,
                opinions,
            })
        })
        .await
}

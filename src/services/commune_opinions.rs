//! A commune's opinion on an application taking place there (DESIGN.md §16), and who reads it.
//!
//! A commune account gives it (`PUT /applications/{id}/commune-opinion`) while the window is
//! open (`domain::commune_opinion::window`), changes it until then; each write is audited
//! (`commune-opinion`) in the transaction that writes it. Staff read every opinion with its
//! words; an assigned reviewer too when the call says `reviewers_see_commune_opinions`; the
//! applicant reads which communes gave one, never what they said.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::db::DbConnection;
use crate::db::applications::ApplicationRow;
use crate::db::commune_opinions::{self as db, OpinionRow};
use crate::db::communes;
use crate::domain::account::Role;
use crate::domain::actor::Actor;
use crate::domain::audience::Audience;
use crate::domain::commune_opinion::{self as rules, Opinion};
use crate::domain::history::HistoryAction;
use crate::domain::ids::ApplicationId;
use crate::domain::territory::commune_name;
use crate::error::ServiceError;
use crate::services::applications::{self, record_event};
use crate::services::communes::{CommuneApplication, days, not_found, parse_opinion};
use crate::state::AppState;

/// The body of `PUT /applications/{id}/commune-opinion`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpinionInput {
    pub opinion: Opinion,
    /// Why; required for `reserved` and `unfavorable` (4 000 characters at most).
    #[serde(default)]
    #[schema(example = "Le projet répond à un besoin du quartier de l'Épeule.")]
    pub comment: String,
}

/// One commune's opinion, as staff read it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CommuneOpinionView {
    #[schema(example = "59512")]
    pub commune_insee: String,
    #[schema(example = "Roubaix")]
    pub commune_name: String,
    pub opinion: Opinion,
    pub comment: String,
    /// Who gave it, for the commune.
    pub author_name: String,
    pub given_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A commune consulted on the application (it gave an opinion), as the applicant reads it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConsultedCommune {
    #[schema(example = "59512")]
    pub commune_insee: String,
    #[schema(example = "Roubaix")]
    pub commune_name: String,
}

/// `GET /applications/{id}/commune-opinions`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CommuneOpinions {
    /// The communes that gave an opinion.
    pub consulted: Vec<ConsultedCommune>,
    /// What they said: staff, and the assigned reviewers when the call lets them; absent for
    /// the applicant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opinions: Option<Vec<CommuneOpinionView>>,
    /// Until when the communes may give one (staff).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline: Option<DateTime<Utc>>,
}

fn name_of(insee: &str) -> String {
    commune_name(insee).unwrap_or(insee).to_owned()
}

/// Gives or changes the commune's opinion; the application as the commune now reads it.
pub async fn give(
    state: &AppState,
    actor: &Actor,
    id: crate::domain::ids::ApplicationId,
    input: OpinionInput,
) -> Result<CommuneApplication, ServiceError> {
    actor.require(&[Role::Commune])?;
    let actor = actor.clone();
    let now = state.clock.now_utc();
    state
        .db
        .transaction(move |conn| {
            let commune = crate::services::communes::commune_of(conn, &actor)?;
            let row = communes::application(conn, &commune, &id)?.ok_or_else(not_found)?;
            let app = CommuneApplication::from_row(row.clone())?;
            let (days, _) = days(conn, &app.call_id)?;
            if let Err(closed) = rules::window(app.state, app.submitted_at, days, now) {
                let mut e = ServiceError::conflict(format!("Avis impossible : {closed}."));
                if let ServiceError::Conflict { extra, .. } = &mut e {
                    extra.insert("current_state".into(), json!(app.state));
                    if let Some(at) = app.submitted_at {
                        extra.insert("deadline".into(), json!(rules::deadline(at, days)));
                    }
                }
                return Err(e);
            }
            if let Err(m) = rules::check_comment(input.opinion, &input.comment) {
                return Err(ServiceError::invalid_field("comment", m));
            }
            let comment = input.comment.trim().to_owned();
            let previous = db::find(conn, app.id.as_str(), &commune)?;
            let at = now.naive_utc();
            db::save(
                conn,
                &OpinionRow {
                    application_id: app.id.clone(),
                    commune_insee: commune.clone(),
                    opinion: input.opinion.as_str().to_owned(),
                    comment: comment.clone(),
                    author_id: actor.id.to_string(),
                    created_at: previous.as_ref().map_or(at, |p| p.created_at),
                    updated_at: at,
                },
            )?;
            record_event(
                conn,
                &row.id,
                &actor.id,
                HistoryAction::CommuneOpinion,
                None,
                None,
                json!({
                    "commune_insee": commune,
                    "opinion": input.opinion,
                    "comment": comment,
                    "previous": previous.map(|p| p.opinion),
                }),
                at,
            )?;
            CommuneApplication::load(conn, &commune, row, now)
        })
        .await
}

/// The opinions on an application, as `actor` may read them (404 for an application they
/// may not see; 403 for a reviewer of a call that keeps the opinions from its reviewers).
pub async fn read(
    state: &AppState,
    actor: &Actor,
    id: ApplicationId,
) -> Result<CommuneOpinions, ServiceError> {
    let actor = actor.clone();
    state
        .db
        .run(move |conn| {
            let row = applications::load_readable(conn, &actor, &id)?;
            read_in(conn, &actor, &row)
        })
        .await
}

/// The opinions on `row`, which `actor` may read (`load_readable`), on the caller's connection.
pub fn read_in(
    conn: &mut DbConnection,
    actor: &Actor,
    row: &ApplicationRow,
) -> Result<CommuneOpinions, ServiceError> {
    let audience = applications::audience(actor, row)?;
    let (days, reviewers_see) = days(conn, &row.call_id)?;
    let words = match audience {
        Audience::Staff => true,
        Audience::Reviewer if reviewers_see => true,
        Audience::Reviewer => {
            return Err(ServiceError::Forbidden(
                "Cet appel ne communique pas l'avis des communes aux évaluateurs.".into(),
            ));
        }
        Audience::Owner => false,
    };
    let given = db::for_application(conn, row.id.as_str())?;
    let consulted = given
        .iter()
        .map(|(o, _)| ConsultedCommune {
            commune_name: name_of(&o.commune_insee),
            commune_insee: o.commune_insee.clone(),
        })
        .collect();
    let opinions = if words {
        Some(
            given
                .into_iter()
                .map(|(o, author_name)| {
                    Ok(CommuneOpinionView {
                        opinion: parse_opinion(&o)?,
                        commune_name: name_of(&o.commune_insee),
                        commune_insee: o.commune_insee,
                        comment: o.comment,
                        author_name,
                        given_at: o.created_at.and_utc(),
                        updated_at: o.updated_at.and_utc(),
                    })
                })
                .collect::<Result<Vec<_>, ServiceError>>()?,
        )
    } else {
        None
    };
    let deadline = match audience {
        Audience::Staff => row
            .submitted_at
            .map(|at| rules::deadline(at.and_utc(), days)),
        _ => None,
    };
    Ok(CommuneOpinions {
        consulted,
        opinions,
        deadline,
    })
}

/// A commune's opinion in a list (the ranking board, the exports).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OpinionBrief {
    #[schema(example = "59512")]
    pub commune_insee: String,
    #[schema(example = "Roubaix")]
    pub commune_name: String,
    pub opinion: Opinion,
}

/// The opinions on several applications, by application.
pub fn briefs(
    conn: &mut DbConnection,
    application_ids: &[crate::domain::ids::ApplicationId],
) -> Result<BTreeMap<crate::domain::ids::ApplicationId, Vec<OpinionBrief>>, ServiceError> {
    let mut out: BTreeMap<_, Vec<OpinionBrief>> = BTreeMap::new();
    for row in db::for_applications(conn, application_ids)? {
        let opinion = parse_opinion(&row)?;
        out.entry(row.application_id)
            .or_default()
            .push(OpinionBrief {
                commune_name: name_of(&row.commune_insee),
                commune_insee: row.commune_insee,
                opinion,
            });
    }
    Ok(out)
}

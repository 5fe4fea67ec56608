//! Measuring the territory (DESIGN.md §16): the figures of each of the MEL's 95 communes.

use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::problems::NeedsToken;
use crate::auth::CurrentUser;
use crate::error::{AppError, Problem, ServiceError};
use crate::services::territory::{self, TerritoryQuery, TerritoryStats};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TerritoryParams {
    /// Only this call's applications (a UUID).
    pub call_id: Option<String>,
    /// Only the applications submitted this year (Europe/Paris), 2000 to 2100.
    #[param(example = 2026)]
    pub year: Option<String>,
}

impl TerritoryParams {
    fn parse(self) -> Result<TerritoryQuery, ServiceError> {
        let call_id = territory::parse_call_id(self.call_id.as_deref()).map_err(|id| {
            ServiceError::BadInput(format!(
                "Paramètre « call_id » : « {id} » n'est pas l'identifiant d'un appel à projets \
                 (un UUID)."
            ))
        })?;
        let year = territory::parse_year(self.year.as_deref(), "year")?;
        Ok(TerritoryQuery { call_id, year })
    }
}

/// Per commune of the MEL (staff): the applications submitted (never drafts), those eligible,
/// those awarded and the amounts, per 10 000 inhabitants; for one call and one year of
/// submission if asked. An application active in several communes counts in each; the
/// totals count it once. Lomme and Hellemmes-Lille count as Lille.
#[utoipa::path(
    tag = "territory",
    security(("bearer" = [])),
    params(TerritoryParams),
    responses(
        (status = 200, description = "The 95 communes' figures.", body = TerritoryStats),
        (status = 400, description = "A call id that is not a UUID, or a year that is not one.", body = Problem, content_type = "application/problem+json"),
        NeedsToken,
        (status = 403, description = "Only staff read the territory's figures.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such call.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/territory")]
pub async fn statistics(
    user: CurrentUser,
    state: web::Data<AppState>,
    params: web::Query<TerritoryParams>,
) -> Result<HttpResponse, AppError> {
    user.require_staff()?;
    let query = params.into_inner().parse()?;
    let stats = territory::statistics(&state, &user, query).await?;
    Ok(HttpResponse::Ok().json(stats))
}

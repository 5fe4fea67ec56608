//! The companies' register (DESIGN.md §17): a SIRET looked up for whoever fills an
//! application, and the evidence kept at submission for staff.

use actix_web::{HttpResponse, get, web};

use crate::api::problems::NeedsToken;
use crate::auth::CurrentUser;
use crate::domain::registry::RegistryRecord;
use crate::error::{AppError, Problem};
use crate::services::registry::{self, EvidenceView};
use crate::state::AppState;

/// What the companies' register (API Recherche d'entreprises) says of a SIRET: name, legal
/// form, ESS and association flags, RNA, whether it is active, its head office. Answers are
/// reused for a day. For anyone signed in: step 1 of an application fills itself from it.
#[utoipa::path(
    tag = "registry",
    security(("bearer" = [])),
    params(("siret" = String, Path, description = "14 digits (spaces allowed) with a valid key.", example = "73282932000074")),
    responses(
        (status = 200, description = "The register's record.", body = RegistryRecord),
        NeedsToken,
        (status = 404, description = "No establishment carries this SIRET, or the register is not configured on this service.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a SIRET (length or key).", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "The register is down, slow (3 s), refusing or answering garbage: the form is filled by hand.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/organisations/{siret}")]
pub async fn lookup(
    _user: CurrentUser,
    state: web::Data<AppState>,
    siret: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let record = registry::lookup(&state, &siret.into_inner()).await?;
    Ok(HttpResponse::Ok().json(record))
}

/// What the register said of the application's SIRET at its submission (staff), read against
/// what the applicant declared: flags for the agents (closed, legal form differs, not ESS,
/// head office outside the MEL), never an automatic refusal. `null` when none was kept (the
/// register off, no SIRET, not submitted).
#[utoipa::path(
    tag = "registry",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Application id (UUID).")),
    responses(
        (status = 200, description = "The evidence with its flags, or `null`.", body = Option<EvidenceView>),
        NeedsToken,
        (status = 404, description = "No such application, or the caller is not staff.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/applications/{id}/registry-evidence")]
pub async fn evidence(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let view = registry::evidence(&state, &user, crate::services::applications::id(&id)?).await?;
    Ok(HttpResponse::Ok().json(view))
}

//! Grants and the letters essor writes (DESIGN.md §15).

use actix_web::http::header::{
    self, Charset, ContentDisposition, DispositionParam, DispositionType, ExtendedValue,
};
use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::problems::NeedsToken;
use crate::auth::CurrentUser;
use crate::db::grants::GrantFilter;
use crate::domain::grant::GrantState;
use crate::error::{AppError, Problem, ServiceError};
use crate::services::grants::{self, GrantView, LetterView};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GrantListFilter {
    /// Only the grants of this call.
    pub call_id: Option<String>,
    /// Only grants in this state.
    #[param(example = "awaiting_signature")]
    pub state: Option<String>,
}

impl GrantListFilter {
    fn to_filter(&self) -> Result<GrantFilter, ServiceError> {
        let state = match self
            .state
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => None,
            Some(s) => Some(s.parse::<GrantState>().map_err(|_| {
                let known: Vec<&str> = GrantState::ALL.iter().map(|s| s.as_str()).collect();
                ServiceError::BadInput(format!(
                    "Paramètre « state » : « {s} » n'est pas un état de financement ({}).",
                    known.join(", ")
                ))
            })?),
        };
        Ok(GrantFilter {
            call_id: self.call_id.clone().filter(|c| !c.trim().is_empty()),
            state,
        })
    }
}

/// The grants: every grant for staff (of a call, in a state), a beneficiary's own.
#[utoipa::path(
    tag = "grants",
    security(("bearer" = [])),
    params(GrantListFilter),
    responses(
        (status = 200, description = "The grants, oldest first (at most 1 000).", body = Vec<GrantView>),
        (status = 400, description = "An unknown state.", body = Problem, content_type = "application/problem+json"),
        NeedsToken,
        (status = 403, description = "Reviewers have no grants to read.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/grants")]
pub async fn list_grants(
    user: CurrentUser,
    state: web::Data<AppState>,
    filter: web::Query<GrantListFilter>,
) -> Result<HttpResponse, AppError> {
    let filter = filter.to_filter()?;
    Ok(HttpResponse::Ok().json(grants::list(&state, &user, filter).await?))
}

/// A grant, with its letters and what the caller may do now.
#[utoipa::path(
    tag = "grants",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Grant id (UUID).")),
    responses(
        (status = 200, description = "The grant.", body = GrantView),
        NeedsToken,
        (status = 404, description = "No such grant, or not yours to see.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/grants/{id}")]
pub async fn get_grant(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(grants::get(&state, &user, &id).await?))
}

/// The letters essor issued for an application (its holder and staff).
#[utoipa::path(
    tag = "grants",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Application id (UUID).")),
    responses(
        (status = 200, description = "The letters, in the order they were issued.", body = Vec<LetterView>),
        NeedsToken,
        (status = 404, description = "No such application, or not yours to see (reviewers do not read the holder's letters).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/applications/{id}/letters")]
pub async fn list_letters(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok()
        .json(grants::letters_of_application(&state, &user, id.into_inner()).await?))
}

/// A letter's PDF, described as a binary string.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct LetterPdf(pub Vec<u8>);

/// A letter (PDF/UA-1), as it was issued: its SHA-256 is the one listed and audited.
#[utoipa::path(
    tag = "grants",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Letter id (UUID).")),
    responses(
        (status = 200, description = "The PDF, as an attachment.",
         content((LetterPdf = "application/pdf")),
         headers(("Content-Disposition" = String, description = "attachment; filename=…"),
                 ("Digest" = String, description = "`sha-256=` and the letter's SHA-256 in hex."))),
        NeedsToken,
        (status = 404, description = "No such letter, or not yours to see.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/letters/{id}")]
pub async fn download_letter(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let file = grants::letter_file(&state, &user, &id).await?;
    let disposition = ContentDisposition {
        disposition: DispositionType::Attachment,
        parameters: vec![
            DispositionParam::Filename(file.file_name.clone()),
            DispositionParam::FilenameExt(ExtendedValue {
                charset: Charset::Ext("UTF-8".into()),
                language_tag: None,
                value: file.file_name.into_bytes(),
            }),
        ],
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/pdf"))
        .insert_header(disposition)
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("Digest", format!("sha-256={}", file.letter.sha256)))
        .body(file.content))
}

//! Grants and the letters essor writes (DESIGN.md §15).

use actix_web::http::header::{
    self, Charset, ContentDisposition, DispositionParam, DispositionType, ExtendedValue,
};
use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::json_body::JsonBody;
use crate::api::problems::{NeedsToken, ReadsJson};
use crate::auth::CurrentUser;
use crate::db::grants::GrantFilter;
use crate::domain::grant::GrantState;
use crate::error::{AppError, Problem, ServiceError};
use crate::input::multipart::read_file_field;
use crate::services::bank_details::{self, BankDetailsInput};
use crate::services::conventions::{self, LapseInput, SignInput};
use crate::services::grants::{self, GrantView, LetterView};
use crate::services::recovery::{self, RecoveryInput};
use crate::services::reports::{self, ChangesInput, ReportView};
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
    Ok(HttpResponse::Ok()
        .json(grants::get(&state, &user, &crate::services::grant_view::id(&id)?).await?))
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
    Ok(HttpResponse::Ok().json(
        grants::letters_of_application(&state, &user, crate::services::applications::id(&id)?)
            .await?,
    ))
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
    let file =
        grants::letter_file(&state, &user, crate::services::grant_view::letter_id(&id)?).await?;
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

/// Sign the convention (the application's owner, for the structure's legal representative):
/// name, quality and an explicit acceptance. Issues the signed convention — the same text and
/// a signature page with who, when and the SHA-256 of the unsigned convention — and mails it.
#[utoipa::path(
    tag = "grants",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Grant id (UUID).")),
    request_body = SignInput,
    responses(
        (status = 200, description = "Signed: the grant waits for staff's countersignature.", body = GrantView),
        ReadsJson,
        NeedsToken,
        (status = 403, description = "Only the application's owner signs (staff countersign).", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such grant, or not yours to see.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No convention waits for a signature: already signed, lapsed, or none required (`current_state`, `allowed_actions`).", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Name or quality missing or too long, or `accept` is not `true`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/grants/{id}/sign")]
pub async fn sign_convention(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: JsonBody<SignInput>,
) -> Result<HttpResponse, AppError> {
    let input = body.take()?;
    Ok(HttpResponse::Ok().json(
        conventions::sign(&state, &user, &crate::services::grant_view::id(&id)?, input).await?,
    ))
}

/// The multipart form of a countersignature: optionally the scanned copy.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct CountersignForm {
    /// The convention as countersigned on paper, scanned: a PDF (read on its bytes).
    #[schema(value_type = Option<String>, format = Binary)]
    file: Option<Vec<u8>>,
}

/// Countersign a signed convention (staff): the grant runs, and the date is the SCDL's
/// `dateConvention`. With no body, or a multipart form whose `file` is the scanned copy of
/// the countersigned paper (a PDF, kept as a letter of kind `countersigned_convention`).
#[utoipa::path(
    tag = "grants",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Grant id (UUID).")),
    request_body(content = Option<CountersignForm>, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "Countersigned: the grant is running.", body = GrantView),
        (status = 400, description = "Unreadable multipart form.", body = Problem, content_type = "application/problem+json"),
        NeedsToken,
        (status = 403, description = "Only staff countersign.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such grant, or not yours to see.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not signed by the beneficiary yet, already countersigned, lapsed, or countersigned by another agent at the same moment (`current_state`, `allowed_actions`).", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The scanned copy is larger than `uploads.max_bytes`.", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The scanned copy is not a PDF.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An empty file, or a field other than `file`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/grants/{id}/countersign")]
pub async fn countersign_convention(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        });
    let scan = if multipart {
        read_file_field(
            actix_multipart::Multipart::new(req.headers(), payload),
            state.settings.uploads.max_bytes,
            "la copie numérisée",
        )
        .await?
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(
        conventions::countersign(&state, &user, &crate::services::grant_view::id(&id)?, scan)
            .await?,
    ))
}

/// Declare the grant lapsed (staff): the convention was never signed, or the project never
/// started. The motivation is mailed to the beneficiary.
#[utoipa::path(
    tag = "grants",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Grant id (UUID).")),
    request_body = LapseInput,
    responses(
        (status = 200, description = "Lapsed (final).", body = GrantView),
        ReadsJson,
        NeedsToken,
        (status = 403, description = "Only staff declare a grant lapsed.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such grant, or not yours to see.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Too late: the report is submitted, a recovery is requested, or the grant is closed or lapsed (`current_state`, `allowed_actions`).", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The motivation is missing or too long.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/grants/{id}/lapse")]
pub async fn lapse_grant(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: JsonBody<LapseInput>,
) -> Result<HttpResponse, AppError> {
    let input = body.take()?;
    Ok(HttpResponse::Ok().json(
        conventions::lapse(&state, &user, &crate::services::grant_view::id(&id)?, input).await?,
    ))
}

/// Give or change the grant's bank details (the beneficiary): the IBAN is checked (ISO 13616:
/// the country's length and format, the mod-97 key; spaces allowed) and stored without
/// spaces. The answer shows it masked; staff read it whole, reviewers never.
#[utoipa::path(
    tag = "grants",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Grant id (UUID).")),
    request_body = BankDetailsInput,
    responses(
        (status = 200, description = "Recorded: the grant, with `bank_details` (the IBAN masked).", body = GrantView),
        ReadsJson,
        NeedsToken,
        (status = 403, description = "Only the beneficiary gives the bank details.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such grant, or not yours to see.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The grant is lapsed, closed or in recovery (`current_state`).", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A wrong IBAN (format, country, length, key), BIC or holder: `errors` names each.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/grants/{id}/bank-details")]
pub async fn put_bank_details(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: JsonBody<BankDetailsInput>,
) -> Result<HttpResponse, AppError> {
    let input = body.take()?;
    Ok(HttpResponse::Ok().json(
        bank_details::put(&state, &user, &crate::services::grant_view::id(&id)?, input).await?,
    ))
}

/// Ask the beneficiary to give money back (reversement, staff): an amount no larger than what
/// was paid, and a motivation. Issues the recovery letter (`recovery`), mails it, and cancels
/// the instalments not yet ordered.
#[utoipa::path(
    tag = "grants",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Grant id (UUID).")),
    request_body = RecoveryInput,
    responses(
        (status = 200, description = "Asked: the grant is `recovery_requested`, with `recovery`.", body = GrantView),
        ReadsJson,
        NeedsToken,
        (status = 403, description = "Only staff ask for a recovery.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such grant, or not yours to see.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Nothing was paid yet, or the grant is not in a state that allows it (lapsed, closed, already in recovery; `current_state`).", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An amount of 0 or more than what was paid, or a motivation missing or too long.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/grants/{id}/recovery")]
pub async fn request_recovery(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: JsonBody<RecoveryInput>,
) -> Result<HttpResponse, AppError> {
    let input = body.take()?;
    Ok(HttpResponse::Ok().json(
        recovery::request(&state, &user, &crate::services::grant_view::id(&id)?, input).await?,
    ))
}

/// Close a recovery (staff): the public accountant recovered the sum; the grant is closed.
#[utoipa::path(
    tag = "grants",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Grant id (UUID).")),
    responses(
        (status = 200, description = "Closed.", body = GrantView),
        NeedsToken,
        (status = 403, description = "Only staff close a recovery.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such grant, or not yours to see.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No recovery is open on this grant (`current_state`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/grants/{id}/close-recovery")]
pub async fn close_recovery(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok()
        .json(recovery::close(&state, &user, &crate::services::grant_view::id(&id)?).await?))
}

/// The final report (compte rendu financier, Cerfa n° 15059): the beneficiary's draft, or the
/// submitted report, with its totals and the lines whose gap must be explained. Before the
/// first save, pre-filled: every category, this grant's line planned at the amount awarded.
#[utoipa::path(
    tag = "grants",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Grant id (UUID).")),
    responses(
        (status = 200, description = "The report.", body = ReportView),
        NeedsToken,
        (status = 404, description = "No such grant, or not yours to see.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/grants/{id}/report")]
pub async fn get_report(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok()
        .json(reports::get(&state, &user, &crate::services::grant_view::id(&id)?).await?))
}

/// Save the report's draft (the beneficiary, while the grant runs or after staff asked for
/// changes). Incomplete is fine; negative amounts, a category twice or text that breaks the
/// text rule are refused, each named.
#[utoipa::path(
    tag = "grants",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Grant id (UUID).")),
    request_body = crate::domain::report::ReportBody,
    responses(
        (status = 200, description = "Saved.", body = ReportView),
        ReadsJson,
        NeedsToken,
        (status = 403, description = "Only the beneficiary writes the report.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such grant, or not yours to see.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The report is submitted, approved, or the grant is not running (`current_state`).", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field no report may hold: `errors` names each (`budget[2].actual_cents`…).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/grants/{id}/report")]
pub async fn put_report(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: JsonBody<crate::domain::report::ReportBody>,
) -> Result<HttpResponse, AppError> {
    let input = body.take()?;
    Ok(HttpResponse::Ok()
        .json(reports::put(&state, &user, &crate::services::grant_view::id(&id)?, input).await?))
}

/// Submit the report (the beneficiary): it must be complete — actual amounts, the explanation
/// of each gap above 15 %, the narrative, the three indicators; staff are told.
#[utoipa::path(
    tag = "grants",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Grant id (UUID).")),
    responses(
        (status = 200, description = "Submitted: the grant is `report_submitted`.", body = GrantView),
        NeedsToken,
        (status = 403, description = "Only the beneficiary submits the report.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such grant, or not yours to see.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not now: already submitted, approved, or the grant is not running (`current_state`, `allowed_actions`).", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Incomplete: `errors` names every missing piece.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/grants/{id}/report/submit")]
pub async fn submit_report(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok()
        .json(reports::submit(&state, &user, &crate::services::grant_view::id(&id)?).await?))
}

/// Ask the beneficiary to change the submitted report (staff), saying what.
#[utoipa::path(
    tag = "grants",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Grant id (UUID).")),
    request_body = ChangesInput,
    responses(
        (status = 200, description = "The beneficiary may write again: `report_changes_requested`.", body = GrantView),
        ReadsJson,
        NeedsToken,
        (status = 403, description = "Only staff ask for changes.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such grant, or not yours to see.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No report is submitted (`current_state`).", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The message is missing or too long.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/grants/{id}/report/request-changes")]
pub async fn request_report_changes(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: JsonBody<ChangesInput>,
) -> Result<HttpResponse, AppError> {
    let input = body.take()?;
    Ok(HttpResponse::Ok().json(
        reports::request_changes(&state, &user, &crate::services::grant_view::id(&id)?, input)
            .await?,
    ))
}

/// Approve the submitted report (staff): the balance falls due; the grant closes once nothing
/// remains to pay.
#[utoipa::path(
    tag = "grants",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Grant id (UUID).")),
    responses(
        (status = 200, description = "Approved: `report_approved` (or `closed` when everything is paid).", body = GrantView),
        NeedsToken,
        (status = 403, description = "Only staff approve a report.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such grant, or not yours to see.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No report is submitted (`current_state`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/grants/{id}/report/approve")]
pub async fn approve_report(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok()
        .json(reports::approve(&state, &user, &crate::services::grant_view::id(&id)?).await?))
}

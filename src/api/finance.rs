//! The finance service's list of a call's instalments, and its file back (DESIGN.md §15).

use actix_web::http::header::{self, ContentDisposition, DispositionParam, DispositionType};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use futures_util::StreamExt;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::problems::NeedsToken;
use crate::auth::CurrentUser;
use crate::domain::instalment::InstalmentState;
use crate::error::{AppError, Problem, ServiceError};
use crate::input::multipart::read_file_field;
use crate::services::finance::{self, GrantsFormat, ImportReport};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FinanceListQuery {
    /// The instalments in this state (`requested` by default: those to pay).
    #[param(example = "requested")]
    pub state: Option<String>,
}

fn instalment_state(s: Option<&str>) -> Result<InstalmentState, ServiceError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(InstalmentState::Requested),
        Some(s) => s.parse().map_err(|_| {
            let known: Vec<&str> = InstalmentState::ALL.iter().map(|s| s.as_str()).collect();
            ServiceError::BadInput(format!(
                "Paramètre « state » : « {s} » n'est pas un état de versement ({}).",
                known.join(", ")
            ))
        }),
    }
}

/// A CSV file for the finance service.
#[derive(utoipa::ToSchema)]
#[schema(
    value_type = String,
    example = "\u{feff}Référence;Structure;SIRET;IBAN;BIC;Titulaire du compte;Montant (€);Versement;État;instalment_id;mandate_reference;paid_on\r\nEA-2026-00042;Les Ateliers du Sart;=\"73282932000074\";FR7630006000011234567890189;AGRIFRPP867;Association Les Ateliers du Sart;12000,00;Avance;demandé au service financier;01936f4e-5a7b-7c3d-9e2f-0a1b2c3d4e5f;;\r\n"
)]
pub struct FinanceCsv(pub String);

/// The finance list of a call (staff): one line per instalment in `state` (`requested` by
/// default) — reference, organisation, SIRET, IBAN, BIC, holder, amount in euros, label,
/// state, and the three columns the import reads back (`instalment_id`, `mandate_reference`,
/// `paid_on`): the finance service fills in the last two and the same file comes back. The
/// excel-fr dialect: `;`, decimal commas, a UTF-8 BOM, the SIRET kept as text, free text
/// defused against formulas.
#[utoipa::path(
    tag = "finance",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Call id (UUID)."), FinanceListQuery),
    responses(
        (status = 200, description = "The CSV, as an attachment.",
         headers(("Content-Disposition" = String, description = "`attachment; filename=\"entreprendre-autrement-2026-versements-requested-2026-12-07.csv\"`")),
         content((FinanceCsv = "text/csv"))),
        (status = 400, description = "An unknown state.", body = Problem, content_type = "application/problem+json"),
        NeedsToken,
        (status = 403, description = "Only staff download the finance list.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such call.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/calls/{id}/instalments/export")]
pub async fn export_instalments(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    query: web::Query<FinanceListQuery>,
) -> Result<HttpResponse, AppError> {
    user.require_staff()?;
    let which = instalment_state(query.state.as_deref())?;
    let list =
        finance::finance_list(&state, &user, crate::services::calls::id(&id)?, which).await?;
    Ok(attachment("text/csv; charset=utf-8", list))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// `true`: judge each line and write nothing.
    pub dry_run: Option<bool>,
}

/// The multipart form of an import.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ImportForm {
    /// The finance service's CSV (`instalment_id`, `mandate_reference`, `paid_on`; `;` or `,`).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// Import what the finance service did (staff): the CSV as a multipart `file`, or as a
/// `text/csv` body, with the columns `instalment_id`, `mandate_reference` and `paid_on`
/// (others are ignored: the finance list comes back as it is). A line with a mandate orders
/// the instalment; with a date (`AAAA-MM-JJ` or `JJ/MM/AAAA`, not in the future) it pays it.
/// Every line is judged before anything is written: one unknown or invalid line and nothing is
/// (422, each bad line named `ligne N` in `errors`, the whole report in `report`). An
/// instalment already paid is reported `already_paid` and left alone: the same file twice
/// pays nothing twice. `?dry_run=true` reports each line and writes nothing.
#[utoipa::path(
    tag = "finance",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Call id (UUID)."), ImportQuery),
    request_body(content(
        (ImportForm = "multipart/form-data"),
        (FinanceCsv = "text/csv"),
    )),
    responses(
        (status = 200, description = "Each line's outcome; `written` says whether anything was recorded.", body = ImportReport),
        (status = 400, description = "An unreadable multipart form or query.", body = Problem, content_type = "application/problem+json"),
        NeedsToken,
        (status = 403, description = "Only staff import the finance service's file.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such call.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "A file larger than `uploads.max_bytes`.", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Neither a multipart form nor `text/csv`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The file cannot be read (`errors.file`: no header, a missing column, not UTF-8), or lines cannot be applied (`errors[\"ligne N\"]`, and `report`): nothing was written.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/calls/{id}/instalments/import")]
pub async fn import_instalments(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    query: web::Query<ImportQuery>,
    mut payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    user.require_staff()?;
    let max = state.settings.uploads.max_bytes;
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim_start()
        .to_ascii_lowercase();
    let bytes = if content_type.starts_with("multipart/form-data") {
        read_file_field(
            actix_multipart::Multipart::new(req.headers(), payload),
            max,
            "le fichier du service financier",
        )
        .await?
        .ok_or_else(|| {
            ServiceError::invalid_field("file", "joignez le fichier CSV du service financier")
        })?
    } else if content_type.starts_with("text/csv") {
        let mut bytes = Vec::new();
        while let Some(chunk) = payload.next().await {
            let chunk =
                chunk.map_err(|e| ServiceError::BadInput(format!("Envoi interrompu : {e}.")))?;
            if (bytes.len() + chunk.len()) as u64 > max {
                return Err(ServiceError::TooLarge(format!(
                    "Le fichier dépasse la taille autorisée ({} Mo au plus).",
                    max / (1024 * 1024)
                ))
                .into());
            }
            bytes.extend_from_slice(&chunk);
        }
        bytes
    } else {
        return Err(ServiceError::UnsupportedContent(
            "Envoyez le fichier CSV du service financier en multipart/form-data (champ « file ») ou en text/csv."
                .into(),
        )
        .into());
    };
    let lines = finance::read_file(&bytes)?;
    let report = finance::import(
        &state,
        &user,
        crate::services::calls::id(&id)?,
        lines,
        query.dry_run.unwrap_or(false),
    )
    .await?;
    Ok(HttpResponse::Ok().json(report))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GrantsExportQuery {
    /// `csv` (the default: excel-fr, one line per instalment) or `xlsx` (a sheet of grants, a
    /// sheet of instalments).
    #[param(example = "xlsx")]
    pub format: Option<String>,
}

/// The grants of a call (staff): each with its amount awarded and paid, its state, the
/// countersignature's date, where its report stands (due, submitted, approved, late) and a
/// recovery asked; and each instalment with its state, mandate and payment date.
#[utoipa::path(
    tag = "finance",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Call id (UUID)."), GrantsExportQuery),
    responses(
        (status = 200, description = "The file, as an attachment.",
         headers(("Content-Disposition" = String, description = "`attachment; filename=\"entreprendre-autrement-2026-financements-2026-12-07.xlsx\"`")),
         content(
            (FinanceCsv = "text/csv"),
            (crate::api::exports::XlsxFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
         )),
        (status = 400, description = "An unknown format.", body = Problem, content_type = "application/problem+json"),
        NeedsToken,
        (status = 403, description = "Only staff export the grants.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such call.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/calls/{id}/grants/export")]
pub async fn export_grants(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    query: web::Query<GrantsExportQuery>,
) -> Result<HttpResponse, AppError> {
    user.require_staff()?;
    let format = GrantsFormat::parse(query.format.as_deref())?;
    let file =
        finance::grants_export(&state, &user, crate::services::calls::id(&id)?, format).await?;
    Ok(attachment(format.content_type(), file))
}

/// A file to download, never kept by a cache (it carries bank details).
fn attachment(content_type: &str, file: finance::FinanceList) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type.to_owned()))
        .insert_header(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename(file.file_name)],
        })
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(file.bytes)
}

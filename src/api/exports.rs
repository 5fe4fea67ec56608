//! Exports of a call's applications (staff): CSV, XLSX, JSON, SCDL « subventions ».

use actix_web::http::header::{self, ContentDisposition, DispositionParam, DispositionType};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use utoipa::ToSchema;

use crate::api::json_body::JsonBody;
use crate::api::problems::NeedsToken;
use crate::auth::CurrentUser;
use crate::error::{AppError, Problem};
use crate::export::json::ExportRecord;
use crate::export::{self, ExportContext, ExportQuery};
use crate::services::open_data::{self, Publication, PublishInput};
use crate::state::AppState;

/// An Office Open XML workbook (`.xlsx`).
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct XlsxFile(pub Vec<u8>);

/// A CSV file (RFC 4180, or `;`-separated with a BOM in the `excel-fr` dialect).
#[derive(ToSchema)]
#[schema(
    value_type = String,
    example = "reference,organisation_name,legal_form,siret,rna,commune_insee,commune_name,project_title,stage,requested_eur,awarded_eur,state,eligibility_verdict,score,spread,review_count,favorable_count,reserved_count,unfavorable_count,committee_date,decision_reference,decision_motivation,submitted_on,decided_on\r\nEA-2026-00042,Les Ateliers du Sart,association,73282932000074,W595012345,59009,Villeneuve-d'Ascq,Recyclerie de quartier,startup,20000.00,15000.00,accepted,eligible,76.67,6.67,2,2,0,0,2026-03-12,DEL-2026-031,Projet solide.,2026-01-05,2026-03-13\r\n"
)]
pub struct CsvFile(pub String);

/// Export a call's applications (staff), streamed.
///
/// - `csv`: one line per application: reference, organisation (name, legal form, SIRET, RNA,
///   commune), project title, stage, amounts requested and awarded (euros, two decimals),
///   state, eligibility verdict, score, spread, number of reviews, recommendation counts,
///   committee date, decision reference, motivation, submission and decision dates
///   (Europe/Paris), the communes' opinions, and what the companies' register said at
///   submission (`registry_status`, `registry_flags`: closed, legal form differs, not ESS, head
///   office outside the MEL, SIRET unknown). `dialect=excel-fr`: `;`, decimal commas and a UTF-8 BOM for Excel in
///   French.
/// - `xlsx`: a workbook with a sheet of applications (amounts in a euro format, dates as
///   dates) and a sheet of reviews, one row per submitted review and criterion.
/// - `json`: an array of objects with the CSV's fields (amounts in cents).
/// - `scdl`: the SCDL « subventions » 2.1.1 open-data CSV, one line per accepted application.
///
/// Without `state`, every application but drafts. Only submitted reviews count.
#[utoipa::path(
    tag = "exports",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Call id (UUID)."), ExportQuery),
    responses(
        (status = 200, description = "The file, as an attachment named after the call and what it holds (e.g. `entreprendre-autrement-2026-decisions.csv`). Sent as it is produced (chunked): an error after the first byte cuts the download short.",
            headers(
                ("Content-Disposition" = String, description = "`attachment; filename=\"entreprendre-autrement-2026-candidatures.csv\"`"),
            ),
            content(
                (CsvFile = "text/csv"),
                (Vec<ExportRecord> = "application/json"),
                (XlsxFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            )
        ),
        (status = 400, description = "Unknown format, dialect or state, a date not `YYYY-MM-DD`, or `decided_from` after `decided_to`.", body = Problem, content_type = "application/problem+json"),
        NeedsToken,
        (status = 403, description = "Only staff export.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such call.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/calls/{id}/export")]
pub async fn export_call(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    user.require_staff()?;
    // Read after the role check, so that a caller without the right gets 403, not 400.
    let params = ExportQuery::from_query_string(req.query_string())?.parse()?;
    let id = id.into_inner();
    let call = crate::services::calls::for_export(&state, crate::services::calls::id(&id)?).await?;
    let file_name = params.file_name(&call.title);
    let format = params.format;
    let ctx = ExportContext::new(
        &call,
        params,
        state.settings.authority.clone(),
        state.settings.data_dir.join("tmp"),
    );
    tracing::info!(call_id = %call.id, format = format.as_str(), user_id = %user.id, "export started");
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, format.content_type()))
        .insert_header(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename(file_name)],
        })
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .streaming(export::stream(state.db.clone(), ctx)))
}

/// Publish the call's SCDL « subventions » file on data.gouv.fr (staff): the file `format=scdl`
/// downloads, uploaded as the configured dataset's resource and audited with its SHA-256.
/// `dry_run` says what would be sent and sends nothing.
#[utoipa::path(
    tag = "exports",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Call id (UUID).")),
    request_body = PublishInput,
    responses(
        (status = 200, description = "What was sent (or would be, in a dry run).", body = Publication),
        crate::api::problems::ReadsJson,
        NeedsToken,
        (status = 403, description = "Only staff publish.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such call, or publication is not configured on this service.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown member in the body.", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "data.gouv.fr down or refusing: nothing was published.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/calls/{id}/open-data")]
pub async fn publish_open_data(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: JsonBody<PublishInput>,
) -> Result<HttpResponse, AppError> {
    user.require_staff()?;
    let input = body.take()?;
    let publication =
        open_data::publish(&state, &user, crate::services::calls::id(&id)?, input).await?;
    Ok(HttpResponse::Ok().json(publication))
}

//! The finance service's list and its file back, on the pages (DESIGN.md §15): from a call's
//! « Financements » page, staff download the instalments to pay, upload the file the finance
//! software returns, read what each line would do (a dry run, as a table), then « Enregistrer ».
//! Without JavaScript: the checked file travels back in the confirmation form, so nothing is
//! kept on the server between the two steps, and the import judges it again when it is saved.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentDisposition, DispositionParam, DispositionType};
use actix_web::{HttpResponse, web};
use minijinja::context;

use crate::domain::instalment::InstalmentState;
use crate::error::ServiceError;
use crate::input::multipart::read_file_field;
use crate::services::calls;
use crate::services::finance::{self, GrantsFormat, ImportReport, LineOutcome};
use crate::services::staff;
use crate::web::checked_form::CsrfForm;
use crate::web::forms::Errors;
use crate::web::{PageCtx, WebError, see_other, ser};

const UUID: &str = "[0-9a-fA-F-]{36}";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        &format!("/gestion/appels/{{id:{UUID}}}/versements.csv"),
        web::get().to(download),
    )
    .route(
        &format!("/gestion/appels/{{id:{UUID}}}/financements.csv"),
        web::get().to(grants_csv),
    )
    .route(
        &format!("/gestion/appels/{{id:{UUID}}}/financements.xlsx"),
        web::get().to(grants_xlsx),
    )
    .route(
        &format!("/gestion/appels/{{id:{UUID}}}/versements/verifier"),
        web::post().to(check),
    )
    .route(
        &format!("/gestion/appels/{{id:{UUID}}}/versements/enregistrer"),
        web::post().to(save),
    );
}

/// The finance list of the instalments requested, as the API gives it.
async fn download(ctx: PageCtx, id: web::Path<String>) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    staff::require_staff(&user)?;
    let list = finance::finance_list(
        &ctx.state,
        &user,
        crate::services::calls::id(&id)?,
        InstalmentState::Requested,
    )
    .await?;
    Ok(attachment("text/csv; charset=utf-8", list))
}

async fn grants_csv(ctx: PageCtx, id: web::Path<String>) -> Result<HttpResponse, WebError> {
    grants_file(ctx, id.into_inner(), GrantsFormat::Csv).await
}

async fn grants_xlsx(ctx: PageCtx, id: web::Path<String>) -> Result<HttpResponse, WebError> {
    grants_file(ctx, id.into_inner(), GrantsFormat::Xlsx).await
}

/// The grants export, as the API gives it.
async fn grants_file(
    ctx: PageCtx,
    id: String,
    format: GrantsFormat,
) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    staff::require_staff(&user)?;
    let file =
        finance::grants_export(&ctx.state, &user, crate::services::calls::id(&id)?, format).await?;
    Ok(attachment(format.content_type(), file))
}

#[derive(serde::Deserialize)]
struct CsrfQuery {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
}

/// The upload is multipart, read as a stream: its CSRF token comes in the query string, as on
/// the documents page.
async fn check(
    ctx: PageCtx,
    id: web::Path<String>,
    q: web::Query<CsrfQuery>,
    req: actix_web::HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, WebError> {
    ctx.check_csrf(q.csrf.as_deref())?;
    let user = ctx.user()?;
    staff::require_staff(&user)?;
    let id = id.into_inner();
    let form = actix_multipart::Multipart::new(req.headers(), payload);
    let bytes = match read_file_field(form, ctx.state.settings.uploads.max_bytes, "le fichier")
        .await
    {
        Ok(Some(bytes)) if !bytes.is_empty() => bytes,
        Ok(_) => {
            return file_refused(&ctx, id, "Choisissez le fichier CSV du service financier").await;
        }
        Err(e) => return file_refused(&ctx, id, &e.message()).await,
    };
    judge(&ctx, id, bytes, true).await
}

/// « Enregistrer »: the file checked a moment ago, judged again and written.
async fn save(
    CsrfForm { ctx, form }: CsrfForm,
    id: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    staff::require_staff(&user)?;
    let id = id.into_inner();
    if let Some(again) =
        crate::web::proconnect::needs_stronger(&ctx, &format!("/gestion/appels/{id}/financements"))
    {
        return Ok(again);
    }
    let bytes = form.get("fichier").as_bytes().to_vec();
    judge(&ctx, id, bytes, false).await
}

async fn judge(
    ctx: &PageCtx,
    id: String,
    bytes: Vec<u8>,
    dry_run: bool,
) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    let lines = match finance::read_file(&bytes) {
        Ok(lines) => lines,
        Err(e) => return file_refused(ctx, id, &field_message(e)).await,
    };
    match finance::import(
        &ctx.state,
        &user,
        crate::services::calls::id(&id)?,
        lines,
        dry_run,
    )
    .await
    {
        Ok(report) if dry_run => render(ctx, id, &report, &bytes, StatusCode::OK).await,
        Ok(report) => Ok(see_other(&format!(
            "/gestion/appels/{id}/financements?mandates={}&paiements={}&deja={}#versements",
            report.counts.ordered,
            report.counts.paid,
            report.counts.already_paid + report.counts.already_ordered
        ))),
        // Judged good a moment ago, bad now (another import, a lapse): each line again, as a
        // dry run reports it.
        Err(ServiceError::Invalid { extra: Some(_), .. }) => {
            let lines = finance::read_file(&bytes)?;
            let report = finance::import(
                &ctx.state,
                &user,
                crate::services::calls::id(&id)?,
                lines,
                true,
            )
            .await?;
            render(ctx, id, &report, &bytes, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}

fn field_message(e: ServiceError) -> String {
    match e {
        ServiceError::Invalid { fields, .. } => fields
            .into_values()
            .flatten()
            .next()
            .unwrap_or_else(|| "le fichier est illisible".into()),
        e => e.message(),
    }
}

/// The import page with the file refused as a whole, beside the file field.
async fn file_refused(ctx: &PageCtx, id: String, message: &str) -> Result<HttpResponse, WebError> {
    let call = calls::get(&ctx.state, true, crate::services::calls::id(&id)?).await?;
    let mut errors = Errors::default();
    errors.add("file", message);
    ctx.render_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        "staff_finance_import.html",
        context! { call => ser(&call), errors => ser(&errors), report => (), file => "" },
    )
}

async fn render(
    ctx: &PageCtx,
    id: String,
    report: &ImportReport,
    bytes: &[u8],
    status: StatusCode,
) -> Result<HttpResponse, WebError> {
    let call = calls::get(&ctx.state, true, crate::services::calls::id(&id)?).await?;
    let mut errors = Errors::default();
    for line in &report.lines {
        if matches!(line.outcome, LineOutcome::Unknown | LineOutcome::Invalid) {
            errors.add(
                &format!("ligne-{}", line.line),
                format!("Ligne {} : {}", line.line, line.message),
            );
        }
    }
    let writes = report.counts.ordered + report.counts.paid;
    ctx.render_status(
        status,
        "staff_finance_import.html",
        context! {
            call => ser(&call),
            errors => ser(&errors),
            report => ser(report),
            writes,
            file => String::from_utf8_lossy(bytes).into_owned(),
        },
    )
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
        .body(file.bytes)
}

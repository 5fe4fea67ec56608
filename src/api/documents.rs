//! Documents of an application.

use actix_multipart::Multipart;
use actix_web::body::SizedStream;
use actix_web::http::header::{
    self, Charset, ContentDisposition, DispositionParam, DispositionType, ExtendedValue,
};
use actix_web::web::Bytes;
use actix_web::{HttpResponse, delete, get, post, web};
use futures_util::StreamExt;

use crate::api::problems::NeedsToken;
use crate::auth::CurrentUser;
use crate::error::{AppError, Problem};
use crate::input::multipart::read_document;
use crate::services::documents::{self, Content, Document, UploadForm};

type ChunkStream =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<Bytes, AppError>> + 'static>>;
use crate::state::AppState;

/// Attach a document (owner, while the application is editable). The type is read from the
/// file's bytes: PDF, ODT, ODS, DOCX, XLSX, PNG or JPEG; the stored name takes that type's
/// extension. Office files with macros, or declaring parts that inflate beyond the limits, are
/// refused. The content is stored in the database.
///
/// One document per kind: a second document of a kind the call requires (`statuts`, `rib`…)
/// **replaces** the first (the history records its deletion, `replaced_by` the new one);
/// documents of kind `annexe` add up. The file name is kept as sent (accents, apostrophes),
/// without its path and control characters, and its extension set to the detected type.
#[utoipa::path(
    tag = "documents",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Application id (UUID).")),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Stored, with its SHA-256.", body = Document, headers(("Location" = String, description = "`/api/v1/applications/{id}/documents/{doc_id}`: the download."))),
        (status = 400, description = "Unreadable multipart form.", body = Problem, content_type = "application/problem+json"),
        NeedsToken,
        (status = 403, description = "Only the owner attaches documents.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such application, or not yours to see.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The application is no longer editable, or holds `uploads.max_documents_per_application` documents already.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than `uploads.max_bytes` (10 MB by default).", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not an accepted file type.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`kind` or `file` missing, an unknown kind, or an office file with macros or declaring sizes that inflate beyond the limits.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/applications/{id}/documents")]
pub async fn upload_document(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: Multipart,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let doc = documents::upload(
        &state,
        &user,
        crate::services::applications::id(&id)?,
        |l: documents::UploadLimits| read_document(form, l.tmp_dir, l.max_bytes, l.sniff_bytes),
    )
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            actix_web::http::header::LOCATION,
            format!("/api/v1/applications/{id}/documents/{}", doc.id),
        ))
        .json(doc))
}

/// The documents of an application (owner, staff, reviewers who accepted the assignment).
#[utoipa::path(
    tag = "documents",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Application id (UUID).")),
    responses(
        (status = 200, description = "Documents, oldest first.", body = Vec<Document>),
        NeedsToken,
        (status = 403, description = "A reviewer who has not accepted the assignment.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such application, or not yours to see.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/applications/{id}/documents")]
pub async fn list_documents(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok()
        .json(documents::list(&state, &user, crate::services::applications::id(&id)?).await?))
}

/// A document's bytes, described as a binary string so that generated clients read a file
/// (a `Vec<u8>` would be described as an array of integers).
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct DocumentFile(pub Vec<u8>);

/// Download a document.
#[utoipa::path(
    tag = "documents",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Application id (UUID)."),
        ("doc_id" = String, Path, description = "Document id (UUID)."),
    ),
    responses(
        (status = 200, description = "The file, as an attachment, with the type read from its bytes at upload.",
         content(
            (DocumentFile = "application/pdf"),
            (DocumentFile = "application/vnd.oasis.opendocument.text"),
            (DocumentFile = "application/vnd.oasis.opendocument.spreadsheet"),
            (DocumentFile = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
            (DocumentFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (DocumentFile = "image/png"),
            (DocumentFile = "image/jpeg"),
         ),
         headers(("Content-Disposition" = String, description = "attachment; filename=…; filename*=UTF-8''…"))),
        NeedsToken,
        (status = 403, description = "A reviewer who has not accepted the assignment.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such document, or not yours to see.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/applications/{id}/documents/{doc_id}")]
pub async fn download_document(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, doc_id) = path.into_inner();
    let (doc, content) = documents::open(
        &state,
        &user,
        crate::services::applications::id(&id)?,
        documents::id(&doc_id)?,
    )
    .await?;
    let size = u64::try_from(doc.size_bytes).unwrap_or_default();
    // Chunk by chunk from the database: one chunk in memory at a time, whatever the instance.
    let body = match content {
        Content::Chunks { document_id, count } => {
            let state = state.clone();
            let chunks = futures_util::stream::iter(0..count).then(move |seq| {
                let (state, id) = (state.clone(), document_id.clone());
                async move {
                    let seq = i32::try_from(seq).map_err(|e| AppError::Internal(e.into()))?;
                    documents::read_chunk(&state, id, seq)
                        .await
                        .map(Bytes::from)
                        .map_err(AppError::from)
                }
            });
            SizedStream::new(size, Box::pin(chunks) as ChunkStream)
        }
        Content::LegacyFile(file) => {
            let bytes = web::block(move || std::fs::read(&file))
                .await
                .map_err(|e| AppError::Internal(anyhow::anyhow!("blocking: {e}")))?
                .map_err(|e| {
                    AppError::Internal(anyhow::anyhow!("document file unreadable: {e}"))
                })?;
            let once = futures_util::stream::once(async move { Ok(Bytes::from(bytes)) });
            SizedStream::new(size, Box::pin(once) as ChunkStream)
        }
    };
    let ascii: String = doc
        .filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = ContentDisposition {
        disposition: DispositionType::Attachment,
        parameters: vec![
            DispositionParam::Filename(ascii),
            DispositionParam::FilenameExt(ExtendedValue {
                charset: Charset::Ext("UTF-8".into()),
                language_tag: None,
                value: doc.filename.clone().into_bytes(),
            }),
        ],
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, doc.content_type.clone()))
        .insert_header(disposition)
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        // A person's document (statuts, RIB): never kept by the browser or a shared cache.
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("Digest", format!("sha-256={}", doc.sha256)))
        .body(body))
}

/// Remove a document (owner, while the application is editable).
#[utoipa::path(
    tag = "documents",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Application id (UUID)."),
        ("doc_id" = String, Path, description = "Document id (UUID)."),
    ),
    responses(
        (status = 204, description = "Removed."),
        NeedsToken,
        (status = 403, description = "Only the owner removes documents.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such document, or not yours to see.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The application is no longer editable.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/applications/{id}/documents/{doc_id}")]
pub async fn delete_document(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, doc_id) = path.into_inner();
    documents::delete(
        &state,
        &user,
        crate::services::applications::id(&id)?,
        documents::id(&doc_id)?,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Attach an annex to the final report (the beneficiary, while the grant runs or after staff
/// asked for changes): `kind` `report_annex` and the `file`, checked on its bytes as the
/// application's documents are. Annexes add up; staff read them, reviewers never.
#[utoipa::path(
    tag = "grants",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Grant id (UUID).")),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Stored, with its SHA-256.", body = Document, headers(("Location" = String, description = "`/api/v1/applications/{application_id}/documents/{doc_id}`: the download."))),
        (status = 400, description = "Unreadable multipart form.", body = Problem, content_type = "application/problem+json"),
        NeedsToken,
        (status = 403, description = "Only the beneficiary attaches the report's annexes.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such grant, or not yours to see.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The report is submitted or approved, or the grant is not running (`current_state`); or the application holds `uploads.max_documents_per_application` documents already.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than `uploads.max_bytes`.", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not an accepted file type.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`kind` is not `report_annex`, or `file` is missing or empty.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/grants/{id}/report/annexes")]
pub async fn upload_report_annex(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: Multipart,
) -> Result<HttpResponse, AppError> {
    let grant = crate::services::grant_view::id(&id)?;
    let report = crate::services::reports::get(&state, &user, &grant).await?;
    let doc = documents::upload_report_annex(&state, &user, grant, |l: documents::UploadLimits| {
        read_document(form, l.tmp_dir, l.max_bytes, l.sniff_bytes)
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            actix_web::http::header::LOCATION,
            format!(
                "/api/v1/applications/{}/documents/{}",
                report.application_id, doc.id
            ),
        ))
        .json(doc))
}

/// Remove an annex of the final report (the beneficiary, while they write it).
#[utoipa::path(
    tag = "grants",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Grant id (UUID)."),
        ("doc_id" = String, Path, description = "Document id (UUID)."),
    ),
    responses(
        (status = 204, description = "Removed."),
        NeedsToken,
        (status = 403, description = "Only the beneficiary removes the report's annexes.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such annex, or not yours to see.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The report is submitted or approved (`current_state`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/grants/{id}/report/annexes/{doc_id}")]
pub async fn delete_report_annex(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, doc_id) = path.into_inner();
    documents::delete_report_annex(
        &state,
        &user,
        crate::services::grant_view::id(&id)?,
        documents::id(&doc_id)?,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

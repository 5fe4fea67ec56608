//! Documents of an application.

use actix_multipart::Multipart;
use actix_web::http::header::{
    self, Charset, ContentDisposition, DispositionParam, DispositionType, ExtendedValue,
};
use actix_web::{HttpResponse, delete, get, post, web};

use crate::api::problems::NeedsToken;
use crate::auth::CurrentUser;
use crate::error::{AppError, Problem};
use crate::services::documents::{self, Document, UploadForm};
use crate::state::AppState;

/// Attach a document (owner, while the application is editable). The type is read from the
/// file's bytes: PDF, ODT, ODS, DOCX, XLSX, PNG or JPEG.
#[utoipa::path(
    tag = "documents",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Application id (UUID).")),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Stored, with its SHA-256.", body = Document),
        (status = 400, description = "Unreadable multipart form.", body = Problem, content_type = "application/problem+json"),
        NeedsToken,
        (status = 403, description = "Only the owner attaches documents.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such application, or not yours to see.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The application is no longer editable.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than `uploads.max_bytes` (10 MB by default).", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not an accepted file type.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`kind` or `file` missing, or an unknown kind.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/applications/{id}/documents")]
pub async fn upload_document(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: Multipart,
) -> Result<HttpResponse, AppError> {
    let doc = documents::upload(&state, &user, id.into_inner(), form).await?;
    Ok(HttpResponse::Created().json(doc))
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
    Ok(HttpResponse::Ok().json(documents::list(&state, &user, id.into_inner()).await?))
}

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
            (Vec<u8> = "application/pdf"),
            (Vec<u8> = "application/vnd.oasis.opendocument.text"),
            (Vec<u8> = "application/vnd.oasis.opendocument.spreadsheet"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (Vec<u8> = "image/png"),
            (Vec<u8> = "image/jpeg"),
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
    let (doc, file) = documents::open(&state, &user, id, doc_id).await?;
    let bytes = web::block(move || std::fs::read(&file))
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("blocking: {e}")))?
        .map_err(|e| AppError::Internal(anyhow::anyhow!("document file unreadable: {e}")))?;
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
        .insert_header(("Digest", format!("sha-256={}", doc.sha256)))
        .body(bytes))
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
    documents::delete(&state, &user, id, doc_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

//! Documents attached to applications. A file is streamed to a temporary file while its size
//! is counted and its SHA-256 computed; its type is read from its bytes (never from its name)
//! and its stored name takes that type's extension; an office file (a zip archive) is refused
//! when it holds macros or declares sizes that would inflate beyond reason (read from its
//! central directory, nothing inflated). The content is then written into the database, in
//! chunks, in the transaction that records the document: every instance of a deployment reads
//! it, and a failed write leaves nothing behind. Temporary files a crash or a killed upload
//! left are swept when the server starts and then periodically ([`sweep_temporary_files`],
//! [`sweep_periodically`]).

use std::path::{Path, PathBuf};

use std::future::Future;

use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::db::applications::{self as rows, ApplicationRow};
use crate::db::documents::{self, DocumentRow};
use crate::db::{DbConnection, calls};
use crate::domain::actor::Actor;
use crate::domain::application_state::Party;
use crate::domain::call::{OTHER_DOCUMENT_KIND, REPORT_ANNEX_KIND};
use crate::domain::history::HistoryAction;
use crate::domain::ids::{ApplicationId, DocumentId, GrantId};
use crate::error::ServiceError;
use crate::input::multipart::{ReceivedFile, TempFile};
use crate::services::applications::{
    actor, audience, load_readable, not_found, record_event, visibility,
};
use crate::state::AppState;

/// The file types the MEL accepts, recognised from their first bytes.
pub const ALLOWED_TYPES: &[(&str, &str)] = &[
    ("application/pdf", "pdf"),
    ("application/vnd.oasis.opendocument.text", "odt"),
    ("application/vnd.oasis.opendocument.spreadsheet", "ods"),
    (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "docx",
    ),
    (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xlsx",
    ),
    ("image/png", "png"),
    ("image/jpeg", "jpg"),
];

/// Bytes kept in memory to recognise the type: office formats are zip files whose telling
/// entries come first.
const SNIFF_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Document {
    #[schema(value_type = String)]
    pub id: DocumentId,
    /// A key of the call's `required_documents`, `annexe`, or `report_annex` (the final
    /// report's).
    #[schema(example = "statuts")]
    pub kind: String,
    #[schema(example = "statuts-2025.pdf")]
    pub filename: String,
    #[schema(example = "application/pdf")]
    pub content_type: String,
    pub size_bytes: i64,
    /// SHA-256 of the content, hexadecimal.
    pub sha256: String,
    pub uploaded_at: chrono::DateTime<chrono::Utc>,
}

impl From<DocumentRow> for Document {
    fn from(r: DocumentRow) -> Self {
        Self {
            id: r.id,
            kind: r.kind,
            filename: r.filename,
            content_type: r.content_type,
            size_bytes: r.size_bytes,
            sha256: r.sha256,
            uploaded_at: r.uploaded_at.and_utc(),
        }
    }
}

/// The multipart form of an upload.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// A key of the call's `required_documents` (e.g. `statuts`), or `annexe`.
    kind: String,
    /// The file: PDF, ODT, ODS, DOCX, XLSX, PNG or JPEG.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// Keeps the last path component and the name as typed (accents, apostrophes, any letter or
/// sign); drops only control characters and the invisible ones that disguise a name (bidi
/// overrides, zero-width), bounds the length. The name is served in `filename*` (RFC 6266)
/// and escaped in pages.
pub fn sanitize_filename(raw: &str, ext: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let invisible = |c: char| matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}');
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !invisible(*c))
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim().to_owned();
    let cleaned: String = cleaned.chars().take(150).collect();
    if cleaned.is_empty() || cleaned.chars().all(|c| c == '_' || c == '.') {
        format!("document.{ext}")
    } else {
        cleaned
    }
}

/// Where a document received before contents moved into the database was kept.
fn document_not_found() -> ServiceError {
    ServiceError::not_found("Cette pièce n'existe pas.")
}

/// A document's id as a face received it: a malformed one is « not found », like an unknown one.
pub fn id(text: &str) -> Result<DocumentId, ServiceError> {
    DocumentId::parse(text).ok_or_else(document_not_found)
}

fn legacy_path(
    uploads: &Path,
    application_id: &ApplicationId,
    document_id: &DocumentId,
) -> PathBuf {
    // Both ids are UUIDs made here: nothing the client sends reaches the path.
    uploads
        .join(application_id.as_str())
        .join(document_id.as_str())
}

/// Where uploads are received before they reach the database.
pub fn temporary_dir(settings: &crate::config::Settings) -> PathBuf {
    settings.uploads_dir().join("tmp")
}

/// A temporary file untouched this long is no upload in progress (those write continuously):
/// it was left by a crash.
pub const STALE_TEMPORARY_FILE: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Removes the temporary upload files a crash left behind (at start-up). Files younger than
/// [`STALE_TEMPORARY_FILE`] are kept: another instance sharing the directory may be writing
/// them. Returns how many were removed.
pub fn sweep_temporary_files(dir: &Path) -> std::io::Result<usize> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry?;
        let meta = entry.metadata()?;
        let stale = meta
            .modified()
            .ok()
            .and_then(|m| m.elapsed().ok())
            .is_some_and(|age| age >= STALE_TEMPORARY_FILE);
        if meta.is_file() && stale {
            std::fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Sweeps `dir` every `every` for as long as the server runs: an upload killed mid-way (its
/// connection cut, its process killed) leaves a file that no restart may come to remove. Each
/// instance sweeps; only files older than [`STALE_TEMPORARY_FILE`] go, so none in progress.
pub async fn sweep_periodically(dir: PathBuf, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    // The first tick is immediate, and the start-up has just swept.
    tick.tick().await;
    loop {
        tick.tick().await;
        let target = dir.clone();
        match tokio::task::spawn_blocking(move || sweep_temporary_files(&target)).await {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => {
                tracing::info!(removed = n, dir = %dir.display(), "stale upload files swept");
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, dir = %dir.display(), "cannot sweep upload files");
            }
            Err(e) => tracing::warn!(error = %e, "upload sweep task failed"),
        }
    }
}

/// Office formats are zip archives: judge them by their central directory.
fn inspect_archive(path: &Path) -> Result<(), ServiceError> {
    use crate::domain::upload::{ARCHIVE_LIMITS, ArchiveEntry, check_archive};
    let unreadable = || {
        bad(
            "file",
            "le fichier bureautique est endommagé (archive illisible) : enregistrez-le à nouveau",
        )
    };
    let file = std::fs::File::open(path).map_err(|e| ServiceError::Internal(e.into()))?;
    let mut archive =
        zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|_| unreadable())?;
    let mut entries = Vec::with_capacity(archive.len().min(ARCHIVE_LIMITS.max_entries + 1));
    for i in 0..archive.len().min(ARCHIVE_LIMITS.max_entries + 1) {
        let entry = archive.by_index_raw(i).map_err(|_| unreadable())?;
        entries.push(ArchiveEntry {
            name: entry.name().map_err(|_| unreadable())?.into_owned(),
            compressed_bytes: entry.compressed_size(),
            uncompressed_bytes: entry.size(),
        });
    }
    check_archive(&entries, ARCHIVE_LIMITS).map_err(|refusal| bad("file", &refusal.to_string()))?;
    // Part names can be changed: what declares a VBA project is the content type or the
    // relationship. Both parts are small; a megabyte is read at most.
    for e in &entries {
        let lower = e.name.to_ascii_lowercase();
        if e.name != "[Content_Types].xml" && !lower.ends_with(".rels") {
            continue;
        }
        let mut text = Vec::new();
        {
            use std::io::Read;
            let part = archive.by_name(&e.name).map_err(|_| unreadable())?;
            part.take(1024 * 1024)
                .read_to_end(&mut text)
                .map_err(|_| unreadable())?;
        }
        crate::domain::upload::check_declared_part(&e.name, &String::from_utf8_lossy(&text))
            .map_err(|refusal| bad("file", &refusal.to_string()))?;
    }
    // The headers' sizes can lie (the zip crate stops at the declared size): each entry's
    // raw stream is inflated here, counted, and stopped one byte past the ceiling.
    let max_total = crate::domain::upload::MAX_INFLATED_BYTES;
    let mut total = 0u64;
    for i in 0..entries.len() {
        use std::io::Read;
        let raw = archive.by_index_raw(i).map_err(|_| unreadable())?;
        let compressed = raw.compressed_size();
        let name = raw.name().map_err(|_| unreadable())?.into_owned();
        let budget = max_total.saturating_sub(total).saturating_add(1);
        let inflated = match raw.compression() {
            zip::CompressionMethod::Stored => {
                std::io::copy(&mut raw.take(budget), &mut std::io::sink())
            }
            zip::CompressionMethod::Deflated => std::io::copy(
                &mut flate2::read::DeflateDecoder::new(raw).take(budget),
                &mut std::io::sink(),
            ),
            _ => return Err(unreadable()),
        }
        .map_err(|_| unreadable())?;
        crate::domain::upload::check_inflated(
            &name,
            compressed,
            inflated,
            total,
            max_total,
            ARCHIVE_LIMITS.max_ratio,
        )
        .map_err(|refusal| bad("file", &refusal.to_string()))?;
        total += inflated;
    }
    Ok(())
}

struct Received {
    kind: String,
    filename: String,
    content_type: &'static str,
    ext: &'static str,
    size: u64,
    sha256: String,
    temp: TempFile,
}

fn bad(field: &str, msg: &str) -> ServiceError {
    ServiceError::invalid_field(field, msg)
}

/// Judges a received file on its bytes: not empty, of a type the MEL accepts (read from its
/// content, never from its name), stored under a clean name with that type's extension.
fn check_received(file: ReceivedFile) -> Result<Received, ServiceError> {
    let ReceivedFile {
        kind,
        original_name: original,
        temp,
        size,
        sha256,
        head,
    } = file;
    if size == 0 {
        return Err(bad("file", "le fichier est vide"));
    }
    let detected = infer::get(&head).map(|t| t.mime_type());
    let (content_type, ext) = detected
        .and_then(|m| ALLOWED_TYPES.iter().find(|(t, _)| *t == m).copied())
        .ok_or_else(|| {
            ServiceError::UnsupportedContent(format!(
                "Type de fichier refusé{} : seuls les PDF, ODT, ODS, DOCX, XLSX, PNG et JPEG sont \
                 acceptés (le type est lu dans le contenu du fichier, pas dans son nom).",
                detected.map(|m| format!(" ({m})")).unwrap_or_default()
            ))
        })?;
    Ok(Received {
        kind: kind.trim().to_owned(),
        filename: crate::domain::upload::stored_filename(&sanitize_filename(&original, ext), ext),
        content_type,
        ext,
        size,
        sha256,
        temp,
    })
}

/// The application, for the owner while it is editable.
fn editable_by_owner(
    conn: &mut DbConnection,
    user: &Actor,
    id: &ApplicationId,
) -> Result<ApplicationRow, ServiceError> {
    rows::find_visible(conn, id, &visibility(user))?.ok_or_else(not_found)?;
    let row = rows::find_for_update(conn, id)?.ok_or_else(not_found)?;
    if actor(user, &row) != Party::Owner {
        return Err(ServiceError::Forbidden(
            "Seul le porteur de projet gère les pièces de sa candidature.".into(),
        ));
    }
    let st = row.state;
    if !st.is_editable() {
        let mut extra = serde_json::Map::new();
        extra.insert("current_state".into(), json!(st));
        return Err(ServiceError::Conflict {
            message: format!("{} : ses pièces ne peuvent plus changer.", st.sentence_fr()),
            extra,
        });
    }
    Ok(row)
}

/// Where a document goes: the application's own pieces (its owner, while it is editable), or
/// the final report's annexes (the beneficiary, while they write the report).
#[derive(Debug, Clone)]
pub enum Holder {
    Application(ApplicationId),
    ReportAnnexes(crate::domain::ids::GrantId),
}

/// The application whose documents `user` may change through `holder`, locked.
fn holder_row(
    conn: &mut DbConnection,
    user: &Actor,
    holder: &Holder,
) -> Result<ApplicationRow, ServiceError> {
    match holder {
        Holder::Application(id) => editable_by_owner(conn, user, id),
        Holder::ReportAnnexes(grant_id) => {
            use crate::domain::grant::GrantParty;
            let grant = crate::services::grant_view::reachable(conn, user, grant_id)?;
            if crate::services::grant_view::party(user, &grant) != GrantParty::Beneficiary {
                return Err(ServiceError::Forbidden(
                    "Seul le bénéficiaire joint les annexes de son compte rendu.".into(),
                ));
            }
            if !grant.state.takes_report() {
                let mut extra = serde_json::Map::new();
                extra.insert("current_state".into(), json!(grant.state));
                return Err(ServiceError::Conflict {
                    message: format!(
                        "Le financement est {} : les annexes du compte rendu ne changent pas maintenant.",
                        grant.state.label_fr()
                    ),
                    extra,
                });
            }
            rows::find_for_update(conn, &grant.application_id)?.ok_or_else(not_found)
        }
    }
}

/// Where a face's reader of the form puts the file, and what it may weigh: the face reads
/// the form (`input::multipart::read_document`) once the service has said the caller may
/// upload here, so an unauthorised upload is refused before a byte is read.
pub struct UploadLimits {
    pub tmp_dir: PathBuf,
    pub max_bytes: u64,
    pub sniff_bytes: usize,
}

pub async fn upload<R, F>(
    state: &AppState,
    user: &Actor,
    application_id: ApplicationId,
    read: R,
) -> Result<Document, ServiceError>
where
    R: FnOnce(UploadLimits) -> F,
    F: Future<Output = Result<ReceivedFile, ServiceError>>,
{
    upload_to(state, user, Holder::Application(application_id), read).await
}

/// `POST /grants/{id}/report/annexes`: an annex of the final report (`kind` `report_annex`).
pub async fn upload_report_annex<R, F>(
    state: &AppState,
    user: &Actor,
    grant: GrantId,
    read: R,
) -> Result<Document, ServiceError>
where
    R: FnOnce(UploadLimits) -> F,
    F: Future<Output = Result<ReceivedFile, ServiceError>>,
{
    upload_to(state, user, Holder::ReportAnnexes(grant), read).await
}

async fn upload_to<R, F>(
    state: &AppState,
    user: &Actor,
    holder: Holder,
    read: R,
) -> Result<Document, ServiceError>
where
    R: FnOnce(UploadLimits) -> F,
    F: Future<Output = Result<ReceivedFile, ServiceError>>,
{
    // Refuse early (before reading a byte) when the caller may not upload here.
    {
        let (user, holder) = (user.clone(), holder.clone());
        state
            .db
            .run(move |conn| holder_row(conn, &user, &holder).map(|_| ()))
            .await?;
    }
    let tmp_dir = temporary_dir(&state.settings);
    std::fs::create_dir_all(&tmp_dir).map_err(|e| ServiceError::Internal(e.into()))?;
    let received = check_received(
        read(UploadLimits {
            tmp_dir,
            max_bytes: state.settings.uploads.max_bytes,
            sniff_bytes: SNIFF_BYTES,
        })
        .await?,
    )?;
    if matches!(received.ext, "docx" | "xlsx" | "odt" | "ods") {
        let path = received.temp.path.clone();
        actix_web::web::block(move || inspect_archive(&path))
            .await
            .map_err(|e| ServiceError::Internal(anyhow::anyhow!("blocking task failed: {e}")))??;
    }
    let user = user.clone();
    let max_documents = state.settings.uploads.max_documents_per_application;
    let uploads = state.settings.uploads_dir();
    let now = state.clock.now();
    let (document, legacy) = state
        .db
        .transaction(move |conn| {
            let row = holder_row(conn, &user, &holder)?;
            match &holder {
                Holder::Application(_) => {
                    let call = calls::find(conn, &row.call_id)?
                        .ok_or_else(crate::services::calls::not_found)?;
                    let allowed: Vec<String> =
                        call.documents()?.into_iter().map(|d| d.key).collect();
                    if received.kind != OTHER_DOCUMENT_KIND && !allowed.contains(&received.kind) {
                        return Err(bad(
                            "kind",
                            &format!(
                                "type de pièce « {} » inconnu ; types possibles : {}, {OTHER_DOCUMENT_KIND}",
                                received.kind,
                                allowed.join(", ")
                            ),
                        ));
                    }
                }
                Holder::ReportAnnexes(_) if received.kind != REPORT_ANNEX_KIND => {
                    return Err(bad(
                        "kind",
                        &format!(
                            "les annexes du compte rendu sont de type « {REPORT_ANNEX_KIND} », pas « {} »",
                            received.kind
                        ),
                    ));
                }
                Holder::ReportAnnexes(_) => {}
            }
            // A second document of a required kind replaces the first (one per kind, what the
            // pages show and the screening reads); annexes (`annexe`, the report's) add up.
            let replaced: Vec<DocumentRow> = if matches!(
                received.kind.as_str(),
                OTHER_DOCUMENT_KIND | REPORT_ANNEX_KIND
            ) {
                Vec::new()
            } else {
                documents::list(conn, row.id.as_str())?
                    .into_iter()
                    .filter(|d| d.kind == received.kind)
                    .collect()
            };
            for old in &replaced {
                documents::delete(conn, &old.id)?;
            }
            // Counted under the application's row lock (find_for_update): concurrent uploads
            // cannot pass the limit together.
            if documents::count(conn, row.id.as_str())? >= i64::from(max_documents) {
                return Err(ServiceError::conflict(format!(
                    "La candidature compte déjà {max_documents} pièces, le maximum : supprimez-en \
                     une avant d'en joindre une autre."
                )));
            }
            let doc = DocumentRow {
                id: DocumentId::new(),
                application_id: row.id.clone(),
                kind: received.kind.clone(),
                filename: received.filename.clone(),
                content_type: received.content_type.to_owned(),
                size_bytes: received.size as i64,
                sha256: received.sha256.clone(),
                uploaded_by: user.id.clone(),
                uploaded_at: now,
            };
            documents::insert(conn, &doc)?;
            store_content(conn, &doc.id, &received.temp.path)?;
            record_event(
                conn,
                &row.id,
                &user.id,
                HistoryAction::UploadDocument,
                None,
                None,
                json!({"document_id": doc.id, "kind": doc.kind, "filename": doc.filename, "sha256": doc.sha256, "type": received.ext}),
                now,
            )?;
            for old in &replaced {
                record_event(
                    conn,
                    &row.id,
                    &user.id,
                    HistoryAction::DeleteDocument,
                    None,
                    None,
                    json!({"document_id": old.id, "kind": old.kind, "filename": old.filename, "replaced_by": doc.id}),
                    now,
                )?;
            }
            let legacy: Vec<PathBuf> = replaced
                .iter()
                .map(|old| legacy_path(&uploads, &row.id, &old.id))
                .collect();
            Ok((Document::from(doc), legacy))
        })
        .await?;
    // Replaced documents from before contents moved into the database may have a file.
    for path in legacy {
        if let Err(e) = std::fs::remove_file(&path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %path.display(), error = %e, "replaced document's file remains");
        }
    }
    Ok(document)
}

/// Copies the received file into `document_chunks`, one chunk at a time.
fn store_content(
    conn: &mut DbConnection,
    document_id: &DocumentId,
    path: &Path,
) -> Result<(), ServiceError> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).map_err(|e| ServiceError::Internal(e.into()))?;
    let mut buf = vec![0u8; documents::CHUNK_BYTES];
    let mut seq = 0;
    loop {
        // Fill the buffer (a read may return less than asked before the end of the file).
        let mut filled = 0;
        while filled < buf.len() {
            match file
                .read(&mut buf[filled..])
                .map_err(|e| ServiceError::Internal(e.into()))?
            {
                0 => break,
                n => filled += n,
            }
        }
        if filled == 0 {
            return Ok(());
        }
        documents::insert_chunk(conn, document_id, seq, &buf[..filled])?;
        seq += 1;
        if filled < buf.len() {
            return Ok(());
        }
    }
}

pub async fn list(
    state: &AppState,
    user: &Actor,
    application_id: ApplicationId,
) -> Result<Vec<Document>, ServiceError> {
    let user = user.clone();
    state
        .db
        .run(move |conn| {
            let row = load_readable(conn, &user, &application_id)?;
            list_in(conn, &user, &row)
        })
        .await
}

/// The documents of `row` that `user` may read (`load_readable`), on the caller's connection.
pub fn list_in(
    conn: &mut DbConnection,
    user: &Actor,
    row: &ApplicationRow,
) -> Result<Vec<Document>, ServiceError> {
    let reader = audience(user, row)?;
    Ok(documents::list(conn, row.id.as_str())?
        .into_iter()
        .filter(|d| reader.reads_document(&d.kind))
        .map(Document::from)
        .collect())
}

/// Where a document's content is.
#[derive(Debug, Clone)]
pub enum Content {
    /// In `document_chunks`, this many chunks.
    Chunks { document_id: DocumentId, count: i64 },
    /// On this instance's disk (received before contents moved into the database).
    LegacyFile(PathBuf),
}

pub async fn open(
    state: &AppState,
    user: &Actor,
    application_id: ApplicationId,
    document_id: DocumentId,
) -> Result<(Document, Content), ServiceError> {
    let user = user.clone();
    let uploads = state.settings.uploads_dir();
    state
        .db
        .run(move |conn| {
            let row = load_readable(conn, &user, &application_id)?;
            let reader = audience(&user, &row)?;
            // A document its reader may not see (a reviewer and the RIB) does not exist for them.
            let doc = documents::find(conn, &row.id, &document_id)?
                .filter(|d| reader.reads_document(&d.kind))
                .ok_or_else(document_not_found)?;
            let count = documents::chunk_count(conn, &doc.id)?;
            let content = if count > 0 {
                Content::Chunks {
                    document_id: doc.id.clone(),
                    count,
                }
            } else {
                Content::LegacyFile(legacy_path(&uploads, &row.id, &doc.id))
            };
            Ok((Document::from(doc), content))
        })
        .await
}

/// One chunk of a document's content, for a download in progress.
pub async fn read_chunk(
    state: &AppState,
    document_id: DocumentId,
    seq: i32,
) -> Result<Vec<u8>, ServiceError> {
    state
        .db
        .run(move |conn| {
            documents::chunk(conn, &document_id, seq)?.ok_or_else(|| {
                ServiceError::not_found("Cette pièce a été supprimée pendant son téléchargement.")
            })
        })
        .await
}

pub async fn delete(
    state: &AppState,
    user: &Actor,
    application_id: ApplicationId,
    document_id: DocumentId,
) -> Result<(), ServiceError> {
    delete_from(
        state,
        user,
        Holder::Application(application_id),
        document_id,
    )
    .await
}

/// `DELETE /grants/{id}/report/annexes/{doc_id}`: an annex of the report, while it is written.
pub async fn delete_report_annex(
    state: &AppState,
    user: &Actor,
    grant: GrantId,
    document_id: DocumentId,
) -> Result<(), ServiceError> {
    delete_from(state, user, Holder::ReportAnnexes(grant), document_id).await
}

async fn delete_from(
    state: &AppState,
    user: &Actor,
    holder: Holder,
    document_id: DocumentId,
) -> Result<(), ServiceError> {
    let user = user.clone();
    let uploads = state.settings.uploads_dir();
    let now = state.clock.now();
    let path = state
        .db
        .transaction(move |conn| {
            let row = holder_row(conn, &user, &holder)?;
            // Each holder deletes its own: the report's annexes, or the application's pieces.
            let doc = documents::find(conn, &row.id, &document_id)?
                .filter(|d| {
                    (d.kind == REPORT_ANNEX_KIND) == matches!(holder, Holder::ReportAnnexes(_))
                })
                .ok_or_else(document_not_found)?;
            documents::delete(conn, &doc.id)?;
            record_event(
                conn,
                &row.id,
                &user.id,
                HistoryAction::DeleteDocument,
                None,
                None,
                json!({"document_id": doc.id, "kind": doc.kind, "filename": doc.filename}),
                now,
            )?;
            Ok(legacy_path(&uploads, &row.id, &doc.id))
        })
        .await?;
    // The chunks went with the row (ON DELETE CASCADE); a document from before that may have
    // a file on disk.
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            tracing::warn!(path = %path.display(), error = %e, "document row deleted but its file remains");
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::sanitize_filename as s;

    #[test]
    fn filenames_are_sanitised() {
        let cases = [
            ("statuts.pdf", "statuts.pdf"),
            ("../../etc/passwd", "passwd"),
            ("C:\\Users\\moi\\budget 2027.xlsx", "budget 2027.xlsx"),
            ("..", "document.pdf"),
            ("", "document.pdf"),
            ("relevé d'identité.pdf", "relevé d'identité.pdf"),
            (
                "Statuts « L'Œuvre » n°2 & co.pdf",
                "Statuts « L'Œuvre » n°2 & co.pdf",
            ),
            ("a\u{0}b\nc.pdf", "abc.pdf"),
            ("facture\u{202E}fdp.exe", "facturefdp.exe"),
            (".hidden.pdf", "hidden.pdf"),
            ("<script>.pdf", "<script>.pdf"),
        ];
        for (raw, expected) in cases {
            assert_eq!(s(raw, "pdf"), expected, "{raw:?}");
        }
        assert_eq!(s(&"a".repeat(500), "pdf").chars().count(), 150);
    }
}

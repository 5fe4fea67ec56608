//! The one file of a multipart form, read whole within a size limit: a face reads it, a
//! service gets bytes.

use futures_util::StreamExt;

use crate::error::ServiceError;

/// The one `file` field of a multipart form (`what` it is, in French, for the refusal of any
/// other field), bounded by `uploads.max_bytes`.
pub async fn read_file_field(
    mut form: actix_multipart::Multipart,
    max_bytes: u64,
    what: &str,
) -> Result<Option<Vec<u8>>, ServiceError> {
    let mut file: Option<Vec<u8>> = None;
    while let Some(field) = form.next().await {
        let mut field = field.map_err(|e| {
            ServiceError::BadInput(format!("Formulaire multipart illisible : {e}."))
        })?;
        if field.name() != Some("file") {
            return Err(ServiceError::invalid_field(
                field.name().filter(|n| !n.is_empty()).unwrap_or("corps"),
                format!("champ inattendu : le formulaire ne contient que « file », {what}"),
            ));
        }
        if file.is_some() {
            return Err(ServiceError::invalid_field(
                "file",
                "un seul fichier par envoi",
            ));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk =
                chunk.map_err(|e| ServiceError::BadInput(format!("Envoi interrompu : {e}.")))?;
            if (bytes.len() + chunk.len()) as u64 > max_bytes {
                return Err(ServiceError::TooLarge(format!(
                    "Le fichier dépasse la taille autorisée ({} Mo au plus).",
                    max_bytes / (1024 * 1024)
                )));
            }
            bytes.extend_from_slice(&chunk);
        }
        file = Some(bytes);
    }
    Ok(file)
}

/// A file being received, on disk; removed on drop (a refused or failed upload leaves
/// nothing; a kept one is copied into the database first).
#[derive(Debug)]
pub struct TempFile {
    pub path: std::path::PathBuf,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A document's form as a face received it: its `kind`, the name the sender gave the file,
/// and the file streamed to disk with its size, its SHA-256 and its first bytes (what its
/// type is read from). Nothing here is judged but the form's shape and the size: the service
/// checks the bytes (`services::documents`).
#[derive(Debug)]
pub struct ReceivedFile {
    pub kind: String,
    pub original_name: String,
    pub temp: TempFile,
    pub size: u64,
    pub sha256: String,
    /// The first `sniff_bytes` of the content.
    pub head: Vec<u8>,
}

/// Reads a document's form — a `kind` text field and one `file` field — streaming the file
/// into `tmp_dir` while counting it (refused past `max_bytes`) and hashing it.
pub async fn read_document(
    mut form: actix_multipart::Multipart,
    tmp_dir: std::path::PathBuf,
    max_bytes: u64,
    sniff_bytes: usize,
) -> Result<ReceivedFile, ServiceError> {
    use sha2::{Digest, Sha256};
    use std::io::Write;

    let bad = |field: &str, msg: &str| ServiceError::invalid_field(field, msg);
    let mut kind: Option<String> = None;
    let mut file: Option<(String, TempFile, u64, String, Vec<u8>)> = None;
    while let Some(field) = form.next().await {
        let mut field = field.map_err(|e| {
            ServiceError::BadInput(format!("Formulaire multipart illisible : {e}."))
        })?;
        let name = field.name().unwrap_or("").to_owned();
        match name.as_str() {
            "kind" => {
                let mut value = Vec::new();
                while let Some(chunk) = field.next().await {
                    let chunk = chunk.map_err(|e| {
                        ServiceError::BadInput(format!("Formulaire illisible : {e}."))
                    })?;
                    value.extend_from_slice(&chunk);
                    if value.len() > 100 {
                        return Err(bad("kind", "type de pièce trop long"));
                    }
                }
                let value =
                    String::from_utf8(value).map_err(|_| bad("kind", "type de pièce illisible"))?;
                crate::domain::text::check(&value, crate::domain::text::Lines::Single)
                    .map_err(|e| bad("kind", &e.to_string()))?;
                kind = Some(value);
            }
            "file" => {
                if file.is_some() {
                    return Err(bad("file", "un seul fichier par envoi"));
                }
                let original = field
                    .content_disposition()
                    .and_then(|cd| cd.get_filename())
                    .unwrap_or("")
                    .to_owned();
                let path = tmp_dir.join(uuid::Uuid::now_v7().to_string());
                let temp = TempFile { path: path.clone() };
                let mut out =
                    std::fs::File::create(&path).map_err(|e| ServiceError::Internal(e.into()))?;
                let mut hasher = Sha256::new();
                let mut size: u64 = 0;
                let mut head = Vec::new();
                while let Some(chunk) = field.next().await {
                    let chunk = chunk
                        .map_err(|e| ServiceError::BadInput(format!("Envoi interrompu : {e}.")))?;
                    size += chunk.len() as u64;
                    if size > max_bytes {
                        return Err(ServiceError::TooLarge(format!(
                            "Le fichier dépasse la taille autorisée ({} Mo au plus).",
                            max_bytes / (1024 * 1024)
                        )));
                    }
                    if head.len() < sniff_bytes {
                        let take = (sniff_bytes - head.len()).min(chunk.len());
                        head.extend_from_slice(&chunk[..take]);
                    }
                    hasher.update(&chunk);
                    // Small synchronous writes of chunks already in memory; the upload size
                    // is bounded by uploads.max_bytes.
                    out.write_all(&chunk)
                        .map_err(|e| ServiceError::Internal(e.into()))?;
                }
                out.sync_all()
                    .map_err(|e| ServiceError::Internal(e.into()))?;
                let digest = hasher.finalize();
                let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
                file = Some((original, temp, size, hex, head));
            }
            other => {
                return Err(bad(
                    if other.is_empty() { "corps" } else { other },
                    "champ inattendu : le formulaire contient « kind » et « file »",
                ));
            }
        }
    }
    let kind = kind.ok_or_else(|| bad("kind", "indiquez le type de pièce (champ « kind »)"))?;
    let (original_name, temp, size, sha256, head) =
        file.ok_or_else(|| bad("file", "joignez un fichier (champ « file »)"))?;
    Ok(ReceivedFile {
        kind,
        original_name,
        temp,
        size,
        sha256,
        head,
    })
}

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

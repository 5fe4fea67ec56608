//! data.gouv.fr (DESIGN.md §17): the call's SCDL file uploaded as the configured dataset's
//! resource (`POST /datasets/{dataset}/resources/{resource}/upload/`, multipart `file`, the
//! account's `X-API-KEY`). The key is a `SecretString`: it leaves this module only in the
//! header, and is never logged.

use std::time::Duration;

use futures_util::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};

use crate::config::OpenDataSettings;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenDataError {
    #[error("data.gouv.fr n'a pas répondu dans les {0} s")]
    Timeout(u64),
    #[error("data.gouv.fr est injoignable")]
    Unreachable,
    #[error(
        "data.gouv.fr refuse la clé d'API configurée (HTTP {0}) : vérifiez APP__OPEN_DATA__API_KEY"
    )]
    Refused(u16),
    #[error("data.gouv.fr ne connaît pas le jeu de données ou la ressource configurés (HTTP 404)")]
    UnknownResource,
    #[error("data.gouv.fr a refusé le fichier (HTTP {status}) : {message}")]
    Rejected { status: u16, message: String },
}

/// What data.gouv.fr says of the resource once the file is uploaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The resource's public URL, when the answer gives it.
    pub url: Option<String>,
}

pub trait OpenData: Send + Sync {
    fn upload(
        &self,
        file_name: String,
        bytes: Vec<u8>,
    ) -> BoxFuture<'_, Result<Published, OpenDataError>>;
    /// The dataset and resource written to, as the audit names them.
    fn target(&self) -> String;
}

pub struct DataGouv {
    client: reqwest::Client,
    upload_url: url::Url,
    key: SecretString,
    dataset_id: String,
    resource_id: String,
}

const TIMEOUT: Duration = Duration::from_secs(30);

impl DataGouv {
    pub fn new(settings: &OpenDataSettings, essor_url: &str) -> anyhow::Result<Self> {
        let base = settings.api_url.trim().trim_end_matches('/');
        let dataset = settings.dataset_id.trim();
        let resource = settings.resource_id.trim();
        let upload_url = url::Url::parse(&format!(
            "{base}/datasets/{dataset}/resources/{resource}/upload/"
        ))?;
        let key = settings
            .api_key
            .clone()
            .ok_or_else(|| anyhow::anyhow!("open_data.api_key is required"))?;
        Ok(Self {
            client: super::http_client(TIMEOUT, &super::user_agent(essor_url))?,
            upload_url,
            key,
            dataset_id: dataset.to_owned(),
            resource_id: resource.to_owned(),
        })
    }
}

impl OpenData for DataGouv {
    fn upload(
        &self,
        file_name: String,
        bytes: Vec<u8>,
    ) -> BoxFuture<'_, Result<Published, OpenDataError>> {
        Box::pin(async move {
            let part = reqwest::multipart::Part::bytes(bytes)
                .file_name(file_name)
                .mime_str("text/csv")
                .map_err(|_| OpenDataError::Unreachable)?;
            let form = reqwest::multipart::Form::new().part("file", part);
            let answer = self
                .client
                .post(self.upload_url.clone())
                .header("X-API-KEY", self.key.expose_secret())
                .multipart(form)
                .send()
                .await
                .map_err(|e| {
                    if e.is_timeout() {
                        OpenDataError::Timeout(TIMEOUT.as_secs())
                    } else {
                        tracing::warn!(error = %e.without_url(), "data.gouv.fr unreachable");
                        OpenDataError::Unreachable
                    }
                })?;
            let status = answer.status().as_u16();
            let body: serde_json::Value = answer.json().await.unwrap_or(serde_json::Value::Null);
            match status {
                200..=299 => Ok(Published {
                    url: body
                        .get("url")
                        .or_else(|| body.get("latest"))
                        .and_then(|u| u.as_str())
                        .map(str::to_owned),
                }),
                401 | 403 => Err(OpenDataError::Refused(status)),
                404 => Err(OpenDataError::UnknownResource),
                _ => Err(OpenDataError::Rejected {
                    status,
                    message: body
                        .get("message")
                        .and_then(|m| m.as_str())
                        .unwrap_or("sans explication")
                        .chars()
                        .take(300)
                        .collect(),
                }),
            }
        })
    }

    fn target(&self) -> String {
        format!(
            "dataset {} / resource {}",
            self.dataset_id, self.resource_id
        )
    }
}

//! The API Recherche d'entreprises (recherche-entreprises.api.gouv.fr): one search by SIRET,
//! its answer returned as the register's own text (kept as evidence, read by
//! `domain::registry`). At most `requests_per_second` from one instance; a 429 is honoured
//! (its `Retry-After` waited once when it is short, otherwise the lookup fails fast until
//! then); every request times out after `timeout_ms`.

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::config::RegistrySettings;
use crate::domain::identifiers::Siret;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("le registre des entreprises n'a pas répondu dans les {0} ms")]
    Timeout(u64),
    #[error("le registre des entreprises est injoignable")]
    Unreachable,
    #[error("le registre des entreprises a répondu par une erreur (HTTP {0})")]
    Status(u16),
    #[error("le registre des entreprises demande d'attendre {0} s avant de l'interroger")]
    Throttled(u64),
}

/// The register, as the services see it.
pub trait Registry: Send + Sync {
    /// The register's answer to a search of this SIRET, as its text.
    fn search(&self, siret: &Siret) -> BoxFuture<'_, Result<String, RegistryError>>;
    /// Where the answers come from, as the evidence names it.
    fn source(&self) -> String;
}

/// The register over HTTP.
pub struct HttpRegistry {
    client: reqwest::Client,
    search_url: url::Url,
    timeout_ms: u64,
    per_second: usize,
    pace: Mutex<Pace>,
}

#[derive(Default)]
struct Pace {
    /// When the last requests left, at most `per_second` of them.
    sent: VecDeque<Instant>,
    /// A 429's `Retry-After`: no request before then.
    blocked_until: Option<Instant>,
}

impl HttpRegistry {
    pub fn new(settings: &RegistrySettings, essor_url: &str) -> anyhow::Result<Self> {
        let base = settings.base_url.trim().trim_end_matches('/');
        let search_url = url::Url::parse(&format!("{base}/search"))?;
        Ok(Self {
            client: super::http_client(
                Duration::from_millis(settings.timeout_ms),
                &super::user_agent(essor_url),
            )?,
            search_url,
            timeout_ms: settings.timeout_ms,
            per_second: settings.requests_per_second.max(1) as usize,
            pace: Mutex::new(Pace::default()),
        })
    }

    /// Waits for a slot in the second's budget; refuses at once while a long `Retry-After`
    /// runs (waiting longer than a request's own timeout would only hold the submission).
    async fn take_slot(&self) -> Result<(), RegistryError> {
        let mut pace = self.pace.lock().await;
        if let Some(until) = pace.blocked_until {
            let now = Instant::now();
            if until > now {
                let wait = until - now;
                if wait > Duration::from_millis(self.timeout_ms) {
                    return Err(RegistryError::Throttled(wait.as_secs().max(1)));
                }
                tokio::time::sleep(wait).await;
            }
            pace.blocked_until = None;
        }
        loop {
            let now = Instant::now();
            while pace
                .sent
                .front()
                .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
            {
                pace.sent.pop_front();
            }
            if pace.sent.len() < self.per_second {
                pace.sent.push_back(now);
                return Ok(());
            }
            let oldest = pace.sent[0];
            tokio::time::sleep_until(oldest + Duration::from_secs(1)).await;
        }
    }

    async fn block_for(&self, seconds: u64) {
        self.pace.lock().await.blocked_until = Some(Instant::now() + Duration::from_secs(seconds));
    }

    async fn search_once(&self, siret: &Siret) -> Result<Result<String, u64>, RegistryError> {
        self.take_slot().await?;
        let answer = self
            .client
            .get(self.search_url.clone())
            .query(&[("q", siret.as_str()), ("page", "1"), ("per_page", "5")])
            .send()
            .await
            .map_err(|e| self.transport_error(&e))?;
        let status = answer.status();
        if status.as_u16() == 429 {
            let wait = answer
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(1);
            return Ok(Err(wait));
        }
        if !status.is_success() {
            return Err(RegistryError::Status(status.as_u16()));
        }
        let text = answer.text().await.map_err(|e| self.transport_error(&e))?;
        Ok(Ok(text))
    }

    fn transport_error(&self, e: &reqwest::Error) -> RegistryError {
        if e.is_timeout() {
            RegistryError::Timeout(self.timeout_ms)
        } else {
            tracing::warn!(error = %e, "registry unreachable");
            RegistryError::Unreachable
        }
    }
}

impl Registry for HttpRegistry {
    fn search(&self, siret: &Siret) -> BoxFuture<'_, Result<String, RegistryError>> {
        let siret = siret.clone();
        Box::pin(async move {
            match self.search_once(&siret).await? {
                Ok(text) => Ok(text),
                // A short wait is waited once; a long one is remembered and refused.
                Err(wait) if wait * 1000 <= self.timeout_ms => {
                    self.block_for(wait).await;
                    match self.search_once(&siret).await? {
                        Ok(text) => Ok(text),
                        Err(wait) => {
                            self.block_for(wait).await;
                            Err(RegistryError::Throttled(wait))
                        }
                    }
                }
                Err(wait) => {
                    self.block_for(wait).await;
                    Err(RegistryError::Throttled(wait))
                }
            }
        })
    }

    fn source(&self) -> String {
        self.search_url.to_string()
    }
}

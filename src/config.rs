//! Settings, layered as DESIGN.md §2 says: `config/default.toml`, then
//! `config/<APP_ENV>.toml` if present, then `APP__SECTION__KEY` environment variables, then
//! `DATABASE_URL`. `Settings::validate` refuses a configuration the server cannot run with,
//! so a mistake shows at start-up with a message rather than at the first request.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

pub use crate::secrets::DEVELOPMENT_JWT_SECRET;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Development,
    Test,
    Production,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Development => "development",
            Self::Test => "test",
            Self::Production => "production",
        }
    }
}

impl std::str::FromStr for Environment {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "development" | "dev" | "local" => Ok(Self::Development),
            "test" => Ok(Self::Test),
            "production" | "prod" => Ok(Self::Production),
            other => Err(ConfigError::Invalid(format!(
                "APP_ENV={other:?}: expected development, test or production"
            ))),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    #[serde(skip, default = "default_env")]
    pub env: Environment,
    pub data_dir: PathBuf,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub mail: MailSettings,
    pub uploads: UploadSettings,
    pub frontend: FrontendSettings,
    pub authority: AuthoritySettings,
    #[serde(default)]
    pub web: WebSettings,
    /// How long personal data are kept (RGPD; `domain::retention`, docs/running.md « Données
    /// personnelles »).
    #[serde(default)]
    pub retention: crate::domain::retention::RetentionPolicy,
    /// The audit trail's signing key (DESIGN.md §18, `services::audit`).
    #[serde(default)]
    pub audit: AuditSettings,
    /// The companies' register (DESIGN.md §17, `gateways::registry`): off while its URL is empty.
    #[serde(default)]
    pub registry: RegistrySettings,
    /// Publication of the SCDL file on data.gouv.fr (§17, `gateways::open_data`): off while
    /// its URL is empty.
    #[serde(default)]
    pub open_data: OpenDataSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrySettings {
    /// The API Recherche d'entreprises (`https://recherche-entreprises.api.gouv.fr`,
    /// `APP__REGISTRY__BASE_URL`); empty: no lookups and no evidence at submission.
    #[serde(default)]
    pub base_url: String,
    /// At most this many requests a second from one instance (the API allows 7).
    #[serde(default = "default_registry_rate")]
    pub requests_per_second: u32,
    #[serde(default = "default_registry_timeout")]
    pub timeout_ms: u64,
    /// How long an answer is reused, shared by the instances through the database.
    #[serde(default = "default_registry_cache")]
    pub cache_seconds: i64,
}

fn default_registry_rate() -> u32 {
    5
}
fn default_registry_timeout() -> u64 {
    3000
}
fn default_registry_cache() -> i64 {
    86_400
}

impl Default for RegistrySettings {
    fn default() -> Self {
        Self {
            base_url: String::new(),
            requests_per_second: default_registry_rate(),
            timeout_ms: default_registry_timeout(),
            cache_seconds: default_registry_cache(),
        }
    }
}

#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenDataSettings {
    /// data.gouv.fr's API (`https://www.data.gouv.fr/api/1`, `APP__OPEN_DATA__API_URL`); empty:
    /// no publication.
    #[serde(default)]
    pub api_url: String,
    /// The `X-API-KEY` of the account that owns the dataset; `Debug` never prints it.
    #[serde(default)]
    pub api_key: Option<SecretString>,
    #[serde(default)]
    pub dataset_id: String,
    #[serde(default)]
    pub resource_id: String,
}

impl std::fmt::Debug for OpenDataSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenDataSettings")
            .field("api_url", &self.api_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "[REDACTED]"))
            .field("dataset_id", &self.dataset_id)
            .field("resource_id", &self.resource_id)
            .finish()
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSettings {
    /// The Ed25519 key (PKCS#8 PEM) that signs the checkpoints (`APP__AUDIT__SIGNING_KEY_FILE`,
    /// made by `essor audit init-key FILE`). Unset: `audit-signing-key.pem` under the data
    /// directory, made at first start — refused in production.
    pub signing_key_file: Option<PathBuf>,
}

fn default_env() -> Environment {
    Environment::Development
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    pub workers: usize,
    /// Threads of each worker's blocking pool, where database calls run; 0 = as many as the
    /// pooled connections a worker may use, plus two (see `startup`).
    #[serde(default)]
    pub blocking_threads: usize,
    #[serde(default)]
    pub cors_origins: Vec<String>,
    pub shutdown_timeout_seconds: u64,
    /// Addresses or networks (CIDR) of the reverse proxies / load balancers in front of the
    /// service: only from them is `X-Forwarded-For` believed (see `auth::client_ip`).
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
}

#[derive(Clone, Deserialize)]
pub struct DatabaseSettings {
    /// May hold a password: `Debug` shows it redacted.
    pub url: String,
    pub pool_size: u32,
    pub connect_timeout_seconds: u64,
}

impl std::fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("url", &crate::db::redact(&self.url))
            .field("pool_size", &self.pool_size)
            .field("connect_timeout_seconds", &self.connect_timeout_seconds)
            .finish()
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    /// Signs the tokens; `Debug` never prints it (`secrecy`).
    pub jwt_secret: SecretString,
    pub token_ttl_seconds: i64,
    pub issuer: String,
    pub audience: String,
    /// Failed sign-ins on one account within `throttle_window_seconds` before it is throttled.
    pub failures_per_account: u32,
    /// Failed sign-ins from one client address within the window before it is throttled: high,
    /// since a whole office may share one address.
    pub failures_per_address: u32,
    pub throttle_window_seconds: u64,
    /// Registrations, verification and reset mail requests from one address per hour.
    pub account_requests_per_address_per_hour: u32,
    /// Threads that hash and verify passwords (argon2id), apart from the database's pool.
    pub password_threads: usize,
    /// Signing in with ProConnect (DESIGN.md §17): off while its discovery URL is empty.
    #[serde(default)]
    pub proconnect: ProConnectSettings,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProConnectSettings {
    /// The provider's discovery document, e.g.
    /// `https://auth.agentconnect.gouv.fr/api/v2/.well-known/openid-configuration`
    /// (`APP__AUTH__PROCONNECT__DISCOVERY_URL`); empty: no ProConnect.
    #[serde(default)]
    pub discovery_url: String,
    #[serde(default)]
    pub client_id: String,
    /// `Debug` never prints it.
    #[serde(default)]
    pub client_secret: Option<SecretString>,
    /// The authentication level every sign-in asks (`claims` parameter).
    #[serde(default = "default_acr")]
    pub acr: String,
    /// A stronger level (an MFA one) required to record a decision or a payment; unset: none.
    #[serde(default)]
    pub decision_acr: Option<String>,
    /// The SIRENs staff and admins may sign in from (the MEL's by default).
    #[serde(default = "default_staff_sirens")]
    pub staff_sirens: Vec<String>,
    /// Whether applicants may sign in with ProConnect too.
    #[serde(default)]
    pub applicants: bool,
}

fn default_acr() -> String {
    "eidas1".into()
}

fn default_staff_sirens() -> Vec<String> {
    vec!["200093201".into()]
}

impl Default for ProConnectSettings {
    fn default() -> Self {
        Self {
            discovery_url: String::new(),
            client_id: String::new(),
            client_secret: None,
            acr: default_acr(),
            decision_acr: None,
            staff_sirens: default_staff_sirens(),
            applicants: false,
        }
    }
}

impl std::fmt::Debug for ProConnectSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProConnectSettings")
            .field("discovery_url", &self.discovery_url)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[REDACTED]"),
            )
            .field("acr", &self.acr)
            .field("decision_acr", &self.decision_acr)
            .field("staff_sirens", &self.staff_sirens)
            .field("applicants", &self.applicants)
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailTransportKind {
    File,
    Smtp,
    Memory,
}

#[derive(Clone, Deserialize)]
pub struct MailSettings {
    pub transport: MailTransportKind,
    /// May hold the relay's credentials: `Debug` shows it redacted.
    pub smtp_url: String,
    pub from: String,
    /// Comma-separated in the environment; see `staff_address_list`.
    pub staff_addresses: String,
    pub max_attempts: u32,
    pub retry_base_seconds: u64,
    pub retry_max_seconds: u64,
    pub templates_dir: String,
    /// How often an idle delivery worker looks for due messages.
    #[serde(default = "default_poll_interval_ms")]
    pub poll_interval_ms: u64,
    /// Messages one worker claims at a time (and sends concurrently).
    #[serde(default = "default_batch_size")]
    pub batch_size: u32,
    /// How long a claim holds a message; past it, another instance may take the message over
    /// (its holder is presumed dead). Must exceed `send_timeout_seconds`.
    #[serde(default = "default_lease_seconds")]
    pub lease_seconds: u64,
    /// Longest a single delivery may take (connection, TLS, SMTP dialogue).
    #[serde(default = "default_send_timeout_seconds")]
    pub send_timeout_seconds: u64,
}

fn default_poll_interval_ms() -> u64 {
    1000
}

fn default_batch_size() -> u32 {
    20
}

fn default_lease_seconds() -> u64 {
    300
}

fn default_send_timeout_seconds() -> u64 {
    60
}

impl std::fmt::Debug for MailSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailSettings")
            .field("transport", &self.transport)
            .field("smtp_url", &crate::db::redact(&self.smtp_url))
            .field("from", &self.from)
            .field("staff_addresses", &self.staff_addresses)
            .field("max_attempts", &self.max_attempts)
            .field("retry_base_seconds", &self.retry_base_seconds)
            .field("retry_max_seconds", &self.retry_max_seconds)
            .field("templates_dir", &self.templates_dir)
            .field("poll_interval_ms", &self.poll_interval_ms)
            .field("batch_size", &self.batch_size)
            .field("lease_seconds", &self.lease_seconds)
            .field("send_timeout_seconds", &self.send_timeout_seconds)
            .finish()
    }
}

impl MailSettings {
    /// Said at start-up (WARN) and in `/health/ready` when no staff address is set: the mails
    /// meant for the agents (a new submission, a recusal, all reviews in) then go nowhere.
    pub fn staff_mail_warning(&self) -> Option<String> {
        self.staff_address_list().is_empty().then(|| {
            "Aucune adresse d'agent configurée (APP__MAIL__STAFF_ADDRESSES est vide) : les \
             courriels destinés aux agents (dépôt d'une candidature, récusation d'un évaluateur, \
             évaluations complètes) ne partent vers personne."
                .to_owned()
        })
    }

    pub fn staff_address_list(&self) -> Vec<String> {
        self.staff_addresses
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct UploadSettings {
    pub max_bytes: u64,
    /// Documents one application may hold (a call asks for 30 at most, plus annexes).
    #[serde(default = "default_max_documents")]
    pub max_documents_per_application: u32,
    /// How often each instance removes the temporary files of uploads killed mid-way (those
    /// older than 15 minutes), besides at start-up.
    #[serde(default = "default_sweep_interval")]
    pub sweep_interval_seconds: u64,
}

fn default_max_documents() -> u32 {
    50
}

fn default_sweep_interval() -> u64 {
    300
}

#[derive(Debug, Clone, Deserialize)]
pub struct FrontendSettings {
    pub base_url: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuthoritySettings {
    pub name: String,
    pub siret: String,
    pub grant_scheme: String,
    /// A logo file (SVG, PNG or JPEG) shown in the pages' header; empty: the embedded one.
    #[serde(default)]
    pub logo: String,
    /// The pages' main colour, `#rrggbb`; white text on it must reach the AA contrast ratio.
    #[serde(default = "default_authority_color")]
    pub color: String,
    /// The postal address on the letters' header, one line each.
    #[serde(default = "default_authority_address")]
    pub address: Vec<String>,
    /// Where the letters are « fait à ».
    #[serde(default = "default_authority_city")]
    pub city: String,
    /// Who signs the letters: the elected official or the agent with delegation, and their
    /// quality (« Pour le Président et par délégation, … »).
    #[serde(default)]
    pub signatory_name: String,
    #[serde(default = "default_signatory_quality")]
    pub signatory_quality: String,
    /// A directory whose letter templates (`.typ`) override the embedded ones, file by file
    /// (empty: embedded only). Checked at start-up: a broken override stops the server.
    #[serde(default)]
    pub letters_templates_dir: String,
}

fn default_authority_address() -> Vec<String> {
    vec![
        "2 boulevard des Cités Unies".into(),
        "CS 70043".into(),
        "59040 Lille Cedex".into(),
    ]
}

fn default_authority_city() -> String {
    "Lille".into()
}

fn default_signatory_quality() -> String {
    "Le Président de la Métropole Européenne de Lille".into()
}

fn default_authority_color() -> String {
    "#1d4f91".into()
}

/// The web pages (DESIGN.md §13): sessions and their cookie.
#[derive(Debug, Clone, Deserialize)]
pub struct WebSettings {
    /// A session unused this long ends (minutes).
    #[serde(default = "default_idle_minutes")]
    pub session_idle_minutes: i64,
    /// A session ends this long after sign-in whatever its use (hours).
    #[serde(default = "default_absolute_hours")]
    pub session_absolute_hours: i64,
    /// `Secure` on the cookies; unset: on in production only.
    #[serde(default)]
    pub secure_cookies: Option<bool>,
    /// A directory whose page templates override the embedded ones (empty: embedded only).
    #[serde(default)]
    pub templates_dir: String,
}

fn default_idle_minutes() -> i64 {
    60
}

fn default_absolute_hours() -> i64 {
    12
}

impl Default for WebSettings {
    fn default() -> Self {
        Self {
            session_idle_minutes: default_idle_minutes(),
            session_absolute_hours: default_absolute_hours(),
            secure_cookies: None,
            templates_dir: String::new(),
        }
    }
}

impl Settings {
    /// In development, the mailed links' base URL (`APP__FRONTEND__BASE_URL`) should reach this
    /// server: a port changed without it breaks every link silently. Says why when it does not
    /// (host or port differ); `None` when it does, or outside development.
    pub fn base_url_warning(&self) -> Option<String> {
        if self.env != Environment::Development {
            return None;
        }
        let url = url::Url::parse(&self.frontend.base_url).ok()?;
        let local = |h: &str| {
            matches!(
                h.trim_matches(['[', ']']),
                "localhost" | "127.0.0.1" | "0.0.0.0" | "::1" | "::"
            )
        };
        let host = url.host_str().unwrap_or("");
        let server = self.server.host.as_str();
        let same_host = host == server || (local(host) && local(server));
        let same_port = url.port_or_known_default() == Some(self.server.port);
        (!(same_host && same_port)).then(|| {
            format!(
                "APP__FRONTEND__BASE_URL is {} but the server listens on {}:{}: the links in mails \
                 will not reach it; set APP__FRONTEND__BASE_URL=http://localhost:{}",
                self.frontend.base_url, self.server.host, self.server.port, self.server.port
            )
        })
    }

    /// Loads the layered configuration from `./config` and the process environment.
    pub fn load() -> Result<Self, ConfigError> {
        Self::load_from(Path::new("config"), std::env::vars().collect())
    }

    /// Same as `load`, with the directory and the environment given, so tests need not
    /// touch the process environment.
    pub fn load_from(
        config_dir: &Path,
        vars: HashMap<String, String>,
    ) -> Result<Self, ConfigError> {
        let app_env: Environment = vars
            .get("APP_ENV")
            .map(|s| s.parse())
            .transpose()?
            .unwrap_or(Environment::Development);
        let database_url = vars
            .get("DATABASE_URL")
            .filter(|s| !s.trim().is_empty())
            .cloned();

        let builder = config::Config::builder()
            // The defaults are compiled in, so the binary runs from any directory; an on-disk
            // config/default.toml still overrides them.
            .add_source(config::File::from_str(
                include_str!("../config/default.toml"),
                config::FileFormat::Toml,
            ))
            .add_source(
                config::File::from(config_dir.join("default.toml"))
                    .format(config::FileFormat::Toml)
                    .required(false),
            )
            .add_source(
                config::File::from(config_dir.join(format!("{}.toml", app_env.as_str())))
                    .format(config::FileFormat::Toml)
                    .required(false),
            )
            .add_source(
                config::Environment::with_prefix("APP")
                    .prefix_separator("__")
                    .separator("__")
                    .list_separator(",")
                    .with_list_parse_key("server.cors_origins")
                    .with_list_parse_key("server.trusted_proxies")
                    .with_list_parse_key("auth.proconnect.staff_sirens")
                    .try_parsing(true)
                    .source(Some(vars)),
            );
        let builder = match database_url {
            Some(url) => builder.set_override("database.url", url)?,
            None => builder,
        };
        let mut settings: Settings = builder.build()?.try_deserialize()?;
        settings.env = app_env;
        settings.validate()?;
        Ok(settings)
    }

    /// Refuses settings the service cannot run with, naming the key to fix.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |msg: String| Err(ConfigError::Invalid(msg));
        crate::db::DatabaseKind::from_url(&self.database.url)
            .map_err(|e| ConfigError::Invalid(format!("DATABASE_URL: {e}")))?;
        self.retention.validate().map_err(ConfigError::Invalid)?;
        if self.database.pool_size == 0 {
            return invalid("database.pool_size must be at least 1".into());
        }
        if self.auth.token_ttl_seconds <= 0 {
            return invalid("auth.token_ttl_seconds must be positive".into());
        }
        if self.auth.issuer.trim().is_empty() || self.auth.audience.trim().is_empty() {
            return invalid("auth.issuer and auth.audience must not be empty".into());
        }
        let jwt_secret = self.auth.jwt_secret.expose_secret();
        if self.env == Environment::Production
            && let Some(why) = crate::secrets::weakness(jwt_secret)
        {
            return invalid(format!("APP__AUTH__JWT_SECRET {why}"));
        }
        if jwt_secret.is_empty() {
            return invalid("APP__AUTH__JWT_SECRET must not be empty".into());
        }
        if self.auth.failures_per_account == 0
            || self.auth.failures_per_address == 0
            || self.auth.account_requests_per_address_per_hour == 0
            || self.auth.throttle_window_seconds == 0
        {
            return invalid(
                "auth.failures_per_account, auth.failures_per_address, \
                 auth.account_requests_per_address_per_hour and auth.throttle_window_seconds \
                 must be at least 1"
                    .into(),
            );
        }
        if self.auth.password_threads == 0 || self.auth.password_threads > 64 {
            return invalid("auth.password_threads must be between 1 and 64".into());
        }
        if let Err(e) = crate::trusted_proxies::TrustedProxies::parse(&self.server.trusted_proxies)
        {
            return invalid(format!("server.trusted_proxies: {e}"));
        }
        if self.web.session_idle_minutes <= 0 || self.web.session_absolute_hours <= 0 {
            return invalid(
                "web.session_idle_minutes and web.session_absolute_hours must be positive".into(),
            );
        }
        if let Err(e) = check_brand_color(&self.authority.color) {
            return invalid(format!("APP__AUTHORITY__COLOR: {e}"));
        }
        if self.uploads.max_bytes == 0 {
            return invalid("uploads.max_bytes must be positive".into());
        }
        if self.uploads.sweep_interval_seconds == 0 {
            return invalid("uploads.sweep_interval_seconds must be at least 1".into());
        }
        if self.uploads.max_documents_per_application == 0 {
            return invalid("uploads.max_documents_per_application must be at least 1".into());
        }
        if self.mail.max_attempts == 0 {
            return invalid("mail.max_attempts must be at least 1".into());
        }
        if self.mail.retry_base_seconds == 0
            || self.mail.retry_max_seconds < self.mail.retry_base_seconds
        {
            return invalid(
                "mail.retry_base_seconds must be positive and not above mail.retry_max_seconds"
                    .into(),
            );
        }
        if self.mail.poll_interval_ms < 10 {
            return invalid("mail.poll_interval_ms must be at least 10".into());
        }
        let r = &self.registry;
        if !r.base_url.trim().is_empty() {
            url::Url::parse(r.base_url.trim()).map_err(|e| {
                ConfigError::Invalid(format!("registry.base_url is not a URL: {e}"))
            })?;
            if r.requests_per_second == 0 || r.timeout_ms == 0 || r.cache_seconds < 0 {
                return invalid(
                    "registry: requests_per_second and timeout_ms must be at least 1, cache_seconds at least 0".into(),
                );
            }
        }
        let p = &self.auth.proconnect;
        if !p.discovery_url.trim().is_empty() {
            url::Url::parse(p.discovery_url.trim()).map_err(|e| {
                ConfigError::Invalid(format!("auth.proconnect.discovery_url is not a URL: {e}"))
            })?;
            if p.client_id.trim().is_empty() || p.client_secret.is_none() {
                return invalid(
                    "auth.proconnect: with discovery_url set, client_id and client_secret are required".into(),
                );
            }
            if p.staff_sirens
                .iter()
                .any(|s| s.len() != 9 || !s.bytes().all(|b| b.is_ascii_digit()))
            {
                return invalid("auth.proconnect.staff_sirens: SIRENs of 9 digits".into());
            }
        }
        let o = &self.open_data;
        if !o.api_url.trim().is_empty() {
            url::Url::parse(o.api_url.trim()).map_err(|e| {
                ConfigError::Invalid(format!("open_data.api_url is not a URL: {e}"))
            })?;
            if o.dataset_id.trim().is_empty()
                || o.resource_id.trim().is_empty()
                || o.api_key.is_none()
            {
                return invalid(
                    "open_data: with api_url set, api_key, dataset_id and resource_id are required"
                        .into(),
                );
            }
        }
        if self.mail.batch_size == 0 || self.mail.batch_size > 1000 {
            return invalid("mail.batch_size must be between 1 and 1000".into());
        }
        if self.mail.send_timeout_seconds == 0
            || self.mail.lease_seconds <= self.mail.send_timeout_seconds
        {
            return invalid(
                "mail.send_timeout_seconds must be positive and below mail.lease_seconds".into(),
            );
        }
        if self.mail.from.parse::<lettre::message::Mailbox>().is_err() {
            return invalid(format!(
                "mail.from {:?} is not an email address",
                self.mail.from
            ));
        }
        for addr in self.mail.staff_address_list() {
            if addr.parse::<lettre::Address>().is_err() {
                return invalid(format!(
                    "mail.staff_addresses: {addr:?} is not an email address"
                ));
            }
        }
        if self.mail.transport == MailTransportKind::Smtp {
            let url = url::Url::parse(&self.mail.smtp_url)
                .map_err(|e| ConfigError::Invalid(format!("mail.smtp_url: {e}")))?;
            if !matches!(url.scheme(), "smtp" | "smtps") {
                return invalid("mail.smtp_url must start with smtp:// or smtps://".into());
            }
            if url.host_str().is_none_or(str::is_empty) {
                return invalid("mail.smtp_url names no host".into());
            }
            for (key, value) in url.query_pairs() {
                match (key.as_ref(), value.as_ref()) {
                    ("tls", "required" | "opportunistic") if url.scheme() == "smtp" => {}
                    _ => {
                        return invalid(format!(
                            "mail.smtp_url: unknown parameter {key}={value} (smtp:// accepts \
                             tls=required or tls=opportunistic; smtps:// none)"
                        ));
                    }
                }
            }
        }
        if url::Url::parse(&self.frontend.base_url).is_err() {
            return invalid(format!(
                "frontend.base_url {:?} is not an absolute URL",
                self.frontend.base_url
            ));
        }
        // The SCDL « subventions » export publishes these: `idAttribuant` is 14 digits.
        if self.authority.name.trim().is_empty() {
            return invalid("authority.name must not be empty".into());
        }
        let siret = &self.authority.siret;
        if !(siret.len() == 14 && crate::domain::identifiers::Siret::parse(siret).is_ok()) {
            return invalid(format!(
                "authority.siret {siret:?} is not a SIRET (14 digits with a valid key)"
            ));
        }
        for origin in &self.server.cors_origins {
            match url::Url::parse(origin) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                _ => return invalid(format!("server.cors_origins: {origin:?} is not an origin")),
            }
        }
        Ok(())
    }

    pub fn mail_dir(&self) -> PathBuf {
        self.data_dir.join("mail")
    }

    /// `Secure` cookies: as configured, else in production only.
    pub fn secure_cookies(&self) -> bool {
        self.web
            .secure_cookies
            .unwrap_or(self.env == Environment::Production)
    }

    pub fn uploads_dir(&self) -> PathBuf {
        self.data_dir.join("uploads")
    }
}

/// The pages' brand colour (`authority.color`) carries white text in the header and on
/// buttons, so it must be `#rrggbb` and dark enough.
pub fn parse_hex(color: &str) -> Result<[u8; 3], String> {
    let hex = color
        .strip_prefix('#')
        .filter(|h| h.len() == 6 && h.chars().all(|c| c.is_ascii_hexdigit()))
        .ok_or_else(|| format!("{color:?} is not a colour of the form #rrggbb"))?;
    let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|e| e.to_string());
    Ok([byte(0)?, byte(2)?, byte(4)?])
}

/// WCAG 2.1 relative luminance.
fn luminance([r, g, b]: [u8; 3]) -> f64 {
    let channel = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
}

/// Contrast ratio of white text on this colour.
pub fn contrast_with_white(color: [u8; 3]) -> f64 {
    1.05 / (luminance(color) + 0.05)
}

/// The brand colour carries white text (header, buttons): it must reach AA (4.5:1).
pub fn check_brand_color(color: &str) -> Result<(), String> {
    let rgb = parse_hex(color)?;
    let ratio = contrast_with_white(rgb);
    if ratio < 4.5 {
        return Err(format!(
            "white text on {color} has a contrast ratio of {ratio:.2}:1, under the 4.5:1 that \
             accessibility (RGAA, WCAG AA) requires; choose a darker colour"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn brand_colour_must_carry_white_text() {
        // (colour, accepted?)
        let cases = [
            ("#1d4f91", true),
            ("#000000", true),
            ("#e2001a", true),
            ("#ffcc00", false),
            ("#ffffff", false),
            ("1d4f91", false),
            ("#1d4f9", false),
            ("#1d4f9g", false),
        ];
        for (color, ok) in cases {
            assert_eq!(check_brand_color(color).is_ok(), ok, "{color}");
        }
        assert!((contrast_with_white([0, 0, 0]) - 21.0).abs() < 1e-9);
    }

    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        Settings::load_from(&dir, map)
    }

    #[test]
    fn a_base_url_that_is_not_the_server_is_warned_about_in_development() {
        let warned = |vars: &[(&str, &str)]| load(vars).unwrap().base_url_warning();
        // The defaults agree (localhost:8080 for 127.0.0.1:8080).
        assert_eq!(warned(&[]), None);
        // The port changed without the base URL: every mailed link would miss.
        let w = warned(&[("APP__SERVER__PORT", "3000")]).expect("a warning");
        assert!(
            w.contains("APP__FRONTEND__BASE_URL") && w.contains("3000"),
            "{w}"
        );
        assert!(warned(&[("APP__FRONTEND__BASE_URL", "http://exemple.fr:8080")]).is_some());
        assert_eq!(
            warned(&[
                ("APP__SERVER__PORT", "3000"),
                ("APP__FRONTEND__BASE_URL", "http://127.0.0.1:3000/")
            ]),
            None
        );
        // Outside development (behind a proxy) a public base URL is expected to differ.
        assert_eq!(
            warned(&[("APP_ENV", "test"), ("APP__SERVER__PORT", "3000")]),
            None
        );
    }

    #[test]
    fn defaults_are_the_embedded_sqlite_setup() {
        let s = load(&[]).unwrap();
        assert_eq!(s.env, Environment::Development);
        assert_eq!(s.server.host, "127.0.0.1");
        assert_eq!(s.server.port, 8080);
        assert_eq!(s.database.url, "sqlite://./data/essor.db");
        assert_eq!(s.mail.transport, MailTransportKind::File);
        assert_eq!(s.uploads.max_bytes, 10_485_760);
        assert_eq!(s.mail.max_attempts, 10);
        assert!(s.server.cors_origins.is_empty());
        // The file's [retention] section says what the code's defaults say.
        assert_eq!(
            s.retention,
            crate::domain::retention::RetentionPolicy::default()
        );
    }

    #[test]
    fn environment_variables_override_files() {
        let s = load(&[
            ("APP__SERVER__PORT", "0"),
            (
                "APP__SERVER__CORS_ORIGINS",
                "https://a.example,https://b.example",
            ),
            ("DATABASE_URL", "postgres://u@localhost/essor"),
            ("APP__MAIL__STAFF_ADDRESSES", "a@mel.fr, b@mel.fr"),
        ])
        .unwrap();
        assert_eq!(s.server.port, 0);
        assert_eq!(
            s.server.cors_origins,
            vec!["https://a.example", "https://b.example"]
        );
        assert_eq!(s.database.url, "postgres://u@localhost/essor");
        assert_eq!(s.mail.staff_address_list(), vec!["a@mel.fr", "b@mel.fr"]);
        let s = load(&[("APP__AUTHORITY__SIRET", "73282932000074")]).unwrap();
        assert_eq!(s.authority.siret, "73282932000074");
    }

    #[test]
    fn invalid_settings_are_refused_with_the_key_named() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("DATABASE_URL", "mysql://x")], "DATABASE_URL"),
            (&[("APP__SERVER__PORT", "99999")], "port"),
            (&[("APP__MAIL__TRANSPORT", "pigeon")], "transport"),
            (&[("APP__MAIL__FROM", "not an address")], "mail.from"),
            (&[("APP__SERVER__CORS_ORIGINS", "nope")], "cors_origins"),
            (&[("APP__UPLOADS__MAX_BYTES", "0")], "max_bytes"),
            (
                &[("APP__UPLOADS__MAX_DOCUMENTS_PER_APPLICATION", "0")],
                "max_documents_per_application",
            ),
            (&[("APP__MAIL__MAX_ATTEMPTS", "0")], "mail.max_attempts"),
            (
                &[("APP__MAIL__RETRY_BASE_SECONDS", "0")],
                "retry_base_seconds",
            ),
            (&[("APP__MAIL__LEASE_SECONDS", "30")], "lease_seconds"),
            (&[("APP__MAIL__BATCH_SIZE", "0")], "batch_size"),
            (
                &[("APP__RETENTION__DRAFT_WARNING_DAYS", "400")],
                "retention.draft_warning_days",
            ),
            (
                &[("APP__RETENTION__APPEAL_MONTHS", "1")],
                "retention.appeal_months",
            ),
            (
                &[
                    ("APP__MAIL__TRANSPORT", "smtp"),
                    ("APP__MAIL__SMTP_URL", "http://relay.example"),
                ],
                "smtp_url",
            ),
            (
                &[
                    ("APP__MAIL__TRANSPORT", "smtp"),
                    ("APP__MAIL__SMTP_URL", "smtp://relay.example:587?tls=maybe"),
                ],
                "smtp_url",
            ),
            (&[("APP_ENV", "staging")], "APP_ENV"),
            (
                &[("APP__AUTHORITY__SIRET", "200 093 201 00016")],
                "authority.siret",
            ),
            (
                &[("APP__AUTHORITY__SIRET", "20009320100017")],
                "authority.siret",
            ),
            (&[("APP__AUTHORITY__NAME", " ")], "authority.name"),
            (&[("APP_ENV", "production")], "JWT_SECRET"),
            (
                &[
                    ("APP_ENV", "production"),
                    ("APP__AUTH__JWT_SECRET", "short-secret"),
                ],
                "32 bytes",
            ),
            (
                &[
                    ("APP_ENV", "production"),
                    (
                        "APP__AUTH__JWT_SECRET",
                        "change-me-to-32-random-bytes-or-more!!",
                    ),
                ],
                "published",
            ),
            (
                &[
                    ("APP_ENV", "production"),
                    ("APP__AUTH__JWT_SECRET", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
                ],
                "repeated",
            ),
        ];
        for (vars, needle) in cases {
            let err = load(vars).expect_err(needle).to_string();
            assert!(err.contains(needle), "{vars:?}: {err}");
        }
    }

    #[test]
    fn production_accepts_a_long_secret() {
        let s = load(&[
            ("APP_ENV", "production"),
            ("APP__AUTH__JWT_SECRET", PRODUCTION_SECRET),
        ])
        .unwrap();
        assert_eq!(s.env, Environment::Production);
        assert_eq!(s.server.host, "0.0.0.0");
    }

    // Made for this test only (`openssl rand -base64 32`); a test secret, never deployed.
    const PRODUCTION_SECRET: &str = "Zk3pV9qL0xR2mT7wB4nH8jC1sF6gD5aE3uY0iO9vK2c=";

    #[test]
    fn debug_never_prints_secrets() {
        let s = load(&[
            ("APP_ENV", "production"),
            ("APP__AUTH__JWT_SECRET", PRODUCTION_SECRET),
            (
                "DATABASE_URL",
                "postgres://essor:db-pass-1234@db.internal/essor",
            ),
            ("APP__MAIL__TRANSPORT", "smtp"),
            (
                "APP__MAIL__SMTP_URL",
                "smtp://relay:smtp-pass-5678@relay.internal:587?tls=required",
            ),
        ])
        .unwrap();
        let shown = format!("{s:?} {s:#?}");
        for secret in [PRODUCTION_SECRET, "db-pass-1234", "smtp-pass-5678"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("db.internal") && shown.contains("relay.internal"));
    }
}

//! What every handler can reach: the database, the settings and the services built from them.

use std::sync::Arc;

use crate::auth::TokenService;
use crate::auth::password_pool::PasswordPool;
use crate::clock::Clock;
use crate::config::Settings;
use crate::db::Db;
use crate::gateways::open_data::{DataGouv, OpenData};
use crate::gateways::proconnect::ProConnect;
use crate::gateways::registry::{HttpRegistry, Registry};
use crate::letters::{Authority, Letters};
use crate::notify::Notifier;
use crate::trusted_proxies::TrustedProxies;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub tokens: Arc<TokenService>,
    /// Hashes and verifies passwords on its own threads (not the database's).
    pub passwords: PasswordPool,
    /// Whose `X-Forwarded-For` is believed (`auth::client_ip`).
    pub trusted_proxies: Arc<TrustedProxies>,
    /// Renders and queues the mails of application events (inside the caller's transaction).
    pub notifier: Arc<Notifier>,
    /// What « now » is for the services: the wall clock, or a set clock in tests and the demo
    /// seed (`clock.rs`). Set it with `with_clock`, so the notifier reads the same one.
    pub clock: Clock,
    /// Writes the letters (PDF) of decisions and grants (`letters`).
    pub letters: Letters,
    /// The companies' register, when `registry.base_url` is set (DESIGN.md §17).
    pub registry: Option<Arc<dyn Registry>>,
    /// data.gouv.fr, when `open_data.api_url` is set (§17).
    pub open_data: Option<Arc<dyn OpenData>>,
    /// ProConnect, when `auth.proconnect.discovery_url` is set (§17).
    pub proconnect: Option<Arc<ProConnect>>,
}

impl AppState {
    /// Fails when the mail templates cannot be loaded (a broken override directory).
    pub fn new(db: Db, settings: Settings) -> anyhow::Result<Self> {
        Self::with_clock(db, settings, Clock::system())
    }

    /// `new`, with the services and the notifier reading `clock`.
    pub fn with_clock(db: Db, settings: Settings, clock: Clock) -> anyhow::Result<Self> {
        let tokens = Arc::new(TokenService::new(&settings.auth));
        let passwords = PasswordPool::new(settings.auth.password_threads);
        let trusted_proxies = Arc::new(
            TrustedProxies::parse(&settings.server.trusted_proxies)
                .map_err(|e| anyhow::anyhow!("server.trusted_proxies: {e}"))?,
        );
        let notifier = Arc::new(Notifier::new(&settings)?.with_clock(clock.clone()));
        let letters = Letters::new(
            authority_of(&settings),
            &settings.authority.letters_templates_dir,
            &settings.authority.logo,
        )?;
        crate::gateways::install_crypto_provider();
        let base_url = settings.frontend.base_url.clone();
        let registry: Option<Arc<dyn Registry>> = if settings.registry.base_url.trim().is_empty() {
            None
        } else {
            Some(Arc::new(HttpRegistry::new(&settings.registry, &base_url)?))
        };
        let open_data: Option<Arc<dyn OpenData>> = if settings.open_data.api_url.trim().is_empty() {
            None
        } else {
            Some(Arc::new(DataGouv::new(&settings.open_data, &base_url)?))
        };
        let proconnect = if settings.auth.proconnect.discovery_url.trim().is_empty() {
            None
        } else {
            Some(Arc::new(ProConnect::new(
                &settings.auth.proconnect,
                &base_url,
            )?))
        };
        Ok(Self {
            proconnect,
            registry,
            open_data,
            db,
            settings: Arc::new(settings),
            tokens,
            passwords,
            trusted_proxies,
            notifier,
            clock,
            letters,
        })
    }
}

/// The letters' authority, from `[authority]`.
pub fn authority_of(settings: &Settings) -> Authority {
    let a = &settings.authority;
    Authority {
        name: a.name.clone(),
        address: a.address.clone(),
        city: a.city.clone(),
        signatory_name: a.signatory_name.clone(),
        signatory_quality: a.signatory_quality.clone(),
        grant_scheme: a.grant_scheme.clone(),
    }
}

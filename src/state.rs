//! What every handler can reach: the database, the settings and the services built from them.

use std::sync::Arc;
use std::time::Duration;

use crate::auth::TokenService;
use crate::auth::rate_limit::RateLimiter;
use crate::config::Settings;
use crate::db::Db;
use crate::notify::Notifier;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub tokens: Arc<TokenService>,
    pub login_limiter: Arc<RateLimiter>,
    /// Renders and queues the mails of application events (inside the caller's transaction).
    pub notifier: Arc<Notifier>,
}

impl AppState {
    /// Fails when the mail templates cannot be loaded (a broken override directory).
    pub fn new(db: Db, settings: Settings) -> anyhow::Result<Self> {
        let tokens = Arc::new(TokenService::new(&settings.auth));
        let login_limiter = Arc::new(RateLimiter::new(
            settings.auth.rate_limit_per_minute,
            Duration::from_secs(60),
        ));
        let notifier = Arc::new(Notifier::new(&settings)?);
        Ok(Self {
            db,
            settings: Arc::new(settings),
            tokens,
            login_limiter,
            notifier,
        })
    }
}

//! The State's services essor talks to over HTTP (DESIGN.md §17): the companies' register and
//! data.gouv.fr. Each is behind a small trait so the services can be run against a local fake
//! in tests; each is optional by configuration, and essor runs the same without it.

pub mod open_data;
pub mod proconnect;
pub mod registry;

use std::sync::Once;
use std::time::Duration;

/// essor's User-Agent on the State's APIs: they ask callers to say who they are.
pub fn user_agent(base_url: &str) -> String {
    format!(
        "essor/{} (Métropole Européenne de Lille; {})",
        env!("CARGO_PKG_VERSION"),
        base_url.trim_end_matches('/')
    )
}

/// Makes ring rustls' process-wide provider (the one lettre already builds): reqwest is built
/// without one, so that aws-lc-rs and its C toolchain stay out. Called when the state is
/// built, before any client.
pub fn install_crypto_provider() {
    static PROVIDER: Once = Once::new();
    PROVIDER.call_once(|| {
        // Another part of the process may have installed one first: that one is kept.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// An HTTPS client on rustls with the ring provider.
pub fn http_client(timeout: Duration, user_agent: &str) -> anyhow::Result<reqwest::Client> {
    install_crypto_provider();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(user_agent)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| anyhow::anyhow!("cannot build the HTTP client: {e}"))
}

//! Logging: JSON lines in production (one object per event, with the request's span and its
//! `request_id`), compact human-readable lines elsewhere. `RUST_LOG` overrides the level.

use tracing_subscriber::{EnvFilter, fmt};

use crate::config::Environment;

pub fn init(env: Environment) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,actix_server=warn"));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // try_init: tests build many applications in one process; only the first installs it.
    let _ = match env {
        Environment::Production => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        _ => builder.compact().try_init(),
    };
}

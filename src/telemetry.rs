//! Logging: JSON lines in production (one object per event, with the request's span and its
//! `request_id`), compact human-readable lines elsewhere. `RUST_LOG` overrides the level.

use tracing_subscriber::{EnvFilter, fmt};

use actix_web::HttpMessage;

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

/// The request log's root span: tracing-actix-web's fields, with `http.client_ip` by the one
/// rule of `auth::client_ip` (the default takes `X-Forwarded-For` from anyone, so a client could
/// write any address into the log).
pub struct RequestSpan;

impl tracing_actix_web::RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &actix_web::dev::ServiceRequest) -> tracing::Span {
        let client_ip = crate::auth::client_ip::client_ip_of_service_request(request);
        let route = request.match_pattern().unwrap_or_else(|| "default".into());
        let request_id = request
            .extensions()
            .get::<tracing_actix_web::RequestId>()
            .map(|id| id.to_string())
            .unwrap_or_default();
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %route,
            http.client_ip = %client_ip,
            http.target = %request.uri().path_and_query().map(|p| p.as_str()).unwrap_or(""),
            http.user_agent = %request
                .headers()
                .get("user-agent")
                .and_then(|h| h.to_str().ok())
                .unwrap_or(""),
            http.status_code = tracing::field::Empty,
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            request_id = %request_id,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        )
    }

    fn on_request_end<B: actix_web::body::MessageBody>(
        span: tracing::Span,
        outcome: &Result<actix_web::dev::ServiceResponse<B>, actix_web::Error>,
    ) {
        tracing_actix_web::DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

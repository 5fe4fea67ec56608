//! Logging: JSON lines in production (one object per event, with the request's span and its
//! `request_id`), compact human-readable lines elsewhere. `RUST_LOG` overrides the level.

use tracing_subscriber::{EnvFilter, fmt};

use actix_web::HttpMessage;

use crate::config::Environment;

pub fn init(env: Environment) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,actix_server=warn"));
    // Colours only on a terminal: a log written to a file or a pipe stays plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
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
        request
            .extensions_mut()
            .insert(Started(std::time::Instant::now()));
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
        let duration_ms = match outcome {
            Ok(response) => response
                .request()
                .extensions()
                .get::<Started>()
                .map(|s| s.0.elapsed().as_secs_f64() * 1000.0),
            Err(_) => None,
        };
        let failed = match outcome {
            Ok(response) => response.response().error().map(|e| (response.status(), e)),
            Err(e) => Some((e.as_response_error().status_code(), e)),
        };
        match failed {
            // The default would record the error's `Debug` in `exception.details`: a refused
            // submission's whole eligibility report on every log line of the request.
            Some((status, error)) => log_failure(&span, status, error, duration_ms),
            None => {
                if let Ok(response) = outcome {
                    let status = response.status().as_u16();
                    // One line per request: method, route, status, duration, request id (the
                    // span's fields).
                    span.in_scope(|| {
                        tracing::info!(
                            status,
                            duration_ms = duration_ms.unwrap_or_default(),
                            "request"
                        );
                    });
                }
                tracing_actix_web::DefaultRootSpanBuilder::on_request_end(span, outcome)
            }
        }
    }
}

/// When the request began (for the duration on its log line).
struct Started(std::time::Instant);

/// One event per failed request, in the request's span: a refusal (4xx) is the client's
/// business and logged at INFO with its reason in a few words (a refused submission: the
/// criteria's codes, not its report); a failure (5xx) is ours, at ERROR (its cause was logged
/// where it happened, with the request id).
fn log_failure(
    span: &tracing::Span,
    status: actix_web::http::StatusCode,
    error: &actix_web::Error,
    duration_ms: Option<f64>,
) {
    let reason = match error.as_error::<crate::error::AppError>() {
        Some(app) => app.log_reason(),
        None => error.to_string(),
    };
    let code = status.as_u16();
    span.record("http.status_code", i32::from(code));
    span.record("exception.message", tracing::field::display(&reason));
    span.record(
        "otel.status_code",
        if status.is_server_error() {
            "ERROR"
        } else {
            "OK"
        },
    );
    span.in_scope(|| {
        if status.is_server_error() {
            tracing::error!(status = code, duration_ms = duration_ms.unwrap_or_default(), reason = %reason, "request failed");
        } else {
            tracing::info!(status = code, duration_ms = duration_ms.unwrap_or_default(), reason = %reason, "request refused");
        }
    });
}

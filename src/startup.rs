//! `Application::build(settings)`: everything `main` and the tests share — the database pool
//! and its migrations, the bound listener, the HTTP server with its middleware, and the mail
//! delivery worker that runs beside it.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_cors::Cors;
use actix_web::dev::{Server, Service};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{App, HttpMessage, HttpServer, web};
use tracing_actix_web::{RequestId, TracingLogger};
use utoipa_actix_web::AppExt;

use crate::api;
use crate::api::meta::SpecJson;
use crate::config::Settings;
use crate::db::{Db, redact};
use crate::notify::{DeliveryWorker, MemoryMailbox, Transport, WorkerStop};
use crate::openapi::ApiDoc;
use crate::state::AppState;

pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
    worker: DeliveryWorker,
}

impl Application {
    /// Connects to the database, applies migrations, binds the listener and builds the
    /// server (not yet running: `run_until_stopped` drives it).
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, crate::clock::Clock::system()).await
    }

    /// `build`, with the services reading `clock` (a set clock in tests that move time).
    pub async fn build_with_clock(
        settings: Settings,
        clock: crate::clock::Clock,
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&settings.data_dir).map_err(|e| {
            anyhow::anyhow!(
                "cannot create the data directory {}: {e}",
                settings.data_dir.display()
            )
        })?;
        let db = Db::connect(
            &settings.database.url,
            settings.database.pool_size,
            Duration::from_secs(settings.database.connect_timeout_seconds),
        )?;
        let migrator = db.clone();
        let applied = web::block(move || migrator.migrate()).await??;
        tracing::info!(
            database = %redact(&settings.database.url),
            applied = applied.len(),
            "database ready"
        );

        // The audit trail's signing key: production refuses to start without its file; in
        // development one is made under the data directory.
        let audit_key = crate::services::audit::signing_key(&settings)?;
        tracing::info!(
            public_key = %crate::domain::audit_chain::to_hex(audit_key.verifying_key().as_bytes()),
            "audit signing key loaded"
        );

        // Temporary upload files a crash left behind (contents live in the database).
        let tmp = crate::services::documents::temporary_dir(&settings);
        match crate::services::documents::sweep_temporary_files(&tmp) {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, dir = %tmp.display(), "stale upload files swept"),
            Err(e) => tracing::warn!(error = %e, dir = %tmp.display(), "cannot sweep upload files"),
        }

        let listener = TcpListener::bind((settings.server.host.as_str(), settings.server.port))
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot listen on {}:{}: {e}",
                    settings.server.host,
                    settings.server.port
                )
            })?;
        let port = listener.local_addr()?.port();
        tracing::info!(address = %format!("http://{}:{port}", settings.server.host), "listening");

        let transport = Arc::new(Transport::from_settings(&settings)?);
        let worker =
            DeliveryWorker::new(db.clone(), &settings, transport)?.with_clock(clock.clone());
        tracing::info!(
            transport = worker.transport().name(),
            instance = worker.instance(),
            "mail delivery configured"
        );
        if let Some(warning) = settings.mail.staff_mail_warning() {
            tracing::warn!(setting = "mail.staff_addresses", "{warning}");
        }
        let state = AppState::with_clock(db, settings, clock)?;
        // A configured logo or overriding letter template is rendered once now: one Typst
        // cannot read stops the start with its message, not the first decision with a 500.
        let a = &state.settings.authority;
        if !a.logo.trim().is_empty() || !a.letters_templates_dir.trim().is_empty() {
            state
                .letters
                .check()
                .map_err(|e| anyhow::anyhow!("authority (letters): {e}"))?;
        }
        let server = build_server(listener, state.clone())?;
        Ok(Self {
            port,
            server,
            state,
            worker,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The mails kept by the `memory` transport (tests); `None` for the other transports.
    pub fn mailbox(&self) -> Option<MemoryMailbox> {
        self.worker.transport().mailbox()
    }

    /// The name this instance's delivery worker writes in `outbox.locked_by`.
    pub fn mail_instance(&self) -> &str {
        self.worker.instance()
    }

    /// Stops the mail delivery worker without stopping the server (tests, before they drop
    /// their database). `run_until_stopped` does it on shutdown.
    pub fn mail_stopper(&self) -> WorkerStop {
        self.worker.stopper()
    }

    /// Serves until SIGTERM/SIGINT (actix stops accepting, lets in-flight requests finish
    /// within `server.shutdown_timeout_seconds`, then returns). The mail delivery worker runs
    /// alongside and stops after the server, once the messages in hand are settled.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let stop = self.worker.stopper();
        let worker = tokio::spawn(self.worker.run());
        // The daily retention job (RGPD): every instance ticks, one at a time runs it.
        let retention = self.state.settings.retention.job_enabled.then(|| {
            tokio::spawn(
                crate::services::retention::RetentionJob::from_state(&self.state).run_forever(),
            )
        });
        // The grants' reminders (an unsigned convention): every instance looks, each goes once.
        let reminders = tokio::spawn(crate::services::reminders::run_forever(self.state.clone()));
        // Temporary files of uploads killed mid-way, swept while the server runs.
        let sweep = tokio::spawn(crate::services::documents::sweep_periodically(
            crate::services::documents::temporary_dir(&self.state.settings),
            std::time::Duration::from_secs(self.state.settings.uploads.sweep_interval_seconds),
        ));
        // The register's evidence it could not give at submission, asked again daily (§17).
        let registry =
            self.state.registry.is_some().then(|| {
                tokio::spawn(crate::services::registry::retry_forever(self.state.clone()))
            });
        let result = self.server.await;
        if let Some(job) = registry {
            job.abort();
        }
        sweep.abort();
        reminders.abort();
        if let Some(job) = retention {
            job.abort();
        }
        stop.stop();
        if let Err(e) = worker.await {
            tracing::error!(error = %e, "mail delivery worker failed");
        }
        result
    }
}

fn build_server(listener: TcpListener, state: AppState) -> anyhow::Result<Server> {
    let settings = state.settings.clone();
    let spec = web::Data::new(SpecJson(
        crate::openapi::spec()
            .to_json()
            .map_err(|e| anyhow::anyhow!("openapi: {e}"))?,
    ));
    // Page templates and static files: a broken override or logo stops the start-up here.
    let pages = web::Data::new(crate::web::Pages::load(&settings)?);
    let assets = web::Data::new(pages.assets.clone());
    if !pages.overridden.is_empty() {
        tracing::info!(overridden = ?pages.overridden, "page templates overridden");
    }
    let state_data = web::Data::new(state);
    let cors_origins = settings.server.cors_origins.clone();
    let json_limit = 256 * 1024;

    let mut server = HttpServer::new(move || {
        let (app, _api) = App::new()
            .into_utoipa_app()
            .openapi(<ApiDoc as utoipa::OpenApi>::openapi())
            .app_data(state_data.clone())
            .app_data(spec.clone())
            .app_data(pages.clone())
            .app_data(assets.clone())
            .app_data(
                web::JsonConfig::default()
                    .limit(json_limit)
                    // application/json, and JSON Merge Patch (application/merge-patch+json).
                    .content_type_required(true)
                    .content_type(|mime| {
                        mime.subtype() == "json" || mime.suffix().is_some_and(|s| s == "json")
                    })
                    .error_handler(api::errors::json_error),
            )
            .app_data(web::QueryConfig::default().error_handler(api::errors::query_error))
            .app_data(web::PathConfig::default().error_handler(api::errors::path_error))
            .configure(api::configure)
            .split_for_parts();
        app.configure(crate::web::configure)
            .default_service(web::to(not_found))
            // The text rule before any handler, API or page; the pages' error middleware
            // outside it so a page's refusal is rendered as a page.
            .wrap(actix_web::middleware::from_fn(crate::input_guard::guard))
            .wrap(actix_web::middleware::from_fn(crate::web::error_pages))
            .wrap(cors(&cors_origins))
            .wrap_fn(|req, srv| {
                // Echo the request id so a user reporting a problem can quote it.
                let request_id = req.extensions().get::<RequestId>().map(|id| id.to_string());
                let fut = srv.call(req);
                async move {
                    let mut res = fut.await?;
                    crate::web::security_headers(&mut res);
                    if let Some(id) = request_id.and_then(|id| HeaderValue::from_str(&id).ok()) {
                        res.headers_mut()
                            .insert(HeaderName::from_static("x-request-id"), id);
                    }
                    Ok(res)
                }
            })
            .wrap(TracingLogger::<crate::telemetry::RequestSpan>::new())
    })
    .listen(listener)?
    .shutdown_timeout(settings.server.shutdown_timeout_seconds);
    let workers = if settings.server.workers > 0 {
        settings.server.workers
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    };
    // Database work runs on the blocking pool; more blocking threads than pooled connections
    // only park on the pool's condition variable (bench/run: p99 at 64 connections). Keep a
    // few more for file I/O and password hashing.
    let blocking = match settings.server.blocking_threads {
        0 => {
            (settings.database.pool_size as usize)
                .div_ceil(workers)
                .max(2)
                + 2
        }
        n => n,
    };
    server = server
        .workers(workers)
        .worker_max_blocking_threads(blocking);
    Ok(server.run())
}

/// Only the configured front-end origins may call the API from a browser. A request from
/// another origin is still answered, without CORS headers, so the browser withholds it.
fn cors(origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        .block_on_origin_mismatch(false)
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_MATCH,
            header::ACCEPT,
        ])
        .expose_headers([
            header::ETAG,
            header::LOCATION,
            header::RETRY_AFTER,
            header::CONTENT_DISPOSITION,
            HeaderName::from_static("x-request-id"),
        ])
        .max_age(3600);
    for origin in origins {
        cors = cors.allowed_origin(origin.trim_end_matches('/'));
    }
    cors
}

/// The default service: the API's problem+json under `/api` and `/health` (machines read
/// them), the house 404 page elsewhere. It lives here, where both faces are mounted, so that
/// neither face imports the other.
async fn not_found(req: actix_web::HttpRequest) -> actix_web::HttpResponse {
    let machine = ["/api", "/health"]
        .iter()
        .any(|p| req.path() == *p || req.path().starts_with(&format!("{p}/")));
    if machine {
        crate::api::errors::not_found(req).await
    } else {
        crate::web::not_found(req).await
    }
}

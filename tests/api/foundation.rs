use std::time::Duration;

use actix_web::{App, test as atest, web};
use serde_json::Value;

use crate::both_backends;
use crate::helpers::{Backend, TestApp, assert_problem, spawn_app, spawn_app_with};

both_backends!(
    live_answers_ok,
    ready_checks_the_database,
    unknown_route_is_a_problem,
    every_response_carries_a_request_id,
    migrations_are_idempotent,
);

async fn live_answers_ok(app: TestApp) {
    let resp = app.get("/health/live").await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "ok");
}

async fn ready_checks_the_database(app: TestApp) {
    let resp = app.get("/health/ready").await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["database"], "ok");
}

async fn unknown_route_is_a_problem(app: TestApp) {
    let body = assert_problem(app.get("/api/v1/nowhere").await, 404).await;
    assert!(body["detail"].as_str().unwrap().contains("/api/v1/nowhere"));
    let resp = app
        .client
        .delete(app.url("/health/live"))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 404).await;
}

async fn every_response_carries_a_request_id(app: TestApp) {
    let a = app.get("/health/live").await;
    let b = app.get("/api/v1/nowhere").await;
    let id = |r: &reqwest::Response| {
        r.headers()
            .get("x-request-id")
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let (ida, idb) = (
        id(&a).expect("x-request-id on 200"),
        id(&b).expect("x-request-id on 404"),
    );
    assert_ne!(ida, idb);
    assert!(uuid::Uuid::parse_str(&ida).is_ok(), "{ida}");
}

async fn migrations_are_idempotent(app: TestApp) {
    // The server already migrated at start-up: a second run applies nothing and fails nothing
    // (what a second instance does when it starts).
    let db = app.db.clone();
    let applied = tokio::task::spawn_blocking(move || db.migrate())
        .await
        .unwrap()
        .unwrap();
    assert!(applied.is_empty(), "{applied:?}");
}

/// With the database gone, readiness says 503 (problem+json) while liveness stays 200.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_answers_503_when_the_database_is_down() {
    // A pool pointed at a closed port: the probe must answer quickly, not hang.
    let db = essor::db::Db::connect(
        "postgres://postgres@127.0.0.1:9/none",
        1,
        Duration::from_secs(1),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let settings = crate::helpers::test_settings("sqlite://unused.db", dir.path(), &[]);
    let state = essor::state::AppState::new(db, settings).unwrap();
    let service = atest::init_service(
        App::new()
            .app_data(web::Data::new(state))
            .service(essor::api::health::ready)
            .service(essor::api::health::live),
    )
    .await;
    let started = std::time::Instant::now();
    let resp = atest::call_service(
        &service,
        atest::TestRequest::get().uri("/health/ready").to_request(),
    )
    .await;
    assert_eq!(resp.status(), 503);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(
        resp.headers().get("content-type").unwrap(),
        "application/problem+json"
    );
    let body: Value = atest::read_body_json(resp).await;
    assert_eq!(body["status"], 503);
    let resp = atest::call_service(
        &service,
        atest::TestRequest::get().uri("/health/live").to_request(),
    )
    .await;
    assert_eq!(resp.status(), 200);
}

/// On PostgreSQL: drop the live database under a running server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_turns_503_when_postgres_goes_away() {
    let Some(app) = spawn_app(Backend::Postgres).await else {
        return;
    };
    assert_eq!(app.get("/health/ready").await.status(), 200);
    let pg = crate::helpers::PgDatabase::create().unwrap();
    drop(pg); // sanity: create/drop works
    {
        use diesel::{Connection, RunQueryDsl};
        let admin = std::env::var("TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let mut conn = diesel::pg::PgConnection::establish(&admin).unwrap();
        let name = url::Url::parse(&app.settings.database.url)
            .unwrap()
            .path()
            .trim_start_matches('/')
            .to_owned();
        diesel::sql_query(format!("DROP DATABASE {name} WITH (FORCE)"))
            .execute(&mut conn)
            .unwrap();
    }
    assert_problem(app.get("/health/ready").await, 503).await;
    assert_eq!(app.get("/health/live").await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_allows_only_configured_origins() {
    let app = spawn_app_with(
        Backend::Sqlite,
        &[("APP__SERVER__CORS_ORIGINS", "https://depot.example.fr")],
    )
    .await
    .unwrap();
    let allowed = app
        .client
        .get(app.url("/health/live"))
        .header("Origin", "https://depot.example.fr")
        .send()
        .await
        .unwrap();
    assert_eq!(
        allowed
            .headers()
            .get("access-control-allow-origin")
            .unwrap(),
        "https://depot.example.fr"
    );

    let other = app
        .client
        .get(app.url("/health/live"))
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());

    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/openapi.json"))
        .header("Origin", "https://depot.example.fr")
        .header("Access-Control-Request-Method", "PATCH")
        .header(
            "Access-Control-Request-Headers",
            "authorization, if-match, content-type",
        )
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(
        preflight
            .headers()
            .get("access-control-allow-origin")
            .unwrap(),
        "https://depot.example.fr"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_origin_is_allowed_by_default() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let resp = app
        .client
        .get(app.url("/health/live"))
        .header("Origin", "http://localhost:3000")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("access-control-allow-origin").is_none());
}

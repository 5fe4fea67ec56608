//! The database goes away and comes back (issue 18): requests answer 503 with `Retry-After`
//! meanwhile, and essor heals by itself within seconds, mail delivery included. PostgreSQL:
//! its backends are terminated and connections refused for a while (`CONNECTION LIMIT 0`),
//! never by stopping the shared server. SQLite: the file is removed, or turns read-only.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{
    Backend, OwnedDatabase, TestApp, assert_problem, spawn_app_at, spawn_app_with,
};

async fn assert_unavailable(resp: reqwest::Response) {
    let retry_after = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let problem = assert_problem(resp, 503).await;
    assert!(
        retry_after.is_some_and(|s| s.parse::<u64>().is_ok()),
        "Retry-After"
    );
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("momentanément indisponible"),
        "{problem}"
    );
}

/// Polls `path` until it answers 200; returns how long that took.
async fn until_ok(app: &TestApp, token: &str, path: &str, limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let status = app.get_as(token, path).await.status();
        if status == 200 {
            return start.elapsed();
        }
        assert!(
            status == 503,
            "while recovering {path} answered {status}, not 503"
        );
        assert!(
            start.elapsed() < limit,
            "{path} still {status} after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_answers_503_then_heals_without_restart() {
    let Some(db) = OwnedDatabase::create() else {
        return;
    };
    let app = spawn_app_at(
        &db.url,
        &[
            ("APP__DATABASE__CONNECT_TIMEOUT_SECONDS", "1"),
            ("APP__MAIL__POLL_INTERVAL_MS", "100"),
        ],
    )
    .await;
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    let call = app.published_call(staff, json!({})).await;
    let call_path = format!("/api/v1/calls/{}", call["id"].as_str().unwrap());
    // Every pooled connection in use at once, so the pool holds several when the server dies.
    let warm: Vec<_> = (0..8).map(|_| app.get_as(staff, &call_path)).collect();
    for resp in futures_util::future::join_all(warm).await {
        assert_eq!(resp.status(), 200);
    }

    db.go_down();
    let started = Instant::now();
    // Pooled connections are dead, new ones refused: 503 with Retry-After, never 500.
    for _ in 0..6 {
        assert_unavailable(app.get_as(staff, &call_path).await).await;
    }
    assert_unavailable(app.get("/health/ready").await).await;
    assert_unavailable(
        app.post_json(
            Some(staff),
            "/api/v1/calls",
            &json!({"title": "Pendant la panne", "description": "", "budget_cents": 1}),
        )
        .await,
    )
    .await;
    while started.elapsed() < Duration::from_secs(3) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    db.come_back();
    let healed = until_ok(&app, staff, &call_path, Duration::from_secs(15)).await;
    eprintln!(
        "OUTAGE: first 200 {:.2} s after PostgreSQL accepted connections again",
        healed.as_secs_f64()
    );
    assert!(healed < Duration::from_secs(10), "took {healed:?}");
    assert_eq!(app.get("/health/ready").await.status(), 200);

    // The mail worker took up its rounds again: a submission's mails go out.
    let before = app.sent_mails().len();
    app.submitted_application(&cast.applicant.token, call["id"].as_str().unwrap())
        .await;
    let sent = app.wait_for_mails(before + 1).await;
    assert!(sent.len() > before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_file_removed_answers_503_with_a_log_line() {
    let app = spawn_app_with(Backend::Sqlite, &[("APP__DATABASE__POOL_SIZE", "2")])
        .await
        .unwrap();
    let cast = app.cast().await;
    let call = app.published_call(&cast.staff.token, json!({})).await;
    let path = format!("/api/v1/calls/{}", call["id"].as_str().unwrap());
    assert_eq!(app.get_as(&cast.staff.token, &path).await.status(), 200);
    let file = app.data_dir.path().join("essor.db");
    std::fs::remove_file(&file).unwrap();
    assert_unavailable(app.get_as(&cast.staff.token, &path).await).await;
    assert_unavailable(app.get("/health/ready").await).await;
    // No empty database took its place.
    assert!(!file.exists());
}

/// A read-only SQLite database answers writes with SQLITE_READONLY. Tests run as root, whom
/// file modes do not stop, so the connection is made read-only the way SQLite itself offers
/// (`PRAGMA query_only`), which fails writes with the same error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_read_only_answers_503_then_heals() {
    let app = spawn_app_with(Backend::Sqlite, &[("APP__DATABASE__POOL_SIZE", "1")])
        .await
        .unwrap();
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    let body = json!({"title": "Appel", "description": "", "budget_cents": 100});
    app.db
        .run(|conn| {
            use diesel::connection::SimpleConnection;
            conn.batch_execute("PRAGMA query_only = 1")?;
            Ok(())
        })
        .await
        .unwrap();
    assert_unavailable(app.post_json(Some(staff), "/api/v1/calls", &body).await).await;
    // The read-only connection was dropped; a new one writes.
    let resp = app.post_json(Some(staff), "/api/v1/calls", &body).await;
    assert_eq!(resp.status(), 201);
    let created: Value = resp.json().await.unwrap();
    assert_eq!(created["title"], "Appel");
}

//! The authorization matrix: every operation of the generated OpenAPI document, called by
//! each kind of caller, gets the status this table expects — and never a 5xx. An operation
//! missing from the table fails the test, so a new route cannot be forgotten.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Cast, PASSWORD, TestApp};

both_backends!(every_route_answers_each_role_as_expected);

/// Callers, in the order of the `expect` columns.
const CALLERS: [&str; 6] = [
    "anonymous",
    "applicant",
    "other_applicant",
    "reviewer",
    "staff",
    "admin",
];

struct Row {
    method: &'static str,
    path: &'static str,
    /// Expected status for anonymous, applicant, other applicant, reviewer, staff, admin.
    expect: [u16; 6],
}

const fn row(method: &'static str, path: &'static str, expect: [u16; 6]) -> Row {
    Row {
        method,
        path,
        expect,
    }
}

const ROWS: &[Row] = &[
    row("GET", "/health/live", [200, 200, 200, 200, 200, 200]),
    row("GET", "/health/ready", [200, 200, 200, 200, 200, 200]),
    row(
        "GET",
        "/api/v1/openapi.json",
        [200, 200, 200, 200, 200, 200],
    ),
    row(
        "POST",
        "/api/v1/auth/register",
        [201, 201, 201, 201, 201, 201],
    ),
    row("POST", "/api/v1/auth/token", [200, 200, 200, 200, 200, 200]),
    row("GET", "/api/v1/me", [401, 200, 200, 200, 200, 200]),
    row("POST", "/api/v1/users", [401, 403, 403, 403, 403, 201]),
    row("GET", "/api/v1/users", [401, 403, 403, 403, 200, 200]),
    row(
        "GET",
        "/api/v1/admin/outbox",
        [401, 403, 403, 403, 403, 200],
    ),
    // `{id}` is a dead message (see `concrete_path`): the admin re-queues it.
    row(
        "POST",
        "/api/v1/admin/outbox/{id}/retry",
        [401, 403, 403, 403, 403, 200],
    ),
];

/// Real resources for the path parameters of the table's paths.
struct Fixtures {
    dead_mail: String,
}

fn concrete_path(path: &str, fixtures: &Fixtures) -> String {
    path.replace(
        "/admin/outbox/{id}",
        &format!("/admin/outbox/{}", fixtures.dead_mail),
    )
}

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// A valid body for the operation, so that what is checked is authorization, not input.
fn body_for(method: &str, path: &str, cast: &Cast) -> Option<Value> {
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    match (method, path) {
        ("POST", "/api/v1/auth/register") => Some(json!({
            "email": format!("matrice{n}@exemple.fr"), "password": PASSWORD, "full_name": "Matrice"
        })),
        ("POST", "/api/v1/auth/token") => {
            Some(json!({"email": cast.applicant.email, "password": PASSWORD}))
        }
        ("POST", "/api/v1/users") => Some(json!({
            "email": format!("matrice-admin{n}@exemple.fr"), "password": PASSWORD,
            "full_name": "Matrice", "role": "reviewer"
        })),
        _ => None,
    }
}

fn spec_operations() -> BTreeSet<(String, String)> {
    let spec: Value = serde_json::from_str(&essor::openapi::spec().to_json().unwrap()).unwrap();
    let mut ops = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                ops.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    ops
}

#[test]
fn the_table_covers_exactly_the_documented_routes() {
    let documented = spec_operations();
    let table: BTreeSet<(String, String)> = ROWS
        .iter()
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect();
    let missing: Vec<_> = documented.difference(&table).collect();
    let stale: Vec<_> = table.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "routes without a row in the authorization matrix: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "rows for routes that no longer exist: {stale:?}"
    );
}

async fn every_route_answers_each_role_as_expected(app: TestApp) {
    let cast = app.cast().await;
    let fixtures = Fixtures {
        dead_mail: crate::mail::dead_message(&app).await,
    };
    let tokens: [Option<&str>; 6] = [
        None,
        Some(&cast.applicant.token),
        Some(&cast.other_applicant.token),
        Some(&cast.reviewer.token),
        Some(&cast.staff.token),
        Some(&cast.admin.token),
    ];
    let mut failures = Vec::new();
    for row in ROWS {
        for (i, token) in tokens.iter().enumerate() {
            let url = app.url(&concrete_path(row.path, &fixtures));
            let mut req = app.client.request(row.method.parse().unwrap(), &url);
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            if let Some(body) = body_for(row.method, row.path, &cast) {
                req = req.json(&body);
            }
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            if status >= 500 || status != row.expect[i] {
                let text = resp.text().await.unwrap_or_default();
                failures.push(format!(
                    "{} {} as {}: expected {}, got {status} {text}",
                    row.method, row.path, CALLERS[i], row.expect[i]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

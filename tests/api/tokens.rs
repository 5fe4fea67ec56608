//! Personal access tokens (DESIGN.md §14, issue 21): created, listed, revoked by their owner,
//! checked at every request against the token and its owner's current state, limited to
//! their scopes and to the owner's role, expiring, their last use recorded, their creation
//! and revocation audited.

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::helpers::{
    Account, Backend, PASSWORD, TestApp, assert_problem, review_body, spawn_app_clocked,
};

/// Each test twice, on SQLite and PostgreSQL, with a clock the test can move.
macro_rules! clocked {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let clock = essor::clock::Clock::set_at(Utc::now());
                let app = spawn_app_clocked(Backend::Sqlite, &[], clock).await.expect("SQLite");
                super::$name(app).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let clock = essor::clock::Clock::set_at(Utc::now());
                let Some(app) = spawn_app_clocked(Backend::Postgres, &[], clock).await else { return };
                super::$name(app).await;
            }
        }
    )*};
}

clocked!(
    a_token_is_created_listed_used_and_revoked,
    a_read_token_cannot_review_and_a_review_token_can,
    an_expired_token_is_refused,
    a_deactivated_owners_tokens_are_refused_for_good,
    a_token_never_exceeds_its_owners_role,
    the_last_use_is_written_at_most_once_a_minute,
    a_token_cannot_manage_tokens_nor_someone_elses,
);

fn in_days(app: &TestApp, days: i64) -> String {
    let today = essor::domain::tokens::paris_date(app.clock.now());
    (today + Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

/// A token of `owner` with these scopes, valid `days` days: (id, secret).
pub async fn pat(app: &TestApp, owner: &Account, scopes: &[&str], days: i64) -> (String, String) {
    let body = json!({"name": format!("Jeton {}", scopes.join("+")), "scopes": scopes, "expires_on": in_days(app, days)});
    let resp = app
        .post_json(Some(&owner.token), "/api/v1/me/tokens", &body)
        .await;
    assert_eq!(
        resp.status(),
        201,
        "{}",
        resp.text().await.unwrap_or_default()
    );
    let created: Value = resp.json().await.unwrap();
    (
        created["id"].as_str().unwrap().to_owned(),
        created["token"].as_str().unwrap().to_owned(),
    )
}

async fn a_token_is_created_listed_used_and_revoked(app: TestApp) {
    let cast = app.cast().await;
    let reviewer = &cast.reviewer;
    let body = json!({"name": "Tableur du comité", "scopes": ["review", "read"], "expires_on": in_days(&app, 30)});
    let resp = app
        .post_json(Some(&reviewer.token), "/api/v1/me/tokens", &body)
        .await;
    assert_eq!(resp.status(), 201);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = resp.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let secret = created["token"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/api/v1/me/tokens/{id}"));
    assert!(
        secret.starts_with("essor_pat_") && secret.len() == 10 + 64,
        "{secret}"
    );
    assert_eq!(created["scopes"], json!(["read", "review"]));
    assert_eq!(created["expires_on"], in_days(&app, 30));

    // Stored hashed: the secret is nowhere in the table.
    let hashed = app
        .count(Box::leak(
            format!(
                "personal_tokens WHERE token_hash = '{}'",
                essor::domain::tokens::hash(&secret)
            )
            .into_boxed_str(),
        ))
        .await;
    assert_eq!(hashed, 1);
    let plain = app
        .count(Box::leak(
            format!("personal_tokens WHERE token_hash = '{secret}' OR hint = '{secret}'")
                .into_boxed_str(),
        ))
        .await;
    assert_eq!(plain, 0);

    // The token opens the API as its owner.
    let me: Value = app
        .get_as(&secret, "/api/v1/me")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["id"], reviewer.id.as_str());

    // Listed without the secret, its last use recorded.
    let resp = app.get_as(&reviewer.token, "/api/v1/me/tokens").await;
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    assert!(!text.contains(&secret), "the list shows no secret");
    let list: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["status"], "active");
    assert_eq!(list[0]["name"], "Tableur du comité");
    assert!(list[0]["last_used_at"].is_string(), "{list}");
    assert!(list[0]["hint"].as_str().unwrap().starts_with("essor_pat_"));
    let one = app.get_as(&reviewer.token, &location).await;
    assert_eq!(one.status(), 200);

    // Revoked: refused at the very next request.
    let resp = app
        .client
        .delete(app.url(&location))
        .bearer_auth(&reviewer.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let refused = assert_problem(app.get_as(&secret, "/api/v1/me").await, 401).await;
    assert!(
        refused["detail"].as_str().unwrap().contains("révoqué"),
        "{refused}"
    );
    let list: Value = app
        .get_as(&reviewer.token, "/api/v1/me/tokens")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["status"], "revoked");
    // Revoking again changes nothing and is not audited twice.
    let resp = app
        .client
        .delete(app.url(&location))
        .bearer_auth(&reviewer.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);

    // Both events audited, with the token and no secret.
    assert_eq!(
        app.count("audit_events WHERE action = 'account.token_created'")
            .await,
        1
    );
    assert_eq!(
        app.count("audit_events WHERE action = 'account.token_revoked'")
            .await,
        1
    );
    let leaked = app
        .count(Box::leak(
            format!("audit_events WHERE payload LIKE '%{}%'", &secret[10..]).into_boxed_str(),
        ))
        .await;
    assert_eq!(leaked, 0);
    // An unknown token of the right shape is refused too.
    let forged = format!("essor_pat_{}", "0".repeat(64));
    assert_problem(app.get_as(&forged, "/api/v1/me").await, 401).await;
}

async fn a_read_token_cannot_review_and_a_review_token_can(app: TestApp) {
    let cast = app.cast().await;
    let call = app.published_call(&cast.staff.token, json!({})).await;
    let application = app
        .submitted_application(&cast.applicant.token, call["id"].as_str().unwrap())
        .await;
    let assignment = app
        .start_review(
            &cast.staff.token,
            application["id"].as_str().unwrap(),
            &[&cast.reviewer],
        )
        .await
        .remove(0);
    let (_, read) = pat(&app, &cast.reviewer, &["read"], 10).await;
    let (_, review) = pat(&app, &cast.reviewer, &["read", "review"], 10).await;

    // `read` lists the assignments, and is refused the declaration, naming the scope.
    let page: Value = app
        .get_as(&read, "/api/v1/assignments")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"][0]["id"], assignment.as_str());
    let accept = format!("/api/v1/assignments/{assignment}/accept");
    let statement = json!({"statement": "Aucun conflit d'intérêts."});
    let refused = assert_problem(app.post_json(Some(&read), &accept, &statement).await, 403).await;
    let detail = refused["detail"].as_str().unwrap();
    assert!(
        detail.contains("« review »") && detail.contains("portée"),
        "{detail}"
    );

    assert_eq!(
        app.post_json(Some(&review), &accept, &statement)
            .await
            .status(),
        200
    );
    let path = format!("/api/v1/assignments/{assignment}/review");
    let resp = app
        .client
        .put(app.url(&path))
        .bearer_auth(&review)
        .json(&review_body([4, 3, 4, 3, 4], "favorable"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    // A `read` token trying to submit the review: 403 in French naming `review`; nothing done.
    let submit = format!("{path}/submit");
    let refused = assert_problem(app.post_json(Some(&read), &submit, &json!({})).await, 403).await;
    assert!(
        refused["detail"].as_str().unwrap().contains("« review »"),
        "{refused}"
    );
    let draft: Value = app.get_as(&review, &path).await.json().await.unwrap();
    assert!(draft["submitted_at"].is_null(), "{draft}");
    assert_eq!(
        app.post_json(Some(&review), &submit, &json!({}))
            .await
            .status(),
        200
    );
}

async fn an_expired_token_is_refused(app: TestApp) {
    let cast = app.cast().await;
    let (_, secret) = pat(&app, &cast.staff, &["read"], 1).await;
    assert_eq!(app.get_as(&secret, "/api/v1/me").await.status(), 200);
    // Through its last day (Paris), then refused.
    app.clock.advance(Duration::hours(24));
    assert_eq!(app.get_as(&secret, "/api/v1/me").await.status(), 200);
    app.clock.advance(Duration::hours(25));
    let refused = assert_problem(app.get_as(&secret, "/api/v1/me").await, 401).await;
    assert!(
        refused["detail"].as_str().unwrap().contains("expiré"),
        "{refused}"
    );
    let list: Value = app
        .get_as(&cast.staff.token, "/api/v1/me/tokens")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["status"], "expired");
    // Expiry: tomorrow at the latest a year ahead; not today, not beyond.
    for (days, ok) in [(0, false), (366, true), (367, false)] {
        let body = json!({"name": "x", "scopes": ["read"], "expires_on": in_days(&app, days)});
        let resp = app
            .post_json(Some(&cast.staff.token), "/api/v1/me/tokens", &body)
            .await;
        if ok {
            assert_eq!(resp.status(), 201, "{days}");
        } else {
            let p = assert_problem(resp, 422).await;
            assert!(p["errors"]["expires_on"].is_array(), "{days}: {p}");
        }
    }
}

async fn a_deactivated_owners_tokens_are_refused_for_good(app: TestApp) {
    let cast = app.cast().await;
    let (_, secret) = pat(&app, &cast.reviewer, &["read", "review"], 30).await;
    assert_eq!(
        app.get_as(&secret, "/api/v1/assignments").await.status(),
        200
    );
    let user = format!("/api/v1/users/{}", cast.reviewer.id);
    let patch = |active: bool| {
        app.client
            .patch(app.url(&user))
            .bearer_auth(&cast.admin.token)
            .json(&json!({ "active": active }))
            .send()
    };
    assert_eq!(patch(false).await.unwrap().status(), 200);
    let refused = assert_problem(app.get_as(&secret, "/api/v1/assignments").await, 401).await;
    assert!(
        refused["detail"].as_str().unwrap().contains("désactivé"),
        "{refused}"
    );
    // Reactivation does not bring the token back.
    assert_eq!(patch(true).await.unwrap().status(), 200);
    let refused = assert_problem(app.get_as(&secret, "/api/v1/assignments").await, 401).await;
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("changement du compte"),
        "{refused}"
    );
    let fresh = app.token(&cast.reviewer.email, PASSWORD).await;
    let list: Value = app
        .get_as(&fresh, "/api/v1/me/tokens")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["status"], "ended");
}

async fn a_token_never_exceeds_its_owners_role(app: TestApp) {
    let cast = app.cast().await;
    for (owner, scope) in [
        (&cast.reviewer, "manage"),
        (&cast.reviewer, "export"),
        (&cast.applicant, "review"),
        (&cast.applicant, "export"),
        (&cast.staff, "review"),
    ] {
        let body = json!({"name": "x", "scopes": [scope], "expires_on": in_days(&app, 5)});
        let p = assert_problem(
            app.post_json(Some(&owner.token), "/api/v1/me/tokens", &body)
                .await,
            422,
        )
        .await;
        let msg = p["errors"]["scopes"][0].as_str().unwrap();
        assert!(msg.contains(scope) && msg.contains("rôle"), "{msg}");
    }
    let body = json!({"name": "x", "scopes": ["tout"], "expires_on": in_days(&app, 5)});
    let p = assert_problem(
        app.post_json(Some(&cast.staff.token), "/api/v1/me/tokens", &body)
            .await,
        422,
    )
    .await;
    assert!(
        p["errors"]["scopes"][0]
            .as_str()
            .unwrap()
            .contains("inconnue"),
        "{p}"
    );
    // A staff token with every scope still gets the role's refusals: the applicants' accounts
    // are for admins.
    let (_, all) = pat(&app, &cast.staff, &["read", "manage", "export"], 5).await;
    assert_problem(app.get_as(&all, "/api/v1/users?role=applicant").await, 403).await;
    // A role change ends the token (a reviewer made staff does not keep a reviewer's token).
    let (_, rev) = pat(&app, &cast.spare_reviewer, &["read", "review"], 5).await;
    let resp = app
        .client
        .patch(app.url(&format!("/api/v1/users/{}", cast.spare_reviewer.id)))
        .bearer_auth(&cast.admin.token)
        .json(&json!({"role": "staff"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_problem(app.get_as(&rev, "/api/v1/me").await, 401).await;
}

async fn the_last_use_is_written_at_most_once_a_minute(app: TestApp) {
    let cast = app.cast().await;
    let (id, secret) = pat(&app, &cast.staff, &["read"], 5).await;
    assert!(last_used(&app, &cast.staff.token, &id).await.is_null());
    app.get_as(&secret, "/api/v1/me").await;
    let first = last_used(&app, &cast.staff.token, &id).await;
    assert!(first.is_string());
    app.clock.advance(Duration::seconds(30));
    app.get_as(&secret, "/api/v1/me").await;
    assert_eq!(
        last_used(&app, &cast.staff.token, &id).await,
        first,
        "not rewritten within the minute"
    );
    app.clock.advance(Duration::seconds(31));
    app.get_as(&secret, "/api/v1/me").await;
    assert_ne!(
        last_used(&app, &cast.staff.token, &id).await,
        first,
        "rewritten after a minute"
    );
}

async fn last_used(app: &TestApp, owner: &str, id: &str) -> Value {
    let t: Value = app
        .get_as(owner, &format!("/api/v1/me/tokens/{id}"))
        .await
        .json()
        .await
        .unwrap();
    t["last_used_at"].clone()
}

async fn a_token_cannot_manage_tokens_nor_someone_elses(app: TestApp) {
    let cast = app.cast().await;
    let (id, secret) = pat(&app, &cast.applicant, &["read", "manage"], 5).await;
    let body = json!({"name": "encore", "scopes": ["read"], "expires_on": in_days(&app, 300)});
    let p = assert_problem(
        app.post_json(Some(&secret), "/api/v1/me/tokens", &body)
            .await,
        403,
    )
    .await;
    assert!(
        p["detail"].as_str().unwrap().contains("jetons personnels"),
        "{p}"
    );
    assert_problem(app.get_as(&secret, "/api/v1/me/tokens").await, 403).await;
    let resp = app
        .client
        .delete(app.url(&format!("/api/v1/me/tokens/{id}")))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_problem(resp, 403).await;
    // Someone else's token: 404, as if it did not exist; and it still works.
    let resp = app
        .client
        .delete(app.url(&format!("/api/v1/me/tokens/{id}")))
        .bearer_auth(&cast.other_applicant.token)
        .send()
        .await
        .unwrap();
    assert_problem(resp, 404).await;
    assert_problem(
        app.get_as(
            &cast.other_applicant.token,
            &format!("/api/v1/me/tokens/{id}"),
        )
        .await,
        404,
    )
    .await;
    assert_eq!(app.get_as(&secret, "/api/v1/me").await.status(), 200);
    // A password change ends the owner's tokens, as it ends sessions.
    let resp = app
        .post_json(
            Some(&cast.applicant.token),
            "/api/v1/me/password",
            &json!({"current_password": PASSWORD, "new_password": "une autre phrase de passe"}),
        )
        .await;
    assert_eq!(resp.status(), 204);
    assert_problem(app.get_as(&secret, "/api/v1/me").await, 401).await;
}

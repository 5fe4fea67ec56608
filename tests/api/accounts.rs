//! Accounts people can live with (DESIGN.md §14): each flow end to end over HTTP, with the
//! mails read from the outbox, on both databases; and throttling, with its limits set low.

use essor::domain::account::Role;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{
    Backend, PASSWORD, TestApp, assert_problem, sample_application, spawn_app_on, spawn_app_with,
};

both_backends!(
    registration_mails_a_link_and_only_a_verified_address_submits,
    a_known_address_gets_the_same_answer_and_its_owner_a_mail,
    password_reset_by_mail_ends_every_earlier_token,
    password_change_ends_every_earlier_token,
    invitations_let_people_set_their_own_password,
    a_deactivated_reviewer_is_refused_at_once,
    a_downgraded_agent_cannot_export_with_an_old_token,
    account_changes_refuse_bad_input_and_change_nothing,
    account_events_are_audited_with_the_client_address,
);

const NEW_PASSWORD: &str = "une toute nouvelle phrase de passe";

async fn register(app: &TestApp, email: &str) -> reqwest::Response {
    app.post_json(
        None,
        "/api/v1/auth/register",
        &json!({"email": email, "password": PASSWORD, "full_name": "Jeanne Dupont"}),
    )
    .await
}

async fn sign_in(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.post_json(
        None,
        "/api/v1/auth/token",
        &json!({"email": email, "password": password}),
    )
    .await
}

async fn registration_mails_a_link_and_only_a_verified_address_submits(app: TestApp) {
    let staff = app.account(Role::Staff, "agent@lillemetropole.fr").await;
    let call = app.published_call(&staff.token, json!({})).await;
    let call_id = call["id"].as_str().unwrap();

    assert_eq!(register(&app, "porteur@exemple.fr").await.status(), 202);
    let (link, text) = app
        .account_mail("porteur@exemple.fr", "account_verify_email")
        .await;
    assert!(
        link.starts_with(&format!(
            "{}/compte/verifier?token=",
            app.settings.frontend.base_url.trim_end_matches('/')
        )),
        "{link}"
    );
    assert!(text.contains("24 heures"), "{text}");
    let first_link = link.split("?token=").nth(1).unwrap().to_owned();
    assert!(first_link.len() >= 32, "at least 128 bits: {first_link}");

    // Unverified: signs in, drafts, uploads; may not submit, and is told what to do.
    let token = app.token("porteur@exemple.fr", PASSWORD).await;
    let draft = app
        .draft_application(&token, call_id, &sample_application())
        .await;
    let id = draft["id"].as_str().unwrap();
    app.attach_required(&token, id).await;
    let submit = format!("/api/v1/applications/{id}/submit");
    let problem = assert_problem(app.post_json(Some(&token), &submit, &json!({})).await, 403).await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("vérifiée"), "{detail}");
    assert!(detail.contains("nouveau lien"), "{detail}");
    let still: Value = app
        .get_as(&token, &format!("/api/v1/applications/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(still["state"], "draft");

    // A new link replaces the first.
    let resp = app
        .post_json(Some(&token), "/api/v1/auth/verify-email/resend", &json!({}))
        .await;
    assert_eq!(resp.status(), 202);
    let second_link = app
        .link_token("porteur@exemple.fr", "account_verify_email")
        .await;
    assert_ne!(first_link, second_link);
    let verify = |t: &str| {
        let body = json!({ "token": t });
        let app = &app;
        async move {
            app.post_json(None, "/api/v1/auth/verify-email", &body)
                .await
        }
    };
    let problem = assert_problem(verify(&first_link).await, 422).await;
    assert!(problem["errors"]["token"].is_array(), "{problem}");
    for bad in ["", "pas-un-jeton", &"0".repeat(64)] {
        assert_problem(verify(bad).await, 422).await;
    }
    assert_eq!(verify(&second_link).await.status(), 204);
    // Single use.
    let problem = assert_problem(verify(&second_link).await, 422).await;
    assert!(
        problem["errors"]["token"][0]
            .as_str()
            .unwrap()
            .contains("déjà servi"),
        "{problem}"
    );

    // Verification ends no session: the same token now submits.
    let resp = app.post_json(Some(&token), &submit, &json!({})).await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let me: Value = app.get_as(&token, "/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["status"], "active");
    assert_eq!(me["email_verified"], true);
    assert_problem(
        app.post_json(Some(&token), "/api/v1/auth/verify-email/resend", &json!({}))
            .await,
        409,
    )
    .await;
}

async fn a_known_address_gets_the_same_answer_and_its_owner_a_mail(app: TestApp) {
    app.account(Role::Applicant, "connu@exemple.fr").await;
    let users_before = app.count("users").await;
    let known = register(&app, " CONNU@Exemple.fr").await;
    let stranger = register(&app, "inconnu@exemple.fr").await;
    assert_eq!(known.status(), 202);
    assert_eq!(stranger.status(), 202);
    let (known, stranger): (Value, Value) =
        (known.json().await.unwrap(), stranger.json().await.unwrap());
    assert_eq!(
        known, stranger,
        "the answer must not tell which addresses exist"
    );
    assert_eq!(app.count("users").await, users_before + 1);

    // The owner is told, with a reset link; the password did not change.
    let (link, text) = app.account_mail("connu@exemple.fr", "account_exists").await;
    assert!(
        link.contains("/compte/mot-de-passe/nouveau?token="),
        "{link}"
    );
    assert!(text.contains("existe déjà"), "{text}");
    app.token("connu@exemple.fr", PASSWORD).await;
    assert_eq!(
        sign_in(&app, "connu@exemple.fr", "une autre phrase de passe")
            .await
            .status(),
        401
    );
    // The link is a working reset link.
    let token = link.split("?token=").nth(1).unwrap();
    let resp = app
        .post_json(
            None,
            "/api/v1/auth/password-reset/confirm",
            &json!({"token": token, "password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(resp.status(), 204);
    app.token("connu@exemple.fr", NEW_PASSWORD).await;
}

async fn password_reset_by_mail_ends_every_earlier_token(app: TestApp) {
    let applicant = app.registered_applicant("porteur@exemple.fr").await;
    let ask = |email: &'static str| {
        let app = &app;
        async move {
            app.post_json(
                None,
                "/api/v1/auth/password-reset",
                &json!({ "email": email }),
            )
            .await
        }
    };
    let known = ask("porteur@exemple.fr").await;
    let unknown = ask("personne@exemple.fr").await;
    assert_eq!(
        (known.status().as_u16(), unknown.status().as_u16()),
        (202, 202)
    );
    let (known, unknown): (Value, Value) =
        (known.json().await.unwrap(), unknown.json().await.unwrap());
    assert_eq!(known, unknown, "no oracle");
    assert_eq!(app.account_mail_count("account_password_reset").await, 1);
    assert_problem(
        app.post_json(
            None,
            "/api/v1/auth/password-reset",
            &json!({"email": "pas une adresse"}),
        )
        .await,
        422,
    )
    .await;

    let (link, text) = app
        .account_mail("porteur@exemple.fr", "account_password_reset")
        .await;
    assert!(
        link.contains("/compte/mot-de-passe/nouveau?token="),
        "{link}"
    );
    assert!(text.contains("une heure"), "{text}");
    let token = link.split("?token=").nth(1).unwrap().to_owned();
    let confirm = |t: &str, pw: &str| {
        let body = json!({"token": t, "password": pw});
        let app = &app;
        async move {
            app.post_json(None, "/api/v1/auth/password-reset/confirm", &body)
                .await
        }
    };
    // A short password is refused and the link still works.
    let problem = assert_problem(confirm(&token, "court").await, 422).await;
    assert!(problem["errors"]["password"].is_array(), "{problem}");
    app.get_as(&applicant.token, "/api/v1/me")
        .await
        .error_for_status()
        .unwrap();

    assert_eq!(confirm(&token, NEW_PASSWORD).await.status(), 204);
    // Every token issued before is refused at once; the old password too.
    let problem = assert_problem(app.get_as(&applicant.token, "/api/v1/me").await, 401).await;
    assert!(
        problem["detail"].as_str().unwrap().contains("révoqué"),
        "{problem}"
    );
    assert_eq!(
        sign_in(&app, "porteur@exemple.fr", PASSWORD).await.status(),
        401
    );
    app.token("porteur@exemple.fr", NEW_PASSWORD).await;
    // The link used twice.
    let problem = assert_problem(confirm(&token, "encore une autre phrase").await, 422).await;
    assert!(
        problem["errors"]["token"][0]
            .as_str()
            .unwrap()
            .contains("déjà servi"),
        "{problem}"
    );
    app.token("porteur@exemple.fr", NEW_PASSWORD).await;

    // An expired link.
    assert_eq!(ask("porteur@exemple.fr").await.status(), 202);
    let token = app
        .link_token("porteur@exemple.fr", "account_password_reset")
        .await;
    app.db
        .run(|conn| {
            use diesel::prelude::*;
            use essor::db::schema::account_tokens;
            let past = essor::db::now() - chrono::Duration::minutes(61);
            diesel::update(account_tokens::table.filter(account_tokens::used_at.is_null()))
                .set(account_tokens::expires_at.eq(past))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    let problem = assert_problem(confirm(&token, "encore une autre phrase").await, 422).await;
    assert!(
        problem["errors"]["token"][0]
            .as_str()
            .unwrap()
            .contains("expiré"),
        "{problem}"
    );
    app.token("porteur@exemple.fr", NEW_PASSWORD).await;
}

async fn password_change_ends_every_earlier_token(app: TestApp) {
    let reviewer = app.account(Role::Reviewer, "expert@exemple.fr").await;
    let second = app.token("expert@exemple.fr", PASSWORD).await;
    let change = |current: &str, new: &str| {
        let body = json!({"current_password": current, "new_password": new});
        let app = &app;
        let token = reviewer.token.clone();
        async move {
            app.post_json(Some(&token), "/api/v1/me/password", &body)
                .await
        }
    };
    let problem = assert_problem(change("pas le bon mot de passe", NEW_PASSWORD).await, 422).await;
    assert!(
        problem["errors"]["current_password"].is_array(),
        "{problem}"
    );
    let problem = assert_problem(change(PASSWORD, "court").await, 422).await;
    assert!(problem["errors"]["new_password"].is_array(), "{problem}");
    app.token("expert@exemple.fr", PASSWORD).await;

    assert_eq!(change(PASSWORD, NEW_PASSWORD).await.status(), 204);
    for old in [&reviewer.token, &second] {
        assert_problem(app.get_as(old, "/api/v1/assignments").await, 401).await;
    }
    assert_eq!(
        sign_in(&app, "expert@exemple.fr", PASSWORD).await.status(),
        401
    );
    let fresh = app.token("expert@exemple.fr", NEW_PASSWORD).await;
    assert_eq!(
        app.get_as(&fresh, "/api/v1/assignments").await.status(),
        200
    );
}

async fn invitations_let_people_set_their_own_password(app: TestApp) {
    let cast = app.cast().await;
    let invite = |token: &str, body: Value| {
        let app = &app;
        let token = token.to_owned();
        async move {
            app.post_json(Some(&token), "/api/v1/users/invitations", &body)
                .await
        }
    };
    let body = json!({"email": "Nouvel.Expert@Exemple.fr", "full_name": "Nouvel Expert", "role": "reviewer"});
    for token in [
        &cast.applicant.token,
        &cast.reviewer.token,
        &cast.staff.token,
    ] {
        assert_problem(invite(token, body.clone()).await, 403).await;
    }
    let problem = assert_problem(
        invite(
            &cast.admin.token,
            json!({"email": "x@exemple.fr", "full_name": "X", "role": "applicant"}),
        )
        .await,
        422,
    )
    .await;
    assert!(problem["errors"]["role"].is_array(), "{problem}");
    let problem = assert_problem(
        invite(
            &cast.admin.token,
            json!({"email": "pas une adresse", "full_name": " ", "role": "boss"}),
        )
        .await,
        422,
    )
    .await;
    assert!(problem["errors"]["role"].is_array(), "{problem}");
    let users_before = app.count("users").await;

    let resp = invite(&cast.admin.token, body.clone()).await;
    assert_eq!(resp.status(), 201);
    let invited: Value = resp.json().await.unwrap();
    assert_eq!(invited["email"], "nouvel.expert@exemple.fr");
    assert_eq!(invited["role"], "reviewer");
    assert_eq!(invited["status"], "invited");
    assert_eq!(app.count("users").await, users_before + 1);
    assert_problem(invite(&cast.admin.token, body.clone()).await, 409).await;

    // No password yet: nothing signs in, whatever is typed.
    assert_eq!(
        sign_in(&app, "nouvel.expert@exemple.fr", PASSWORD)
            .await
            .status(),
        401
    );
    let (link, text) = app
        .account_mail("nouvel.expert@exemple.fr", "account_invitation")
        .await;
    assert!(link.contains("/compte/invitation?token="), "{link}");
    assert!(text.contains("7 jours"), "{text}");
    assert!(text.contains("membre du comité de sélection"), "{text}");
    let token = link.split("?token=").nth(1).unwrap().to_owned();
    let accept = |pw: &str| {
        let body = json!({"token": token, "password": pw});
        let app = &app;
        async move {
            app.post_json(None, "/api/v1/auth/invitations/accept", &body)
                .await
        }
    };
    assert_problem(accept("court").await, 422).await;
    // A reset link is not an invitation link, nor the other way round.
    let problem = assert_problem(
        app.post_json(
            None,
            "/api/v1/auth/password-reset/confirm",
            &json!({"token": token, "password": NEW_PASSWORD}),
        )
        .await,
        422,
    )
    .await;
    assert!(problem["errors"]["token"].is_array());
    assert_eq!(accept(NEW_PASSWORD).await.status(), 204);
    assert_problem(accept("encore une autre phrase").await, 422).await;

    let token = app.token("nouvel.expert@exemple.fr", NEW_PASSWORD).await;
    let me: Value = app.get_as(&token, "/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["role"], "reviewer");
    assert_eq!(me["status"], "active");
    assert_eq!(me["email_verified"], true);
}

async fn patch_user(app: &TestApp, admin: &str, id: &str, body: Value) -> reqwest::Response {
    app.client
        .patch(app.url(&format!("/api/v1/users/{id}")))
        .bearer_auth(admin)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn a_deactivated_reviewer_is_refused_at_once(app: TestApp) {
    let cast = app.cast().await;
    assert_eq!(
        app.get_as(&cast.reviewer.token, "/api/v1/assignments")
            .await
            .status(),
        200
    );
    let resp = patch_user(
        &app,
        &cast.admin.token,
        &cast.reviewer.id,
        json!({"active": false}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let user: Value = resp.json().await.unwrap();
    assert_eq!(
        (user["active"].clone(), user["status"].clone()),
        (json!(false), json!("deactivated"))
    );

    // The very next request, with a token still within its hour.
    let problem = assert_problem(
        app.get_as(&cast.reviewer.token, "/api/v1/assignments")
            .await,
        401,
    )
    .await;
    assert!(
        problem["detail"].as_str().unwrap().contains("désactivé"),
        "{problem}"
    );
    let problem = assert_problem(sign_in(&app, "expert@exemple.fr", PASSWORD).await, 401).await;
    assert!(problem["detail"].as_str().unwrap().contains("désactivé"));
    // No reset mail for a deactivated account (the answer is the same).
    let resp = app
        .post_json(
            None,
            "/api/v1/auth/password-reset",
            &json!({"email": "expert@exemple.fr"}),
        )
        .await;
    assert_eq!(resp.status(), 202);
    assert_eq!(app.account_mail_count("account_password_reset").await, 0);

    // Reactivated: the old token stays dead, a new sign-in works.
    let resp = patch_user(
        &app,
        &cast.admin.token,
        &cast.reviewer.id,
        json!({"active": true}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_problem(
        app.get_as(&cast.reviewer.token, "/api/v1/assignments")
            .await,
        401,
    )
    .await;
    let fresh = app.token("expert@exemple.fr", PASSWORD).await;
    assert_eq!(
        app.get_as(&fresh, "/api/v1/assignments").await.status(),
        200
    );
}

async fn a_downgraded_agent_cannot_export_with_an_old_token(app: TestApp) {
    let cast = app.cast().await;
    let call = app.published_call(&cast.staff.token, json!({})).await;
    let export = format!(
        "/api/v1/calls/{}/export?format=csv",
        call["id"].as_str().unwrap()
    );
    assert_eq!(app.get_as(&cast.staff.token, &export).await.status(), 200);

    let resp = patch_user(
        &app,
        &cast.admin.token,
        &cast.staff.id,
        json!({"role": "reviewer"}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let user: Value = resp.json().await.unwrap();
    assert_eq!(user["role"], "reviewer");

    assert_problem(app.get_as(&cast.staff.token, &export).await, 401).await;
    let as_reviewer = app.token("agent@lillemetropole.fr", PASSWORD).await;
    assert_problem(app.get_as(&as_reviewer, &export).await, 403).await;
}

async fn account_changes_refuse_bad_input_and_change_nothing(app: TestApp) {
    let cast = app.cast().await;
    let admin = &cast.admin.token;
    let target = &cast.staff.id;
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({}), 422, "role"),
        (json!({"role": "boss"}), 422, "role"),
        (json!({"active": "non"}), 422, "active"),
        (json!({"password": PASSWORD}), 422, "password"),
    ];
    for (body, status, field) in cases {
        let problem =
            assert_problem(patch_user(&app, admin, target, body.clone()).await, status).await;
        assert!(problem["errors"][field].is_array(), "{body}: {problem}");
    }
    assert_problem(
        patch_user(
            &app,
            admin,
            "01936f4e-0000-7000-8000-00000000dead",
            json!({"active": false}),
        )
        .await,
        404,
    )
    .await;
    // Not one's own account (an admin locking everyone out by mistake).
    let problem = assert_problem(
        patch_user(&app, admin, &cast.admin.id, json!({"role": "staff"})).await,
        409,
    )
    .await;
    assert!(problem["detail"].as_str().unwrap().contains("propre"));
    for token in [
        &cast.applicant.token,
        &cast.reviewer.token,
        &cast.staff.token,
    ] {
        assert_problem(
            patch_user(&app, token, &cast.reviewer.id, json!({"active": false})).await,
            403,
        )
        .await;
    }
    // Nothing changed: every token still works.
    for a in [&cast.staff, &cast.reviewer, &cast.admin] {
        assert_eq!(app.get_as(&a.token, "/api/v1/me").await.status(), 200);
    }
    let me: Value = app
        .get_as(&cast.staff.token, "/api/v1/me")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "staff");
    // A change to what the account already is changes nothing, tokens included.
    let resp = patch_user(
        &app,
        admin,
        target,
        json!({"role": "staff", "active": true}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        app.get_as(&cast.staff.token, "/api/v1/me").await.status(),
        200
    );
}

async fn account_events_are_audited_with_the_client_address(app: TestApp) {
    let cast = app.cast().await;
    assert_eq!(register(&app, "nouveau@exemple.fr").await.status(), 202);
    patch_user(
        &app,
        &cast.admin.token,
        &cast.reviewer.id,
        json!({"active": false}),
    )
    .await
    .error_for_status()
    .unwrap();
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        action: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        actor_id: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        payload: String,
    }
    let rows: Vec<Row> = app
        .db
        .run(|conn| {
            use diesel::RunQueryDsl;
            Ok(diesel::sql_query(
                "SELECT action, actor_id, payload FROM audit_events \
                 WHERE action LIKE 'account.%' ORDER BY at, id",
            )
            .load(conn)?)
        })
        .await
        .unwrap();
    let actions: Vec<&str> = rows.iter().map(|r| r.action.as_str()).collect();
    for expected in [
        "account.created",
        "account.signed_in",
        "account.registered",
        "account.deactivated",
    ] {
        assert!(actions.contains(&expected), "{actions:?}");
    }
    let deactivated = rows
        .iter()
        .find(|r| r.action == "account.deactivated")
        .unwrap();
    assert_eq!(deactivated.actor_id, cast.admin.id);
    let payload: Value = serde_json::from_str(&deactivated.payload).unwrap();
    assert_eq!(payload["user_id"], cast.reviewer.id);
    assert_eq!(payload["client_ip"], "127.0.0.1");
}

// ---------------------------------------------------------------------------------------------
// Throttling

fn limits<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut v = vec![
        ("APP__AUTH__FAILURES_PER_ACCOUNT", "5"),
        ("APP__AUTH__FAILURES_PER_ADDRESS", "20"),
        ("APP__AUTH__ACCOUNT_REQUESTS_PER_ADDRESS_PER_HOUR", "100000"),
    ];
    v.extend_from_slice(extra);
    v
}

async fn sign_in_from(app: &TestApp, forwarded: &str, email: &str, pw: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/auth/token"))
        .header("x-forwarded-for", forwarded)
        .json(&json!({"email": email, "password": pw}))
        .send()
        .await
        .unwrap()
}

fn retry_after(resp: &reqwest::Response) -> u64 {
    resp.headers()
        .get("retry-after")
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

macro_rules! throttle_tests {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use $crate::helpers::Backend;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(Backend::Postgres).await;
            }
        }
    )*};
}

throttle_tests!(
    twelve_successful_sign_ins_from_one_address_all_pass,
    wrong_passwords_on_one_account_are_throttled_whatever_the_forwarded_address,
    failures_from_one_address_are_counted_behind_a_trusted_proxy,
    two_instances_share_the_count,
    registration_has_its_own_limit,
);

/// A committee of twelve signs in from the MEL's office (one address), with a few typos among
/// them: successful sign-ins never count, so nobody is locked out.
async fn twelve_successful_sign_ins_from_one_address_all_pass(backend: Backend) {
    let Some(app) = spawn_app_with(
        backend,
        &limits(&[("APP__AUTH__FAILURES_PER_ADDRESS", "5")]),
    )
    .await
    else {
        return;
    };
    let mut emails = Vec::new();
    for i in 0..12 {
        let email = format!("membre{i}@lillemetropole.fr");
        app.account(Role::Reviewer, &email).await;
        emails.push(email);
    }
    // Each sign-in of `account()` succeeded already; twelve more, plus four typos (under the
    // address's ceiling of five).
    for (i, email) in emails.iter().enumerate() {
        if i % 3 == 0 {
            assert_eq!(
                sign_in(&app, email, "une faute de frappe").await.status(),
                401
            );
        }
        let resp = sign_in(&app, email, PASSWORD).await;
        assert_eq!(resp.status(), 200, "sign-in {i} of {email}");
    }
}

/// Twenty-five wrong passwords on one account, each with a different forged X-Forwarded-For:
/// the per-account count stops them, and changing the header does not help. (Here the test
/// client is even a trusted proxy, so each attempt really counts for a different address.)
async fn wrong_passwords_on_one_account_are_throttled_whatever_the_forwarded_address(
    backend: Backend,
) {
    let Some(app) = spawn_app_with(
        backend,
        &limits(&[("APP__SERVER__TRUSTED_PROXIES", "127.0.0.1")]),
    )
    .await
    else {
        return;
    };
    app.account(Role::Staff, "agent@lillemetropole.fr").await;
    let mut statuses = Vec::new();
    for i in 0..25 {
        let resp = sign_in_from(
            &app,
            &format!("203.0.113.{i}"),
            "agent@lillemetropole.fr",
            &format!("mauvais mot de passe {i}"),
        )
        .await;
        statuses.push(resp.status().as_u16());
        if resp.status() == 429 {
            let wait = retry_after(&resp);
            assert!((1..=900).contains(&wait), "{wait}");
            let problem = assert_problem(resp, 429).await;
            assert!(problem["detail"].as_str().unwrap().contains("Réessayez"));
        }
    }
    assert_eq!(&statuses[..5], &[401; 5]);
    assert!(statuses[5..].iter().all(|&s| s == 429), "{statuses:?}");
    // While throttled, even the right password waits (a guesser must not learn it worked).
    assert_eq!(
        sign_in_from(&app, "198.51.100.1", "agent@lillemetropole.fr", PASSWORD)
            .await
            .status(),
        429
    );
    // Another account from the same addresses is not affected.
    app.account(Role::Staff, "collegue@lillemetropole.fr").await;
}

/// Behind the load balancer (a trusted proxy), the client is the forwarded address: its
/// failures are counted apart from those of the other clients behind the same balancer.
async fn failures_from_one_address_are_counted_behind_a_trusted_proxy(backend: Backend) {
    let Some(app) = spawn_app_with(
        backend,
        &limits(&[
            ("APP__SERVER__TRUSTED_PROXIES", "127.0.0.0/8"),
            ("APP__AUTH__FAILURES_PER_ADDRESS", "3"),
        ]),
    )
    .await
    else {
        return;
    };
    for i in 0..3 {
        let email = format!("inconnu{i}@exemple.fr");
        // A hop forged on the left is ignored: the last untrusted hop is the client.
        let resp = sign_in_from(
            &app,
            &format!("6.6.6.{i}, 198.51.100.4"),
            &email,
            "mauvais mdp",
        )
        .await;
        assert_eq!(resp.status(), 401);
    }
    let resp = sign_in_from(&app, "198.51.100.4", "autre@exemple.fr", "mauvais mdp").await;
    assert_problem(resp, 429).await;
    // Another client behind the same balancer has its own count.
    let resp = sign_in_from(&app, "198.51.100.5", "autre@exemple.fr", "mauvais mdp").await;
    assert_eq!(resp.status(), 401);
}

/// Two instances on one database: failures on either count for both.
async fn two_instances_share_the_count(backend: Backend) {
    let Some(first) = spawn_app_with(backend, &limits(&[])).await else {
        return;
    };
    let second = spawn_app_on(&first).await;
    first.account(Role::Staff, "agent@lillemetropole.fr").await;
    for (i, app) in [&first, &second, &first, &second, &second]
        .iter()
        .enumerate()
    {
        let resp = sign_in(app, "agent@lillemetropole.fr", &format!("mauvais {i}")).await;
        assert_eq!(resp.status(), 401, "attempt {i}");
    }
    assert_problem(
        sign_in(&first, "agent@lillemetropole.fr", "mauvais 5").await,
        429,
    )
    .await;
    assert_problem(
        sign_in(&second, "agent@lillemetropole.fr", "mauvais 6").await,
        429,
    )
    .await;
}

/// Registration (and the requests that send mail) have their own hourly limit per address,
/// apart from sign-in.
async fn registration_has_its_own_limit(backend: Backend) {
    let Some(app) = spawn_app_with(
        backend,
        &limits(&[("APP__AUTH__ACCOUNT_REQUESTS_PER_ADDRESS_PER_HOUR", "3")]),
    )
    .await
    else {
        return;
    };
    for i in 0..3 {
        assert_eq!(
            register(&app, &format!("p{i}@exemple.fr")).await.status(),
            202
        );
    }
    let resp = register(&app, "p3@exemple.fr").await;
    let wait = retry_after(&resp);
    assert!((3000..=3600).contains(&wait), "{wait}");
    assert_problem(resp, 429).await;
    let resp = app
        .post_json(
            None,
            "/api/v1/auth/password-reset",
            &json!({"email": "p0@exemple.fr"}),
        )
        .await;
    assert_problem(resp, 429).await;
    assert_eq!(app.count("users").await, 3);
    // Sign-in is counted apart.
    app.token("p0@exemple.fr", PASSWORD).await;
}

//! What an attack found (issue 32), each closed and tested on both databases: bursts of
//! sign-ins against the throttle, sign-ins racing a password change, the session cookie on
//! API writes, the return path after sign-in, reset links after a password change.

use std::collections::HashMap;

use essor::domain::account::Role;
use futures_util::future::join_all;
use reqwest::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use serde_json::json;

use crate::helpers::{
    Backend, PASSWORD, PDF, TestApp, assert_problem, sample_application, spawn_app_with,
};

const NEW_PASSWORD: &str = "une toute nouvelle phrase de passe";

macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use $crate::helpers::Backend;
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                super::$name(Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                super::$name(Backend::Postgres).await;
            }
        }
    )*};
}

crate::both_backends!(
    a_password_change_ends_every_outstanding_reset_link,
    a_document_download_is_never_stored,
    pasted_invisibles_are_removed_from_api_bodies_and_controls_refused,
    weak_passwords_are_refused_on_register_change_reset_and_invitation,
);

backend_tests!(
    production_cookies_carry_the_host_prefix_and_personal_data_is_not_stored,
    a_burst_of_guesses_on_one_account_gets_at_most_the_limit_of_checks,
    a_burst_from_one_address_gets_at_most_the_limit_of_checks,
    a_burst_of_wrong_passwords_on_my_account_gets_at_most_the_limit_of_checks,
    no_session_signed_in_with_the_old_password_survives_a_change,
);

fn limits<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut v = vec![
        ("APP__AUTH__FAILURES_PER_ACCOUNT", "5"),
        ("APP__AUTH__FAILURES_PER_ADDRESS", "5"),
        ("APP__AUTH__ACCOUNT_REQUESTS_PER_ADDRESS_PER_HOUR", "100000"),
    ];
    v.extend_from_slice(extra);
    v
}

async fn guess(app: &TestApp, email: &str, pw: &str) -> u16 {
    app.client
        .post(app.url("/api/v1/auth/token"))
        .json(&json!({"email": email, "password": pw}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn tally(statuses: &[u16]) -> HashMap<u16, usize> {
    let mut t = HashMap::new();
    for s in statuses {
        *t.entry(*s).or_default() += 1;
    }
    t
}

/// Forty wrong passwords on one account at once (limit 5 per account): at most five are
/// checked (401), the others are refused before any check (429). Before the fix every one
/// of them read a count under the limit and got a 401.
async fn a_burst_of_guesses_on_one_account_gets_at_most_the_limit_of_checks(backend: Backend) {
    let Some(app) = spawn_app_with(
        backend,
        &limits(&[("APP__AUTH__FAILURES_PER_ADDRESS", "1000")]),
    )
    .await
    else {
        return;
    };
    app.account(Role::Staff, "agent@lillemetropole.fr").await;
    let statuses = join_all((0..40).map(|i| {
        let app = &app;
        async move {
            guess(
                app,
                "agent@lillemetropole.fr",
                &format!("mauvais mot de passe {i}"),
            )
            .await
        }
    }))
    .await;
    let t = tally(&statuses);
    assert_eq!(t.values().sum::<usize>(), 40);
    assert!(
        t.keys().all(|s| *s == 401 || *s == 429),
        "only 401 and 429: {t:?}"
    );
    assert!(t.get(&401).copied().unwrap_or(0) <= 5, "{t:?}");
    assert!(t.get(&429).copied().unwrap_or(0) >= 35, "{t:?}");
    // And the right password waits too, now.
    assert_eq!(guess(&app, "agent@lillemetropole.fr", PASSWORD).await, 429);
}

/// The password asked again on « Mon compte » is a sign-in's: forty wrong ones at once on
/// `POST /me/password` and `DELETE /me` together (limit 5 per account) get at most five checks
/// (422), the rest 429, and the account is still there. Before, the erasure read the count
/// and recorded the failure apart, as the sign-in did before point 1 was closed.
async fn a_burst_of_wrong_passwords_on_my_account_gets_at_most_the_limit_of_checks(
    backend: Backend,
) {
    let Some(app) = spawn_app_with(
        backend,
        &limits(&[("APP__AUTH__FAILURES_PER_ADDRESS", "1000")]),
    )
    .await
    else {
        return;
    };
    let me = app.account(Role::Applicant, "porteur@exemple.fr").await;
    let statuses = join_all((0..40).map(|i| {
        let (app, token) = (&app, me.token.clone());
        async move {
            let wrong = format!("mauvais mot de passe {i}");
            let request = if i % 2 == 0 {
                app.client
                    .post(app.url("/api/v1/me/password"))
                    .json(&json!({"current_password": wrong, "new_password": NEW_PASSWORD}))
            } else {
                app.client
                    .delete(app.url("/api/v1/me"))
                    .json(&json!({"password": wrong}))
            };
            request
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    }))
    .await;
    let t = tally(&statuses);
    assert!(
        t.keys().all(|s| *s == 422 || *s == 429),
        "only 422 and 429: {t:?}"
    );
    assert!(t.get(&422).copied().unwrap_or(0) <= 5, "{t:?}");
    assert!(t.get(&429).copied().unwrap_or(0) >= 35, "{t:?}");
    // The right password waits too now, and nothing was erased.
    let resp = app
        .client
        .delete(app.url("/api/v1/me"))
        .bearer_auth(&me.token)
        .json(&json!({"password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(app.get_as(&me.token, "/api/v1/me").await.status(), 200);
}

/// Forty wrong passwords on forty different addresses from one client address at once (limit
/// 5 per address): at most five checks.
async fn a_burst_from_one_address_gets_at_most_the_limit_of_checks(backend: Backend) {
    let Some(app) = spawn_app_with(
        backend,
        &limits(&[("APP__AUTH__FAILURES_PER_ACCOUNT", "1000")]),
    )
    .await
    else {
        return;
    };
    let statuses = join_all((0..40).map(|i| {
        let app = &app;
        async move { guess(app, &format!("inconnu{i}@exemple.fr"), "mauvais mdp").await }
    }))
    .await;
    let t = tally(&statuses);
    assert!(
        t.keys().all(|s| *s == 401 || *s == 429),
        "only 401 and 429: {t:?}"
    );
    assert!(t.get(&401).copied().unwrap_or(0) <= 5, "{t:?}");
    assert!(t.get(&429).copied().unwrap_or(0) >= 35, "{t:?}");
}

/// The cookies a page sets, as `name=value` pairs.
fn cookies(resp: &reqwest::Response) -> Vec<String> {
    resp.headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .filter(|pair| !pair.ends_with('='))
        .collect()
}

fn hidden_csrf(html: &str) -> String {
    let marker = "name=\"_csrf\" value=\"";
    let start = html.find(marker).expect("a CSRF field") + marker.len();
    html[start..start + 64].to_owned()
}

/// The sign-in page's pre-session cookie and CSRF token, fetched before a race so that the
/// race is between the sign-in forms and the change alone.
async fn sign_in_page(app: &TestApp) -> (String, String) {
    let page = app.client.get(app.url("/connexion")).send().await.unwrap();
    sign_in_page_from(page).await
}

async fn sign_in_page_from(page: reqwest::Response) -> (String, String) {
    let jar = cookies(&page).join("; ");
    let csrf = hidden_csrf(&page.text().await.unwrap());
    (jar, csrf)
}

/// A web sign-in form sent; returns the cookie header a browser would then send, when the
/// sign-in succeeded.
async fn web_sign_in(
    app: &TestApp,
    (jar, csrf): (String, String),
    email: &str,
    pw: &str,
) -> Option<String> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("_csrf", csrf.as_str()), ("email", email), ("password", pw)])
        .finish();
    let resp = app
        .client
        .post(app.url("/connexion"))
        .header(COOKIE, jar)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    if resp.status() != 303 {
        return None;
    }
    let session: Vec<String> = cookies(&resp)
        .into_iter()
        .filter(|c| c.contains("essor_session="))
        .collect();
    (!session.is_empty()).then(|| session.join("; "))
}

/// Web sign-ins with the old password racing a password change, round after round: a
/// sign-in that read the old hash before the change must not keep a session that opens
/// `/compte` after it (the change deleted the sessions, but one inserted just after used to
/// survive).
async fn no_session_signed_in_with_the_old_password_survives_a_change(backend: Backend) {
    let Some(app) = spawn_app_with(
        backend,
        &limits(&[
            ("APP__AUTH__FAILURES_PER_ACCOUNT", "100000"),
            ("APP__AUTH__FAILURES_PER_ADDRESS", "100000"),
        ]),
    )
    .await
    else {
        return;
    };
    let mut survivors = 0;
    let mut raced = 0;
    for round in 0..20u64 {
        let email = format!("porteur{round}@exemple.fr");
        let account = app.account(Role::Applicant, &email).await;
        let pages = join_all((0..8).map(|_| sign_in_page(&app))).await;
        let sign_ins = join_all(
            pages
                .into_iter()
                .map(|page| web_sign_in(&app, page, &email, PASSWORD)),
        );
        let change = async {
            // Let the sign-ins read the old hash first (a delay that varies by round, so
            // that some round lands inside their password check), then change it.
            tokio::time::sleep(std::time::Duration::from_millis(2 * round)).await;
            let resp = app
                .post_json(
                    Some(&account.token),
                    "/api/v1/me/password",
                    &json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
                )
                .await;
            assert_eq!(resp.status(), 204);
        };
        let (sessions, ()) = tokio::join!(sign_ins, change);
        for jar in sessions.into_iter().flatten() {
            raced += 1;
            let resp = app
                .client
                .get(app.url("/compte"))
                .header(COOKIE, jar)
                .send()
                .await
                .unwrap();
            if resp.status() == 200 {
                survivors += 1;
            }
        }
    }
    assert!(raced > 0, "no sign-in got a session: the race was not run");
    assert_eq!(
        survivors, 0,
        "{survivors} of {raced} sessions from the old password open /compte"
    );
}

/// A reset link mailed before `POST /me/password` no longer works after it: the change ends
/// every outstanding link (the mailbox it went to may be someone else's now).
async fn a_password_change_ends_every_outstanding_reset_link(app: TestApp) {
    let applicant = app.registered_applicant("porteur@exemple.fr").await;
    let resp = app
        .post_json(
            None,
            "/api/v1/auth/password-reset",
            &json!({"email": "porteur@exemple.fr"}),
        )
        .await;
    assert_eq!(resp.status(), 202);
    let token = app
        .link_token("porteur@exemple.fr", "account_password_reset")
        .await;
    let resp = app
        .post_json(
            Some(&applicant.token),
            "/api/v1/me/password",
            &json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(resp.status(), 204);
    let problem = assert_problem(
        app.post_json(
            None,
            "/api/v1/auth/password-reset/confirm",
            &json!({"token": token, "password": "encore une autre phrase secrète"}),
        )
        .await,
        422,
    )
    .await;
    assert!(problem.to_string().contains("lien"), "{problem}");
    // The password is the one chosen by the change.
    app.token("porteur@exemple.fr", NEW_PASSWORD).await;
}

/// Text pasted from a word processor: its soft hyphens and zero-width spaces are removed
/// silently from an API body; a control or bidi character is refused naming the field.
async fn pasted_invisibles_are_removed_from_api_bodies_and_controls_refused(app: TestApp) {
    let cast = app.cast().await;
    let call = app.published_call(&cast.staff.token, json!({})).await;
    let path = format!(
        "/api/v1/calls/{}/applications",
        call["id"].as_str().unwrap()
    );
    let mut body = sample_application();
    body["project"]["title"] = "Re\u{00AD}cy\u{00AD}clerie\u{200B} du Sart\u{FEFF}".into();
    let resp = app
        .post_json(Some(&cast.applicant.token), &path, &body)
        .await;
    assert_eq!(resp.status(), 201);
    let created: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(created["project"]["title"], "Recyclerie du Sart");

    let mut body = sample_application();
    body["project"]["title"] = "Recyclerie\u{202E}".into();
    let problem = assert_problem(
        app.post_json(Some(&cast.applicant.token), &path, &body)
            .await,
        422,
    )
    .await;
    assert!(
        problem["errors"]["project.title"]
            .to_string()
            .contains("direction"),
        "{problem}"
    );
}

/// With `Secure` cookies (production's default), the CSRF and session cookies are named
/// `__Host-…` (the browser then refuses them from a sibling subdomain, or without HTTPS), and
/// they work; `/compte/donnees` is sent `Cache-Control: no-store`.
async fn production_cookies_carry_the_host_prefix_and_personal_data_is_not_stored(
    backend: Backend,
) {
    let Some(app) = spawn_app_with(backend, &limits(&[("APP__WEB__SECURE_COOKIES", "true")])).await
    else {
        return;
    };
    app.account(Role::Applicant, "porteur@exemple.fr").await;
    let page = app.client.get(app.url("/connexion")).send().await.unwrap();
    let set: Vec<String> = page
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(
        set.iter().any(|c| c.starts_with("__Host-essor_csrf=")
            && c.contains("Secure")
            && c.contains("Path=/")
            && !c.contains("Domain")),
        "{set:?}"
    );
    let (jar, csrf) = sign_in_page_from(page).await;
    let session = web_sign_in(&app, (jar, csrf), "porteur@exemple.fr", PASSWORD)
        .await
        .expect("signed in");
    assert!(session.starts_with("__Host-essor_session="), "{session}");
    let resp = app
        .client
        .get(app.url("/compte"))
        .header(COOKIE, &session)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = app
        .client
        .get(app.url("/compte/donnees"))
        .header(COOKIE, &session)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    // The unprefixed name opens nothing in production.
    let bare = session.replacen("__Host-", "", 1);
    let resp = app
        .client
        .get(app.url("/compte"))
        .header(COOKIE, bare)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303, "sent to sign in");
}

/// A document (statuts, RIB) is downloaded with `Cache-Control: no-store`.
async fn a_document_download_is_never_stored(app: TestApp) {
    let cast = app.cast().await;
    let call = app.published_call(&cast.staff.token, json!({})).await;
    let application = app
        .draft_application(
            &cast.applicant.token,
            call["id"].as_str().unwrap(),
            &sample_application(),
        )
        .await;
    let id = application["id"].as_str().unwrap();
    let resp = app
        .upload(&cast.applicant.token, id, "statuts", PDF, "statuts.pdf")
        .await;
    assert_eq!(resp.status(), 201);
    let doc: serde_json::Value = resp.json().await.unwrap();
    let resp = app
        .get_as(
            &cast.applicant.token,
            &format!(
                "/api/v1/applications/{id}/documents/{}",
                doc["id"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
}

/// The passwords the attack got through on length alone, refused wherever a password is
/// chosen with a French reason naming the field: register, change (also the account's own
/// name) and reset (where the refusal leaves the link usable).
async fn weak_passwords_are_refused_on_register_change_reset_and_invitation(app: TestApp) {
    for weak in ["password1234", "aaaaaaaaaaaa", "123456789012"] {
        let problem = assert_problem(
            app.post_json(
                None,
                "/api/v1/auth/register",
                &json!({"email": "faible@exemple.fr", "password": weak, "full_name": "Jeanne Dupont"}),
            )
            .await,
            422,
        )
        .await;
        let msg = problem["errors"]["password"].to_string();
        assert!(msg.contains("trop facile à deviner"), "{weak}: {problem}");
        assert!(
            msg.contains("phrase de plusieurs mots"),
            "{weak}: {problem}"
        );
    }
    // None of them created the account.
    let resp = app
        .post_json(
            None,
            "/api/v1/auth/token",
            &json!({"email": "faible@exemple.fr", "password": "password1234"}),
        )
        .await;
    assert_eq!(resp.status(), 401);

    let applicant = app.registered_applicant("porteur@exemple.fr").await;
    for weak in ["password1234", "jeannedupont", "Jeanne Dupont!"] {
        let problem = assert_problem(
            app.post_json(
                Some(&applicant.token),
                "/api/v1/me/password",
                &json!({"current_password": PASSWORD, "new_password": weak}),
            )
            .await,
            422,
        )
        .await;
        let msg = problem["errors"]["new_password"].to_string();
        assert!(msg.contains("trop facile à deviner"), "{weak}: {problem}");
    }
    // Unchanged, and the refusals were not counted as failed sign-ins.
    app.token("porteur@exemple.fr", PASSWORD).await;

    let resp = app
        .post_json(
            None,
            "/api/v1/auth/password-reset",
            &json!({"email": "porteur@exemple.fr"}),
        )
        .await;
    assert_eq!(resp.status(), 202);
    let token = app
        .link_token("porteur@exemple.fr", "account_password_reset")
        .await;
    for weak in ["123456789012", "jeannedupont"] {
        let problem = assert_problem(
            app.post_json(
                None,
                "/api/v1/auth/password-reset/confirm",
                &json!({"token": token, "password": weak}),
            )
            .await,
            422,
        )
        .await;
        let msg = problem["errors"]["password"].to_string();
        assert!(msg.contains("trop facile à deviner"), "{weak}: {problem}");
    }
    // The refusal after reading the link rolled its consumption back: it still works.
    let resp = app
        .post_json(
            None,
            "/api/v1/auth/password-reset/confirm",
            &json!({"token": token, "password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(resp.status(), 204);
    app.token("porteur@exemple.fr", NEW_PASSWORD).await;

    // An invitation's first password too; the link still works after the refusals.
    let admin = app.account(Role::Admin, "admin@lillemetropole.fr").await;
    let resp = app
        .post_json(
            Some(&admin.token),
            "/api/v1/users/invitations",
            &json!({"email": "invite@exemple.fr", "full_name": "Jeanne Invitée", "role": "reviewer"}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let token = app
        .link_token("invite@exemple.fr", "account_invitation")
        .await;
    for weak in ["password1234", "aaaaaaaaaaaa", "jeanneinvitee"] {
        let problem = assert_problem(
            app.post_json(
                None,
                "/api/v1/auth/invitations/accept",
                &json!({"token": token, "password": weak}),
            )
            .await,
            422,
        )
        .await;
        let msg = problem["errors"]["password"].to_string();
        assert!(msg.contains("trop facile à deviner"), "{weak}: {problem}");
    }
    let resp = app
        .post_json(
            None,
            "/api/v1/auth/invitations/accept",
            &json!({"token": token, "password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(resp.status(), 204);
    app.token("invite@exemple.fr", NEW_PASSWORD).await;
}

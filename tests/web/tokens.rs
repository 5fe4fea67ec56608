//! « Mes jetons d'accès » (/compte/jetons) in a real Chromium: an empty list, a refused form
//! that comes back with its values and errors, a token created (its secret shown once, and
//! working on the API), revoked (and refused at once). axe-core on every page, screenshots.

use essor::domain::account::Role;
use fantoccini::Locator;
use tokio::sync::Mutex;

use crate::browser::Browser;
use crate::helpers::{PASSWORD, TestApp};

static BROWSER: Mutex<()> = Mutex::const_new(());

fn backend_name(app: &TestApp) -> &'static str {
    if app.settings.database.url.starts_with("sqlite") {
        "sqlite"
    } else {
        "postgres"
    }
}

async fn a_reviewer_creates_uses_and_revokes_a_token(app: TestApp) {
    let _one = BROWSER.lock().await;
    let Some(mut b) = Browser::open(
        &app.address,
        &format!("jetons-{}", backend_name(&app)),
        true,
    )
    .await
    else {
        return;
    };
    app.account(Role::Reviewer, "membre.comite@exemple.fr")
        .await;
    b.goto("/connexion?retour=%2Fcompte%2Fjetons").await;
    b.fill("email", "membre.comite@exemple.fr").await;
    b.fill("password", PASSWORD).await;
    b.press("Se connecter").await;
    b.goto("/compte/jetons").await;
    assert_eq!(b.h1().await, "Mes jetons d'accès");
    assert!(b.body().await.contains("Vous n'avez pas encore de jeton."));
    // A reviewer is offered the reviewer's scopes only.
    let body = b.body().await;
    assert!(
        body.contains("review : évaluer") && !body.contains("export :"),
        "{body}"
    );
    b.check_page("jetons").await;

    // No name, no scope: refused; the page comes back with the errors and the values.
    let expires = b.value("expires_on").await;
    b.fill("name", "").await;
    b.click_id("scopes").await;
    b.click_id("scopes-review").await;
    b.press("Créer le jeton").await;
    assert!(
        b.title().await.starts_with("Erreur : "),
        "{}",
        b.title().await
    );
    let summary = b.text("#error-summary").await;
    assert!(
        summary.contains("Le nom du jeton est obligatoire"),
        "{summary}"
    );
    assert!(
        summary.contains("Choisissez au moins une portée"),
        "{summary}"
    );
    assert!(b.text("#name-error").await.contains("obligatoire"));
    assert_eq!(b.value("expires_on").await, expires);
    b.check_page("jetons-erreurs").await;

    // Created: the secret is shown once, and opens the API.
    b.fill("name", "Tableur du comité").await;
    b.click_id("scopes").await;
    b.click_id("scopes-review").await;
    b.press("Créer le jeton").await;
    assert!(
        b.title().await.starts_with("Jeton créé"),
        "{}",
        b.title().await
    );
    let secret = b.text("#secret").await;
    assert!(secret.starts_with("essor_pat_"), "{secret}");
    b.check_page("jetons-cree").await;
    let me = app.get_as(&secret, "/api/v1/me").await;
    assert_eq!(me.status(), 200);
    // Shown once: the list shows its first characters only.
    b.goto("/compte/jetons").await;
    let body = b.body().await;
    assert!(
        !body.contains(&secret) && body.contains("Tableur du comité"),
        "{body}"
    );
    assert!(body.contains(&secret[..16]));

    // Revoked from the page: refused by the API at once.
    b.press("Révoquer").await;
    assert_eq!(b.path().await, "/compte/jetons?revoque=1");
    assert!(b.body().await.contains("révoqué"));
    assert!(
        b.client
            .find(Locator::XPath("//button[contains(., 'Révoquer')]"))
            .await
            .is_err(),
        "no revoke button on a revoked token"
    );
    b.check_page("jetons-revoque").await;
    assert_eq!(app.get_as(&secret, "/api/v1/me").await.status(), 401);
    b.close().await;
}

/// The forms carry the CSRF token: a post without it changes nothing.
async fn the_token_forms_need_the_csrf_token(app: TestApp) {
    app.account(Role::Reviewer, "membre@exemple.fr").await;
    let resp = app
        .client
        .post(app.url("/compte/jetons"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("name=x&scopes=read&expires_on=2027-01-01")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert_eq!(app.count("personal_tokens").await, 0);
    // Signed out, the page leads to the sign-in page and back.
    let resp = app.get("/compte/jetons").await;
    assert_eq!(resp.status(), 303);
    assert_eq!(
        resp.headers()["location"].to_str().unwrap(),
        "/connexion?retour=%2Fcompte%2Fjetons"
    );
}

crate::both_backends!(
    a_reviewer_creates_uses_and_revokes_a_token,
    the_token_forms_need_the_csrf_token
);

//! « Mon compte » in a real Chromium (issue 20): correcting one's name, the refused deletion
//! while an application is examined, then the deletion; axe-core on every page, screenshots.

use essor::domain::account::Role;
use fantoccini::Locator;
use serde_json::json;
use tokio::sync::Mutex;

use crate::browser::Browser;
use crate::helpers::{PASSWORD, TestApp};

/// One Chromium at a time in this file (as in journey.rs).
static BROWSER: Mutex<()> = Mutex::const_new(());

async fn account_page_renames_refuses_then_deletes(app: TestApp) {
    let _one = BROWSER.lock().await;
    let backend = if app.settings.database.url.starts_with("sqlite") {
        "sqlite"
    } else {
        "postgres"
    };
    let Some(mut b) = Browser::open(&app.address, &format!("compte-{backend}"), true).await else {
        return;
    };
    let staff = app.account(Role::Staff, "agent@lillemetropole.fr").await;
    let applicant = app.account(Role::Applicant, "porteur@exemple.fr").await;
    let call = app.published_call(&staff.token, json!({})).await;
    let submitted = app
        .submitted_application(&applicant.token, call["id"].as_str().unwrap())
        .await;
    let reference = submitted["reference"].as_str().unwrap();

    b.goto("/connexion").await;
    b.fill("email", "porteur@exemple.fr").await;
    b.fill("password", PASSWORD).await;
    b.press("Se connecter").await;

    b.goto("/compte").await;
    assert_eq!(b.h1().await, "Mon compte");
    assert_eq!(b.title().await.split(" – ").next().unwrap(), "Mon compte");
    let body = b.body().await;
    assert!(body.contains("porteur@exemple.fr"));
    for href in ["/compte/donnees", "/compte/jetons", "/donnees-personnelles"] {
        b.client
            .find(Locator::Css(&format!("a[href='{href}']")))
            .await
            .unwrap_or_else(|e| panic!("a link to {href}: {e}"));
    }
    b.visit("compte").await;

    // An empty name: the error at the top and beside the field.
    b.fill("full_name", " ").await;
    b.press("Enregistrer le nom").await;
    assert!(b.title().await.starts_with("Erreur : "));
    assert!(b.text("#error-summary").await.contains("nom complet"));
    assert!(b.text("#full_name-error").await.contains("nom complet"));
    b.visit("compte-erreur").await;

    b.fill("full_name", "Jeanne Renommée").await;
    b.press("Enregistrer le nom").await;
    assert_eq!(b.path().await, "/compte?modifie=1");
    assert!(b.body().await.contains("Votre nom a été modifié"));
    assert_eq!(b.value("full_name").await, "Jeanne Renommée");
    let me: serde_json::Value = app
        .get_as(&applicant.token, "/api/v1/me")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["full_name"], "Jeanne Renommée");

    b.click("Supprimer mon compte").await;
    assert_eq!(b.path().await, "/compte/suppression");
    b.visit("compte-suppression").await;
    b.press("Supprimer définitivement").await;
    assert!(b.text("#password-error").await.contains("mot de passe"));
    b.visit("compte-suppression-erreur").await;

    // The application is being examined: refused, and said why.
    b.fill("password", PASSWORD).await;
    b.press("Supprimer définitivement").await;
    let body = b.body().await;
    assert!(body.contains("Suppression impossible"), "{body}");
    assert!(body.contains(reference), "{body}");
    b.visit("compte-suppression-refusee").await;
    assert_eq!(
        app.get_as(&applicant.token, "/api/v1/me").await.status(),
        200
    );

    // Withdrawn: the deletion goes through.
    let resp = app
        .post_json(
            Some(&applicant.token),
            &format!(
                "/api/v1/applications/{}/withdraw",
                submitted["id"].as_str().unwrap()
            ),
            &json!({"reason": "Projet abandonné."}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    b.fill("password", PASSWORD).await;
    b.press("Supprimer définitivement").await;
    assert_eq!(b.path().await, "/compte/supprime");
    assert_eq!(b.h1().await, "Votre compte a été supprimé");
    b.visit("compte-supprime").await;
    assert_eq!(
        app.get_as(&applicant.token, "/api/v1/me").await.status(),
        401
    );
    b.goto("/compte").await;
    assert_eq!(b.path().await, "/connexion?retour=%2Fcompte");
    b.close().await;
}

crate::both_backends!(account_page_renames_refuses_then_deletes);

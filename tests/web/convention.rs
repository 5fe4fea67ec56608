//! The convention (DESIGN.md §15) through the pages, in a real Chromium over both databases:
//! the beneficiary reads « Mon financement », signs the convention on its page (refused first
//! without the acceptance, the values kept), staff countersign it, then declare the grant
//! lapsed (refused first without a motivation). axe-core and screenshots on every page.

use essor::domain::account::Role;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::browser::Browser;
use crate::helpers::{PASSWORD, TestApp};

/// One Chromium at a time (the machine's cores are few).
static BROWSER: Mutex<()> = Mutex::const_new(());

fn backend_name(app: &TestApp) -> &'static str {
    if app.settings.database.url.starts_with("sqlite") {
        "sqlite"
    } else {
        "postgres"
    }
}

async fn sign_in(b: &Browser, email: &str) {
    b.goto("/connexion").await;
    b.fill("email", email).await;
    b.fill("password", PASSWORD).await;
    b.press("Se connecter").await;
    assert!(
        !b.path().await.starts_with("/connexion"),
        "{email} signed in"
    );
}

async fn grant_state(app: &TestApp, token: &str) -> Value {
    let grants: Value = app
        .get_as(token, "/api/v1/grants")
        .await
        .json()
        .await
        .unwrap();
    grants[0]["state"].clone()
}

async fn the_beneficiary_signs_and_staff_countersign_in_the_pages(app: TestApp) {
    let _one = BROWSER.lock().await;
    let label = format!("convention-{}", backend_name(&app));
    let Some(mut b) = Browser::open(&app.address, &label, true).await else {
        return;
    };
    // Setup through the API: a call that requires a convention, an application awarded.
    let staff = app.account(Role::Staff, "agent@lillemetropole.fr").await;
    let applicant = app.account(Role::Applicant, "porteur@exemple.fr").await;
    let reviewer = app.account(Role::Reviewer, "expert@exemple.fr").await;
    let call = app
        .published_call(
            &staff.token,
            json!({"min_reviews": 1, "budget_cents": 5_000_000, "convention": "always"}),
        )
        .await;
    let a = app
        .submitted_application(&applicant.token, call["id"].as_str().unwrap())
        .await;
    let id = a["id"].as_str().unwrap();
    let asg = app.start_review(&staff.token, id, &[&reviewer]).await;
    app.review(&reviewer, &asg[0], [5, 4, 4, 4, 4]).await;
    let resp = app
        .post_json(
            Some(&staff.token),
            &format!("/api/v1/applications/{id}/decision"),
            &json!({"outcome": "accepted", "awarded_cents": 1_850_000,
                    "motivation": "Projet structurant pour le quartier.",
                    "committee_date": "2026-11-02", "decision_reference": "DEL-2026-0042"}),
        )
        .await;
    assert_eq!(resp.status(), 200);

    // The beneficiary: « Mon financement » offers to sign.
    sign_in(&b, "porteur@exemple.fr").await;
    b.goto(&format!("/candidatures/{id}")).await;
    let body = b.body().await;
    assert!(body.contains("Mon financement"), "{body}");
    assert!(
        body.contains("Convention d'attribution de subvention"),
        "the convention's link: {body}"
    );
    assert!(body.contains("attend la signature"), "{body}");
    b.visit("1-mon-financement-a-signer").await;
    b.click("Signer la convention").await;
    assert_eq!(b.path().await, format!("/candidatures/{id}/convention"));
    assert_eq!(b.h1().await, "Signer la convention");
    assert!(b.body().await.contains("Lire la convention (PDF)"));
    b.visit("2-signer").await;

    // Without the acceptance: refused, the typed values kept, the error beside the box.
    b.fill("signatory_name", "Léa Dupont").await;
    b.fill("signatory_quality", "").await;
    b.press("Signer la convention").await;
    assert_eq!(b.path().await, format!("/candidatures/{id}/convention"));
    assert!(
        b.title().await.starts_with("Erreur : "),
        "{}",
        b.title().await
    );
    let body = b.body().await;
    assert!(body.contains("Cochez la case pour accepter"), "{body}");
    assert!(body.contains("Ce champ est obligatoire"), "{body}");
    assert_eq!(b.value("signatory_name").await, "Léa Dupont");
    b.visit("3-signer-erreurs").await;
    assert_eq!(grant_state(&app, &staff.token).await, "awaiting_signature");

    b.fill("signatory_quality", "Présidente").await;
    b.click_id("accept").await;
    b.press("Signer la convention").await;
    assert_eq!(b.path().await, format!("/candidatures/{id}?signee=1"));
    let body = b.body().await;
    assert!(body.contains("Vous avez signé la convention"), "{body}");
    assert!(body.contains("par Léa Dupont (Présidente)"), "{body}");
    assert!(
        body.contains("Convention d'attribution de subvention signée"),
        "the signed convention's link: {body}"
    );
    assert!(!body.contains("attend la signature"), "{body}");
    b.visit("4-signee").await;
    assert_eq!(grant_state(&app, &staff.token).await, "signed");
    // Once signed, the signature page sends back to the application.
    b.goto(&format!("/candidatures/{id}/convention")).await;
    assert_eq!(b.path().await, format!("/candidatures/{id}"));

    // The bank details: a wrong key is refused beside the field, the typed value kept; then
    // the page shows the account masked.
    b.click("Indiquer les coordonnées bancaires").await;
    assert_eq!(b.h1().await, "Coordonnées bancaires");
    b.visit("4b-banque").await;
    b.fill("iban", "FR76 3000 6000 0112 3456 7890 188").await;
    b.fill("bic", "AGRIFRPP867").await;
    b.fill("holder", "Les Ateliers du Sart").await;
    b.press("Enregistrer les coordonnées bancaires").await;
    assert!(
        b.title().await.starts_with("Erreur : "),
        "{}",
        b.title().await
    );
    assert!(
        b.text("#iban-error")
            .await
            .contains("clé de l'IBAN est fausse")
    );
    assert_eq!(b.value("iban").await, "FR76 3000 6000 0112 3456 7890 188");
    b.visit("4c-banque-erreur").await;
    b.fill("iban", "FR76 3000 6000 0112 3456 7890 189").await;
    b.press("Enregistrer les coordonnées bancaires").await;
    assert_eq!(b.path().await, format!("/candidatures/{id}?banque=1"));
    let body = b.body().await;
    assert!(body.contains("FR76 •••• •••• 0189"), "{body}");
    // The advance, fired by the signature, is requested now that the account is known.
    assert!(body.contains("Les versements"), "{body}");
    assert!(body.contains("Demandé au service financier"), "{body}");
    assert!(body.contains("Avance (80 %) 14 800 €"), "{body}");
    assert!(!body.contains("30006000011234567890"), "{body}");
    b.visit("4d-banque-enregistree").await;
    b.close().await;

    // The reviewer's page of the application shows neither the account nor the RIB.
    let Some(b) = Browser::open(&app.address, &label, true).await else {
        return;
    };
    sign_in(&b, "expert@exemple.fr").await;
    b.goto(&format!("/evaluations/{}", asg[0])).await;
    let body = b.body().await;
    assert!(
        body.contains("Recyclerie de quartier"),
        "the reviewer's page: {body}"
    );
    for secret in [
        "30006000011234567890",
        "•••• ••••",
        "rib.pdf",
        "AGRIFRPP867",
    ] {
        assert!(
            !body.contains(secret),
            "« {secret} » on the reviewer's page"
        );
    }
    b.close().await;

    // Staff countersign from the application's page.
    let Some(mut b) = Browser::open(&app.address, &label, true).await else {
        return;
    };
    sign_in(&b, "agent@lillemetropole.fr").await;
    b.goto(&format!("/gestion/candidatures/{id}")).await;
    let body = b.body().await;
    assert!(body.contains("Le financement"), "{body}");
    assert!(body.contains("Léa Dupont (Présidente)"), "{body}");
    // Staff read the whole IBAN (the finance service pays on it).
    assert!(body.contains("FR76 3000 6000 0112 3456 7890 189"), "{body}");
    b.visit("5-a-contresigner").await;
    b.press("Contresigner la convention").await;
    assert_eq!(b.path().await, format!("/gestion/candidatures/{id}?fait=1"));
    assert!(b.body().await.contains("contresignée le"));
    assert_eq!(grant_state(&app, &staff.token).await, "running");
    b.visit("6-contresignee").await;

    // The call's grants, by state, from its dashboard.
    b.goto(&format!("/gestion/appels/{}", call["id"].as_str().unwrap()))
        .await;
    b.click("Financements").await;
    assert_eq!(b.h1().await, "Financements");
    let body = b.body().await;
    assert!(body.contains("En cours (1)"), "{body}");
    assert!(
        body.contains("remettre le compte rendu financier"),
        "{body}"
    );
    assert!(body.contains(a["reference"].as_str().unwrap()), "{body}");
    b.visit("6b-financements").await;
    b.goto(&format!("/gestion/candidatures/{id}")).await;

    // Lapse: a motivation is required; then the grant is lapsed.
    b.press("Déclarer la subvention caduque").await;
    assert!(
        b.title().await.starts_with("Erreur : "),
        "{}",
        b.title().await
    );
    assert!(b.body().await.contains("Ce champ est obligatoire"));
    assert_eq!(grant_state(&app, &staff.token).await, "running");
    b.visit("7-caducite-erreur").await;
    b.fill(
        "lapse_motivation",
        "Le projet n'a pas démarré dans l'année.",
    )
    .await;
    b.press("Déclarer la subvention caduque").await;
    assert_eq!(b.path().await, format!("/gestion/candidatures/{id}?fait=1"));
    assert!(b.body().await.contains("Caduc"), "{}", b.body().await);
    assert_eq!(grant_state(&app, &staff.token).await, "lapsed");
    // The advance requested but not ordered is cancelled with the grant.
    assert!(b.body().await.contains("Annulé"), "{}", b.body().await);
    b.visit("8-caduque").await;
    b.close().await;
}

crate::both_backends!(the_beneficiary_signs_and_staff_countersign_in_the_pages);

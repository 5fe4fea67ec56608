//! The applicant's documents page (issue 26) in a real Chromium, JavaScript off, on both
//! databases: the piece offered is the first one missing (then an annex, never a piece already
//! in), each upload is confirmed with its kind, files are links, no file chosen reads
//! « Choisissez un fichier », and a file chosen but not added when « Continuer » is pressed is
//! said, not dropped.

use std::path::PathBuf;

use essor::domain::account::Role;
use fantoccini::Locator;
use serde_json::json;
use tokio::sync::Mutex;

use crate::browser::Browser;
use crate::helpers::{PASSWORD, PDF, TestApp, sample_application};

static BROWSER: Mutex<()> = Mutex::const_new(());

fn backend_name(app: &TestApp) -> &'static str {
    if app.settings.database.url.starts_with("sqlite") {
        "sqlite"
    } else {
        "postgres"
    }
}

fn pdf(dir: &std::path::Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, PDF).unwrap();
    path
}

async fn documents_page_guides_each_upload(app: TestApp) {
    let _one = BROWSER.lock().await;
    let Some(mut b) = Browser::open(
        &app.address,
        &format!("pieces-{}", backend_name(&app)),
        false,
    )
    .await
    else {
        return;
    };
    let files = tempfile::tempdir().unwrap();
    let staff = app.account(Role::Staff, "agent@lillemetropole.fr").await;
    let applicant = app.account(Role::Applicant, "porteur@exemple.fr").await;
    let call = app.published_call(&staff.token, json!({})).await;
    let a = app
        .draft_application(
            &applicant.token,
            call["id"].as_str().unwrap(),
            &sample_application(),
        )
        .await;
    let id = a["id"].as_str().unwrap().to_owned();
    let pieces = format!("/candidatures/{id}/pieces");

    b.goto("/connexion").await;
    b.fill("email", "porteur@exemple.fr").await;
    b.fill("password", PASSWORD).await;
    b.press("Se connecter").await;
    b.goto(&pieces).await;
    assert_eq!(b.value("kind").await, "statuts", "the first piece missing");

    // No file chosen: said in the page's words.
    b.press("Ajouter ce fichier").await;
    assert!(b.title().await.starts_with("Erreur : "));
    let error = b.text("#file-error").await;
    assert!(error.contains("Choisissez un fichier"), "{error}");
    assert!(!b.body().await.contains("le fichier est vide"));
    b.visit("pieces-aucun-fichier").await;

    for (kind, label, name, next) in [
        (
            "statuts",
            "Statuts à jour",
            "statuts.pdf",
            "budget_previsionnel",
        ),
        (
            "budget_previsionnel",
            "Budget prévisionnel du projet",
            "budget-2027.pdf",
            "rib",
        ),
        ("rib", "Relevé d'identité bancaire", "rib.pdf", "annexe"),
    ] {
        assert_eq!(b.value("kind").await, kind);
        b.upload("file", &pdf(files.path(), name)).await;
        b.press("Ajouter ce fichier").await;
        assert!(b.path().await.starts_with(&format!("{pieces}?ajoutee=")));
        let notice = b.text("#piece-ajoutee").await;
        assert_eq!(notice, format!("Pièce ajoutée : {label} – {name}"));
        assert_eq!(b.value("kind").await, next, "after {name}");
    }
    b.visit("pieces-ajoutee").await;
    // Each file is a link that downloads it.
    let links = b
        .client
        .find_all(Locator::Css("ul.documents a[download]"))
        .await
        .unwrap();
    assert_eq!(links.len(), 3);
    let href = links[0].attr("href").await.unwrap().unwrap();
    assert!(href.starts_with(&format!("/api/v1/applications/{id}/documents/")));
    assert_eq!(links[0].text().await.unwrap(), "statuts.pdf");

    // A file chosen, then « Continuer »: said, nothing lost silently.
    b.upload("file", &pdf(files.path(), "annexe-devis.pdf"))
        .await;
    b.press("Continuer : vérifier vos réponses").await;
    assert!(b.path().await.starts_with(&pieces), "{}", b.path().await);
    let summary = b.text(".error-summary").await;
    assert!(
        summary.contains("« annexe-devis.pdf »") && summary.contains("n'a pas été ajouté"),
        "{summary}"
    );
    b.visit("pieces-fichier-non-ajoute").await;
    let docs: Vec<serde_json::Value> = app
        .get_as(
            &applicant.token,
            &format!("/api/v1/applications/{id}/documents"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        docs.len(),
        3,
        "the annex was not added behind the applicant's back"
    );
    // Nothing chosen: « Continuer » continues.
    b.press("Continuer : vérifier vos réponses").await;
    assert_eq!(b.path().await, format!("/candidatures/{id}/verifier"));
    b.close().await;
}

crate::both_backends!(documents_page_guides_each_upload);

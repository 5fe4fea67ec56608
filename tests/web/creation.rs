//! Step 1 asks « Votre structure existe-t-elle déjà ? » first and shows only what the answer
//! needs (DESIGN.md §16), by the stylesheet alone (`:has`, no script): a structure in creation
//! gives its holder and no SIRET; a refusal comes back beside the field with the answer kept.
//! In a real Chromium, axe-core and screenshots at 1280 and 375 px.

use essor::domain::account::Role;
use serde_json::json;
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

async fn a_structure_in_creation_answers_only_what_applies(app: TestApp) {
    let _one = BROWSER.lock().await;
    let label = format!("creation-{}", backend_name(&app));
    let Some(mut b) = Browser::open(&app.address, &label, true).await else {
        return;
    };
    let staff = app.account(Role::Staff, "agent@lillemetropole.fr").await;
    app.account(Role::Applicant, "julie@exemple.fr").await;
    let call = app.published_call(&staff.token, json!({})).await;
    let call_id = call["id"].as_str().unwrap();

    b.goto("/connexion").await;
    b.fill("email", "julie@exemple.fr").await;
    b.fill("password", PASSWORD).await;
    b.press("Se connecter").await;
    b.goto(&format!("/appels/{call_id}/candidater")).await;
    assert!(b.path().await.ends_with("/candidater/structure"));
    // Nothing chosen yet: a registered structure's fields.
    assert!(b.shown("siret").await);
    assert!(!b.shown("holder_name").await);
    assert!(!b.shown("host_siret").await);
    b.visit("1-existe-t-elle").await;

    // In creation: the holder, no SIRET, no date.
    b.click_id("status-in_creation").await;
    assert!(b.shown("holder_name").await);
    assert!(!b.shown("siret").await);
    assert!(!b.shown("created_on").await);
    assert!(!b.shown("host_siret").await);
    // Hosted: the host too.
    b.click_id("status-hosted").await;
    assert!(b.shown("host_siret").await);
    assert!(b.shown("holder_name").await);
    assert!(!b.shown("siret").await);
    b.click_id("status-in_creation").await;
    b.fits_at_375("step 1 in creation").await;

    // The holder forgotten: refused beside it, the answer kept.
    b.fill("name", "Le Café des Parents").await;
    b.select("legal_form", "association").await;
    b.fill("address", "12 rue de Lannoy").await;
    b.fill("postal_code", "59100").await;
    b.fill("commune", "Roubaix").await;
    b.fill("employees", "0").await;
    b.click_id("esus-none").await;
    b.click_id("rcs_ess_mention-non").await;
    b.click_id("in_insolvency_proceedings-non").await;
    b.press("Enregistrer et continuer").await;
    let error = b.text("#holder_name-error").await.to_lowercase();
    assert!(error.contains("la personne qui porte le projet"), "{error}");
    assert!(b.shown("holder_name").await, "the answer is kept");
    assert!(!b.shown("siret").await);
    b.visit("2-sans-porteur").await;
    b.fill("holder_name", "Julie Martin").await;
    b.press("Enregistrer et continuer").await;
    assert!(
        b.path().await.ends_with("/candidater/projet"),
        "{}",
        b.path().await
    );
    b.close().await;
}

crate::both_backends!(a_structure_in_creation_answers_only_what_applies);

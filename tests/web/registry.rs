//! The State's services on the pages (DESIGN.md §17), against the local fakes: step 1's
//! « Vérifier avec le numéro SIRET » fills the form from the companies' register, or says
//! beside the field why it cannot; the agent reads the register's evidence and its flags on
//! the application's page; the exports page publishes the SCDL file on data.gouv.fr. In a
//! real Chromium, axe-core and screenshots at 1280 and 375 px.

use essor::domain::account::Role;
use serde_json::json;
use tokio::sync::Mutex;

use crate::browser::Browser;
use crate::fakes;
use crate::helpers::{Backend, PASSWORD, TestApp, sample_application, spawn_app_with};

static BROWSER: Mutex<()> = Mutex::const_new(());

async fn run(backend: Backend) {
    let register = fakes::register().await;
    let data_gouv = fakes::data_gouv().await;
    let mut settings = fakes::register_settings(&register);
    settings.extend(fakes::data_gouv_settings(&data_gouv));
    let extra: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let Some(app) = spawn_app_with(backend, &extra).await else {
        return;
    };
    let name = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    the_state_services_on_the_pages(app, name, &data_gouv).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    run(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    run(Backend::Postgres).await;
}

async fn sign_in(b: &Browser, email: &str) {
    b.goto("/connexion").await;
    b.fill("email", email).await;
    b.fill("password", PASSWORD).await;
    b.press("Se connecter").await;
}

async fn the_state_services_on_the_pages(
    app: TestApp,
    backend: &str,
    data_gouv: &fakes::FakeDataGouv,
) {
    let _one = BROWSER.lock().await;
    let Some(mut b) = Browser::open(&app.address, &format!("registre-{backend}"), true).await
    else {
        return;
    };
    let staff = app.account(Role::Staff, "agent@lillemetropole.fr").await;
    let applicant = app.account(Role::Applicant, "julie@exemple.fr").await;
    let call = app.published_call(&staff.token, json!({})).await;
    let call_id = call["id"].as_str().unwrap();

    // Step 1: the SIRET checked, the form filled from the register, nothing saved yet.
    sign_in(&b, "julie@exemple.fr").await;
    b.goto(&format!("/appels/{call_id}/candidater")).await;
    b.fill("siret", "510 203 040 00017").await;
    b.press("Vérifier avec le numéro SIRET").await;
    assert!(
        b.path().await.ends_with("/candidater/structure"),
        "{}",
        b.path().await
    );
    let notice = b.text(".notice").await;
    assert!(
        notice.contains("Le registre des entreprises indique"),
        "{notice}"
    );
    assert!(notice.contains("LES ATELIERS DU SART"), "{notice}");
    assert_eq!(b.value("name").await, "LES ATELIERS DU SART");
    assert_eq!(b.value("legal_form").await, "association");
    assert_eq!(b.value("address").await, "12 RUE DE LANNOY");
    assert_eq!(b.value("postal_code").await, "59650");
    assert_eq!(b.value("commune").await, "Villeneuve-d'Ascq");
    assert_eq!(b.value("rna").await, "W595012345");
    b.visit("1-siret-verifie").await;
    b.fits_at_375("step 1 filled from the register").await;

    // A SIRET the register does not know: said beside the field, what was typed kept.
    b.fill("siret", &crate::helpers::distinct_siret()).await;
    b.fill("name", "Le nom que j'ai tapé").await;
    b.press("Vérifier avec le numéro SIRET").await;
    let error = b.text("#siret-error").await;
    assert!(error.contains("Aucun établissement"), "{error}");
    assert_eq!(b.value("name").await, "Le nom que j'ai tapé");
    assert!(b.title().await.starts_with("Erreur"), "{}", b.title().await);
    b.visit("2-siret-inconnu").await;

    // An application of a closed Parisian company, submitted through the API: the agent
    // reads what the register said, with what to check.
    let mut body = sample_application();
    body["organisation"]["siret"] = json!(fakes::CLOSED);
    let draft = app
        .draft_application(&applicant.token, call_id, &body)
        .await;
    let id = draft["id"].as_str().unwrap();
    app.submit_with_documents(&applicant.token, id).await;
    b.press("Se déconnecter").await;
    sign_in(&b, "agent@lillemetropole.fr").await;
    b.goto(&format!("/gestion/candidatures/{id}")).await;
    let page = b.body().await;
    assert!(page.contains("Au registre des entreprises"), "{page}");
    assert!(page.contains("établissement ou structure fermé au registre"));
    assert!(page.contains("siège hors de la Métropole européenne de Lille"));
    assert!(page.contains("ANCIENNE SAS"));
    b.visit("3-registre-agent").await;
    b.fits_at_375("the register's evidence on the agent's page")
        .await;

    // The exports page: a dry run, then the publication.
    b.goto(&format!("/gestion/appels/{call_id}/exports")).await;
    b.press("Vérifier sans publier").await;
    let notice = b.text(".notice").await;
    assert!(notice.contains("rien n'a été envoyé"), "{notice}");
    assert!(data_gouv.uploads.lock().unwrap().is_empty());
    b.visit("4-data-gouv-verification").await;
    b.press("Publier sur data.gouv.fr").await;
    let notice = b.text(".notice").await;
    assert!(notice.contains("Publié sur data.gouv.fr"), "{notice}");
    assert_eq!(data_gouv.uploads.lock().unwrap().len(), 1);
    b.visit("5-data-gouv-publie").await;
    b.fits_at_375("the publication's notice").await;

    // data.gouv.fr down: the page says nothing was published.
    data_gouv
        .down
        .store(true, std::sync::atomic::Ordering::SeqCst);
    b.press("Publier sur data.gouv.fr").await;
    let error = b.text(".error-summary").await;
    assert!(error.contains("Rien n'a été publié"), "{error}");
    b.visit("6-data-gouv-en-panne").await;
    b.close().await;
}

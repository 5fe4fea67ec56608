//! Issue 26, « Eligibility that surprises » and « Agents and reviewers », in a real Chromium:
//! the stage rule explained where it is asked, step 1 checked in one pass, the live pre-check
//! from the organisation on, a refused submission naming its criteria, « Sans objet »,
//! the call's own rules cited, « Reprendre ma candidature », no answer kept from an
//! abandoned attempt.

use essor::domain::account::Role;
use fantoccini::Locator;
use serde_json::json;
use tokio::sync::Mutex;

use crate::browser::Browser;
use crate::helpers::{PASSWORD, TestApp};

/// One Chromium at a time (see journey.rs).
static BROWSER: Mutex<()> = Mutex::const_new(());

fn backend_name(app: &TestApp) -> &'static str {
    if app.settings.database.url.starts_with("sqlite") {
        "sqlite"
    } else {
        "postgres"
    }
}

pub async fn sign_in(b: &Browser, email: &str) {
    sign_in_with(b, email, PASSWORD).await;
}

async fn sign_in_with(b: &Browser, email: &str, password: &str) {
    b.goto("/connexion").await;
    b.fill("email", email).await;
    b.fill("password", password).await;
    b.press("Se connecter").await;
}

async fn fill_organisation(b: &Browser, created_on: &str) {
    b.fill("name", "Les Ateliers du Sart").await;
    b.select("legal_form", "association").await;
    b.fill("siret", "73282932000074").await;
    b.fill("rna", "W595012345").await;
    b.fill("created_on", created_on).await;
    b.fill("address", "12 rue de Lannoy").await;
    b.fill("postal_code", "59650").await;
    b.fill("commune", "Villeneuve-d'Ascq").await;
    b.fill("employees", "2").await;
    b.click_id("esus-none").await;
    b.click_id("rcs_ess_mention-non").await;
    b.click_id("in_insolvency_proceedings-non").await;
}

async fn an_older_structure_is_told_the_stage_rule_and_why_it_is_refused(app: TestApp) {
    let _one = BROWSER.lock().await;
    let Some(mut b) = Browser::open(
        &app.address,
        &format!("eligibilite-{}", backend_name(&app)),
        true,
    )
    .await
    else {
        return;
    };
    let staff = app.account(Role::Staff, "agent@lillemetropole.fr").await;
    app.account(Role::Applicant, "jeanne@exemple.fr").await;
    let call = app
        .published_call(
            &staff.token,
            json!({"title": "Entreprendre autrement 2027", "rules_version": "mel-2021"}),
        )
        .await;
    let call_id = call["id"].as_str().unwrap().to_owned();
    sign_in(&b, "jeanne@exemple.fr").await;

    // Step 1 in one pass: every problem at once, each message its own.
    b.goto(&format!("/appels/{call_id}/candidater")).await;
    b.fill("siret", "73282932000079").await;
    b.fill("created_on", "01/03/2030").await;
    b.fill("postal_code", "591").await;
    b.fill("commune", "Paris").await;
    b.press("Enregistrer et continuer").await;
    let summary = b.text(".error-summary").await;
    for needle in [
        "nom",
        "forme juridique",
        "SIRET",
        "futur",
        "« Paris » n'est pas une commune de la Métropole",
        "Procédure collective : répondez par oui ou par non",
        "registre du commerce : répondez par oui ou par non",
    ] {
        assert!(summary.contains(needle), "« {needle} » in: {summary}");
    }
    let items: Vec<String> = {
        let mut out = Vec::new();
        for li in b
            .client
            .find_all(Locator::Css(".error-summary li"))
            .await
            .unwrap()
        {
            out.push(li.text().await.unwrap());
        }
        out
    };
    let mut distinct = items.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), items.len(), "distinct messages: {items:?}");
    assert!(items.len() >= 8, "{items:?}");
    b.visit("etape-1-erreurs").await;

    // An abandoned attempt: step 1 saved, then « Candidater » again starts empty.
    fill_organisation(&b, "10/01/2019").await;
    b.press("Enregistrer et continuer").await;
    assert!(b.path().await.ends_with("/candidater/projet"));
    b.goto(&format!("/appels/{call_id}")).await;
    b.click("Candidater à cet appel").await;
    assert_eq!(
        b.value("name").await,
        "",
        "not pre-filled from the abandoned attempt"
    );

    // The live pre-check answers from the organisation's step on.
    fill_organisation(&b, "10/01/2019").await;
    let said = b.wait_text(".precheck", "Pré-vérification").await;
    assert!(said.contains("Pré-vérification"), "{said}");
    b.visit("etape-1-pre-verification").await;
    b.press("Enregistrer et continuer").await;

    // The stage question says the rule: the structure's age, 3 years under mel-2021.
    let hint = b.text("#stage-hint").await;
    assert!(
        hint.contains("l'âge de la structure") && hint.contains("moins de 3 ans"),
        "{hint}"
    );
    b.visit("etape-2-phase").await;
    // A seven-year-old association starting a new workshop picks « Démarrage ».
    b.click_id("stage").await;
    b.fill("title", "Atelier vélo").await;
    b.fill("summary", "Un nouvel atelier de réparation.").await;
    b.fill("activity_commune", "Roubaix").await;
    b.fill("total_budget", "90 000").await;
    b.fill("requested", "20 000").await;
    b.fill("starts_on", "15/01/2027").await;
    b.fill("jobs_created", "1").await;
    b.press("Enregistrer et continuer").await;
    b.click_id("purpose_beyond_profit").await;
    b.click_id("democratic_governance").await;
    b.fill("governance_description", "Une personne, une voix.")
        .await;
    b.fill("reinvested_profit_pct", "100").await;
    b.click_id("impartible_reserves").await;
    b.click_id("no_capital_amortization").await;
    b.click_id("social_utility-social_link").await;
    b.fill("social_utility_statement", "Lien social.").await;
    b.press("Enregistrer et continuer").await;
    let path = b.path().await;
    let id = path
        .trim_start_matches("/candidatures/")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    app.attach_required(&app.token("jeanne@exemple.fr", PASSWORD).await, &id)
        .await;

    // « Vérifiez vos réponses »: the failure first, « Sans objet » for what does not concern
    // an association, the rules of this call cited as its own.
    b.goto(&format!("/candidatures/{id}/verifier")).await;
    let first = b.text(".criteria li").await;
    assert!(
        first.contains("Non rempli") && first.contains("Phase du projet"),
        "{first}"
    );
    let body = b.body().await;
    assert!(body.contains("Sans objet"), "not_applicable criteria");
    assert!(
        body.contains("Règlement de l'appel à projets (mel-2021)"),
        "the call's own rules"
    );
    assert!(!body.contains("mel-2024"), "no other call's rules");
    let sans_objet = b
        .client
        .find_all(Locator::Css(".criterion-not_applicable"))
        .await
        .unwrap();
    assert!(!sans_objet.is_empty());
    for li in sans_objet {
        assert!(!li.text().await.unwrap().contains("Rempli"));
    }
    b.press("Déposer ma candidature").await;
    let summary = b.text(".error-summary").await;
    assert!(
        summary.contains("MEL-5") && summary.contains("Phase du projet"),
        "the failing criterion is named: {summary}"
    );
    assert!(
        summary.contains("choisissez la phase « développement »"),
        "{summary}"
    );
    b.visit("depot-refuse").await;

    // The call page offers to resume it.
    b.goto(&format!("/appels/{call_id}")).await;
    let reference = app
        .get_as(
            &app.token("jeanne@exemple.fr", PASSWORD).await,
            &format!("/api/v1/applications/{id}"),
        )
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap()["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        b.body()
            .await
            .contains(&format!("Reprendre ma candidature {reference}")),
        "{}",
        b.body().await
    );
    b.visit("appel-reprendre").await;
    b.click(&format!("Reprendre ma candidature {reference}"))
        .await;
    assert_eq!(b.path().await, format!("/candidatures/{id}"));
    b.close().await;
}

crate::both_backends!(an_older_structure_is_told_the_stage_rule_and_why_it_is_refused,);

async fn active_id(b: &Browser) -> String {
    b.client
        .active_element()
        .await
        .unwrap()
        .attr("id")
        .await
        .unwrap()
        .unwrap_or_default()
}

/// « Mon compte » changes the password (the service of `POST /me/password`); after an error
/// or a change, and after a refused upload, the focus is on the summary or the message.
async fn the_password_is_changed_on_my_account_and_focus_follows(app: TestApp) {
    let _one = BROWSER.lock().await;
    let Some(mut b) = Browser::open(
        &app.address,
        &format!("compte-{}", backend_name(&app)),
        true,
    )
    .await
    else {
        return;
    };
    let applicant = app.account(Role::Applicant, "jeanne@exemple.fr").await;
    let staff = app.account(Role::Staff, "agent@lillemetropole.fr").await;
    let call = app.published_call(&staff.token, json!({})).await;
    let draft = app
        .draft_application(
            &applicant.token,
            call["id"].as_str().unwrap(),
            &crate::helpers::sample_application(),
        )
        .await;
    sign_in(&b, "jeanne@exemple.fr").await;
    b.goto("/compte").await;
    b.visit("compte").await;
    let new_password = "une phrase de passe toute neuve 2027";
    b.fill("current_password", "pas le bon mot de passe").await;
    b.fill("new_password", new_password).await;
    b.press("Changer le mot de passe").await;
    assert!(
        b.title().await.starts_with("Erreur : "),
        "{}",
        b.title().await
    );
    assert!(
        b.text("#current_password-error")
            .await
            .contains("Le mot de passe actuel est incorrect")
    );
    assert_eq!(active_id(&b).await, "error-summary", "focus on the summary");
    assert_eq!(
        b.value("new_password").await,
        "",
        "passwords are not sent back"
    );
    b.visit("compte-mot-de-passe-erreur").await;
    // A weak new password is refused beside its field with what to do (issue 32, point 7).
    b.fill("current_password", PASSWORD).await;
    b.fill("new_password", "password1234").await;
    b.press("Changer le mot de passe").await;
    let said = b.text("#new_password-error").await;
    assert!(said.contains("trop facile à deviner"), "« {said} »");
    assert!(said.contains("phrase de plusieurs mots"), "« {said} »");
    assert_eq!(active_id(&b).await, "error-summary", "focus on the summary");
    app.token("jeanne@exemple.fr", PASSWORD).await;
    b.fill("current_password", PASSWORD).await;
    b.fill("new_password", new_password).await;
    b.press("Changer le mot de passe").await;
    // Every session ends with the change (the service's rule): sign in again.
    assert_eq!(b.path().await, "/connexion?mot-de-passe=1");
    let focused = b
        .client
        .active_element()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        focused.contains("Votre mot de passe est enregistré"),
        "focus on the message: « {focused} »"
    );
    b.visit("compte-mot-de-passe-change").await;
    app.token("jeanne@exemple.fr", new_password).await;
    sign_in_with(&b, "jeanne@exemple.fr", new_password).await;
    assert_eq!(b.path().await, "/candidatures");

    // A refused upload: the focus is on the summary.
    b.goto(&format!(
        "/candidatures/{}/pieces",
        draft["id"].as_str().unwrap()
    ))
    .await;
    b.press("Ajouter ce fichier").await;
    assert!(b.client.find(Locator::Css(".error-summary")).await.is_ok());
    assert_eq!(active_id(&b).await, "error-summary", "focus on the summary");
    b.close().await;
}

crate::both_backends!(the_password_is_changed_on_my_account_and_focus_follows,);

/// Text pasted with a bidi control (issue 26, §4): the step comes back with the message in
/// the summary and beside the field, what was typed shown without it, the focus on the
/// summary, nothing saved; sent again, it is saved.
async fn a_pasted_bidi_control_brings_the_step_back_beside_its_field(app: TestApp) {
    let _one = BROWSER.lock().await;
    let Some(mut b) = Browser::open(
        &app.address,
        &format!("texte-colle-{}", backend_name(&app)),
        true,
    )
    .await
    else {
        return;
    };
    let applicant = app.account(Role::Applicant, "jeanne@exemple.fr").await;
    let staff = app.account(Role::Staff, "agent@lillemetropole.fr").await;
    let call = app.published_call(&staff.token, json!({})).await;
    let draft = app
        .draft_application(
            &applicant.token,
            call["id"].as_str().unwrap(),
            &crate::helpers::sample_application(),
        )
        .await;
    let id = draft["id"].as_str().unwrap();
    sign_in(&b, "jeanne@exemple.fr").await;
    let step = format!("/candidatures/{id}/modifier/projet");
    b.goto(&step).await;
    b.fill("summary", "Collecte\u{202E} et réparation d'objets.")
        .await;
    b.press("Enregistrer et continuer").await;
    assert_eq!(b.path().await, step, "the same form, again");
    assert!(
        b.title().await.starts_with("Erreur : "),
        "{}",
        b.title().await
    );
    let said = b.text("#summary-error").await;
    assert!(
        said.contains("direction du texte (U+202E, en position 9)"),
        "« {said} »"
    );
    assert!(b.text(".error-summary").await.contains("U+202E"));
    assert_eq!(active_id(&b).await, "error-summary", "focus on the summary");
    assert_eq!(b.value("summary").await, "Collecte et réparation d'objets.");
    b.visit("texte-colle-refuse").await;
    let saved: serde_json::Value = app
        .get_as(&applicant.token, &format!("/api/v1/applications/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(saved["version"], draft["version"], "nothing saved");
    b.press("Enregistrer et continuer").await;
    assert_eq!(
        b.path().await,
        format!("/candidatures/{id}/modifier/criteres")
    );
    let saved: serde_json::Value = app
        .get_as(&applicant.token, &format!("/api/v1/applications/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        saved["project"]["summary"],
        "Collecte et réparation d'objets."
    );
    b.close().await;
}

crate::both_backends!(a_pasted_bidi_control_brings_the_step_back_beside_its_field,);

//! The applicant's journeys in a real Chromium: by clicks and typing from the home page to a
//! submitted application, with JavaScript and without; a form with errors; the keyboard alone.

use std::path::PathBuf;

use essor::domain::account::Role;
use fantoccini::Locator;
use serde_json::json;
use tokio::sync::Mutex;

use crate::browser::Browser;
use crate::helpers::{PASSWORD, PDF, TestApp, sample_application};

/// One Chromium at a time: the machine's cores are few, and parallel browsers make the
/// tests slow and flaky rather than faster.
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

async fn publish_call(app: &TestApp) -> String {
    let staff = app.account(Role::Staff, "agent@lillemetropole.fr").await;
    let call = app
        .published_call(
            &staff.token,
            json!({
                "title": "Entreprendre autrement 2027",
                "description": "Une subvention pour les structures de l'économie sociale et solidaire.\nAppel permanent."
            }),
        )
        .await;
    call["id"].as_str().unwrap().to_owned()
}

/// The journey's answers as « Vérifiez vos réponses » and the application page write them:
/// codes in words, objectives by name, each document with its kind.
fn assert_answers_shown(page: &str) {
    // Each term and its answer, whatever lines or cells the layout puts them on.
    let page = page.split_whitespace().collect::<Vec<_>>().join(" ");
    for words in [
        "Forme juridique Association",
        "Agrément ESUS Non",
        "Étape Démarrage",
        "Gouvernance démocratique Oui",
        "Une personne, une voix en assemblée générale.",
        "Bénéfices consacrés à l'activité 100 %",
        "Lutte contre les exclusions, maintien et renforcement de la cohésion territoriale",
        "statuts.pdf – Statuts à jour",
        "budget-2027.pdf – Budget prévisionnel du projet",
        "rib.pdf – Relevé d'identité bancaire",
    ] {
        assert!(page.contains(words), "« {words} » missing from:\n{page}");
    }
    assert!(!page.contains("choisi(s)"), "objectives by name");
}

async fn journey(app: TestApp, js: bool) {
    let _one = BROWSER.lock().await;
    let label = format!(
        "{}-{}",
        if js { "js" } else { "sans-js" },
        backend_name(&app)
    );
    let Some(mut b) = Browser::open(&app.address, &label, js).await else {
        return;
    };
    let call_id = publish_call(&app).await;
    let files = tempfile::tempdir().unwrap();

    b.goto("/").await;
    // The page's script ran, or did not: it marks <html> when it runs.
    let marked = b.client.find(Locator::Css("html.js")).await.is_ok();
    assert_eq!(marked, js, "JavaScript {}", if js { "on" } else { "off" });
    assert_eq!(
        b.h1().await,
        "Financer votre projet d'économie sociale et solidaire"
    );
    b.visit("accueil").await;

    b.click("Entreprendre autrement 2027").await;
    assert_eq!(b.path().await, format!("/appels/{call_id}"));
    assert!(b.body().await.contains("20 000 €"), "the cap is stated");
    b.visit("appel").await;

    b.click("Créer un compte").await;
    assert_eq!(b.path().await, "/compte/inscription");
    b.visit("inscription").await;
    b.fill("full_name", "Jeanne Dupont").await;
    b.fill("email", "jeanne@exemple.fr").await;
    b.fill("password", PASSWORD).await;
    b.press("Créer mon compte").await;
    // The same page for a new address and a known one: nothing tells a stranger which
    // addresses have accounts, and no one is signed in by it.
    assert_eq!(b.h1().await, "Vérifiez votre messagerie");
    b.visit("inscription-envoyee").await;
    // The link of the verification mail shows a button (a mail service's link checker must
    // not use the single-use token up), which confirms the address.
    let (link, _) = app
        .account_mail("jeanne@exemple.fr", "account_verify_email")
        .await;
    let token = link.split("?token=").nth(1).unwrap().to_owned();
    b.goto(&format!("/compte/verifier?token={token}")).await;
    assert_eq!(b.h1().await, "Confirmer votre adresse électronique");
    b.visit("verifier-adresse").await;
    b.press("Confirmer mon adresse").await;
    assert_eq!(b.path().await, "/connexion?verifiee=1");
    b.visit("connexion-verifiee").await;
    b.fill("email", "jeanne@exemple.fr").await;
    b.fill("password", PASSWORD).await;
    b.press("Se connecter").await;
    assert_eq!(b.path().await, "/candidatures");
    b.visit("mes-candidatures").await;
    // The link served once; opened again, it says the address is confirmed (issue 26),
    // without sending the person after a new link.
    b.goto(&format!("/compte/verifier?token={token}")).await;
    b.press("Confirmer mon adresse").await;
    let body = b.body().await;
    assert!(
        body.contains("Votre adresse est déjà confirmée") && body.contains("a déjà servi"),
        "{body}"
    );
    assert!(!body.contains("Recevoir un nouveau lien"), "{body}");
    assert!(
        b.client.find(Locator::Css(".error-summary")).await.is_err(),
        "not an error"
    );
    b.visit("verifier-adresse-erreur").await;

    b.goto(&format!("/appels/{call_id}")).await;
    b.click("Candidater à cet appel").await;
    assert_eq!(
        b.path().await,
        format!("/appels/{call_id}/candidater/structure")
    );
    b.visit("etape-1-structure").await;
    b.fill("name", "Les Ateliers du Sart").await;
    b.select("legal_form", "association").await;
    b.fill("siret", "732 829 320 00074").await;
    b.fill("rna", "W595012345").await;
    b.fill("created_on", "01/03/2025").await;
    b.fill("address", "12 rue de Lannoy").await;
    b.fill("postal_code", "59650").await;
    b.fill("commune", "villeneuve d'ascq").await;
    b.fill("employees", "2").await;
    b.click_id("esus-none").await;
    b.click_id("rcs_ess_mention-non").await;
    b.click_id("in_insolvency_proceedings-non").await;
    b.press("Enregistrer et continuer").await;

    assert_eq!(
        b.path().await,
        format!("/appels/{call_id}/candidater/projet")
    );
    b.visit("etape-2-projet").await;
    b.fill("title", "Recyclerie de quartier").await;
    b.fill(
        "summary",
        "Collecte, réparation et revente d'objets du quotidien.",
    )
    .await;
    b.click_id("stage").await;
    b.fill("activity_commune", "Villeneuve-d'Ascq").await;
    b.fill("total_budget", "90 000").await;
    b.fill("requested", "20 000").await;
    b.fill("starts_on", "15/01/2027").await;
    b.fill("jobs_created", "2").await;
    b.press("Enregistrer et continuer").await;

    assert_eq!(
        b.path().await,
        format!("/appels/{call_id}/candidater/criteres")
    );
    b.visit("etape-3-criteres").await;
    b.click_id("purpose_beyond_profit").await;
    b.click_id("democratic_governance").await;
    b.fill(
        "governance_description",
        "Une personne, une voix en assemblée générale.",
    )
    .await;
    b.fill("reinvested_profit_pct", "100").await;
    b.click_id("impartible_reserves").await;
    b.click_id("no_capital_amortization").await;
    b.click_id("social_utility-social_link").await;
    b.fill(
        "social_utility_statement",
        "Un lieu de rencontre pour le quartier.",
    )
    .await;
    if js {
        // The live pre-check: the answers so far are eligible...
        let said = b.wait_text(".precheck", "Pré-vérification").await;
        assert!(said.contains("les critères sont remplis"), "{said}");
        // ... and a profit-sharing purpose is not.
        b.click_id("purpose_beyond_profit-non").await;
        let said = b.wait_text(".precheck", "n'est pas rempli").await;
        assert!(said.contains("–"), "the failing criterion is named: {said}");
        b.visit("etape-3-pre-verification").await;
        b.click_id("purpose_beyond_profit").await;
        b.wait_text(".precheck", "les critères sont remplis").await;
    }
    b.press("Enregistrer et continuer").await;

    let path = b.path().await;
    assert!(path.ends_with("/pieces?nouvelle=1"), "{path}");
    let id = path
        .trim_start_matches("/candidatures/")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    b.visit("etape-4-pieces").await;
    for (kind, name) in [
        ("statuts", "statuts.pdf"),
        ("budget_previsionnel", "budget-2027.pdf"),
        ("rib", "rib.pdf"),
    ] {
        b.select("kind", kind).await;
        b.upload("file", &pdf(files.path(), name)).await;
        b.press("Ajouter ce fichier").await;
        assert!(
            b.path()
                .await
                .starts_with(&format!("/candidatures/{id}/pieces?ajoutee=")),
            "{name}"
        );
        assert!(
            b.body().await.contains("Pièce ajoutée : "),
            "{name} confirmed"
        );
        assert!(b.body().await.contains(name), "{name} listed");
    }
    b.visit("pieces-jointes").await;

    b.click("Voir la pré-vérification d'éligibilité").await;
    assert_eq!(b.h1().await, "Pré-vérification d'éligibilité");
    assert!(b.body().await.contains("remplit les critères"), "eligible");
    b.visit("eligibilite").await;

    b.click("Vérifier vos réponses").await;
    assert_eq!(b.path().await, format!("/candidatures/{id}/verifier"));
    assert!(b.body().await.contains("Les Ateliers du Sart"));
    // Every answer in words, and each document with its kind (issue 26).
    let check = b.body().await;
    assert_answers_shown(&check);
    assert!(
        check.contains("Modifier les pièces"),
        "editable before submission"
    );
    b.visit("verifier").await;
    b.press("Déposer ma candidature").await;

    let path = b.path().await;
    if path != format!("/candidatures/{id}/recepisse") {
        panic!("not submitted ({path}): {}", b.body().await);
    }
    let reference = b.text(".reference").await;
    assert!(reference.starts_with("EA-"), "{reference}");
    b.visit("recepisse").await;
    let mails = app.wait_for_mails(1).await;
    assert!(
        mails
            .iter()
            .any(|m| m.to.contains("jeanne@exemple.fr") && m.text.contains(&reference)),
        "the receipt mail: {:?}",
        mails
            .iter()
            .map(|m| (&m.to, &m.subject))
            .collect::<Vec<_>>()
    );

    b.click("Suivre votre candidature").await;
    assert_eq!(b.path().await, format!("/candidatures/{id}"));
    assert!(
        b.body().await.contains("Candidature déposée"),
        "the timeline"
    );
    // After submission the applicant still reads their answers and documents, read-only.
    let page = b.body().await;
    assert_answers_shown(&page);
    assert!(
        !page.contains("Modifier les pièces"),
        "read-only once submitted"
    );
    b.visit("candidature").await;

    b.click("Retirer la candidature").await;
    assert_eq!(b.path().await, format!("/candidatures/{id}/retirer"));
    b.visit("retrait").await;
    b.press("Retirer la candidature").await;
    assert!(
        b.title().await.starts_with("Erreur : "),
        "{}",
        b.title().await
    );
    b.visit("retrait-erreurs").await;
    b.fill("reason", "Le projet est reporté à l'an prochain.")
        .await;
    b.click_id("confirm").await;
    b.press("Retirer la candidature").await;
    let path = b.path().await;
    if path != format!("/candidatures/{id}?retiree=1") {
        panic!("not withdrawn ({path}): {}", b.body().await);
    }
    assert!(b.body().await.contains("Candidature retirée"));

    for (path, name) in [
        ("/appels", "appels"),
        ("/accessibilite", "accessibilite"),
        ("/donnees-personnelles", "donnees-personnelles"),
        ("/mentions-legales", "mentions-legales"),
        ("/nulle-part", "404"),
        ("/compte/mot-de-passe/oublie", "mot-de-passe-oublie"),
        (
            "/compte/mot-de-passe/nouveau?token=0",
            "mot-de-passe-nouveau",
        ),
        ("/compte/invitation?token=0", "invitation"),
        ("/compte/verifier", "verifier-sans-lien"),
    ] {
        b.goto(path).await;
        b.visit(name).await;
    }

    b.goto("/candidatures").await;
    b.press("Se déconnecter").await;
    b.goto("/candidatures").await;
    assert_eq!(b.path().await, "/connexion?retour=%2Fcandidatures");
    b.visit("connexion").await;
    b.fill("email", "jeanne@exemple.fr").await;
    b.fill("password", PASSWORD).await;
    b.press("Se connecter").await;
    assert_eq!(b.path().await, "/candidatures");

    if js {
        eprintln!("axe-core ({label}): {:?}", b.audited);
    }
    b.close().await;
}

async fn applicant_journey_with_javascript(app: TestApp) {
    journey(app, true).await;
}

async fn applicant_journey_without_javascript(app: TestApp) {
    journey(app, false).await;
}

/// The summary lists each problem and links to its field; the values typed come back; the
/// message beside the field is the API's own.
async fn a_form_with_errors_keeps_values_and_links_to_fields(app: TestApp) {
    let _one = BROWSER.lock().await;
    let Some(mut b) = Browser::open(
        &app.address,
        &format!("erreurs-{}", backend_name(&app)),
        true,
    )
    .await
    else {
        return;
    };
    let call_id = publish_call(&app).await;
    let applicant = app.account(Role::Applicant, "porteur@exemple.fr").await;
    b.goto("/connexion").await;
    b.fill("email", "porteur@exemple.fr").await;
    b.fill("password", PASSWORD).await;
    b.press("Se connecter").await;

    b.goto(&format!("/appels/{call_id}/candidater/structure"))
        .await;
    b.fill("name", "Les Ateliers du Sart").await;
    b.select("legal_form", "association").await;
    b.fill("siret", "73282932000079").await;
    b.fill("created_on", "01/03/2025").await;
    b.fill("address", "12 rue de Lannoy").await;
    b.fill("postal_code", "5965").await;
    b.fill("commune", "Villeneuve-d'Ascq").await;
    b.fill("employees", "deux").await;
    b.click_id("esus-none").await;
    b.press("Enregistrer et continuer").await;

    assert!(
        b.title().await.starts_with("Erreur : "),
        "{}",
        b.title().await
    );
    assert_eq!(
        b.path().await,
        format!("/appels/{call_id}/candidater/structure")
    );
    // The values typed are kept.
    assert_eq!(b.value("name").await, "Les Ateliers du Sart");
    assert_eq!(b.value("siret").await, "73282932000079");
    assert_eq!(b.value("employees").await, "deux");
    // Each link of the summary leads to its field.
    let links = b
        .client
        .find_all(Locator::Css(".error-summary a"))
        .await
        .unwrap();
    let mut targets = Vec::new();
    for link in &links {
        targets.push(link.attr("href").await.unwrap().unwrap());
    }
    // One pass (issue 26): the form's own errors and the domain's together, in page order.
    assert_eq!(
        targets,
        vec![
            "#siret",
            "#postal_code",
            "#employees",
            "#rcs_ess_mention",
            "#in_insolvency_proceedings"
        ],
        "every error at once, in the page's order"
    );
    b.visit("etape-1-erreurs-de-saisie").await;
    links[0].click().await.unwrap();
    let focused = b.client.active_element().await.unwrap();
    assert_eq!(focused.attr("id").await.unwrap().as_deref(), Some("siret"));
    // The message beside the field is the API's 422 for the same value.
    let mut body = sample_application();
    body["organisation"]["siret"] = json!("73282932000079");
    let resp = app
        .post_json(
            Some(&applicant.token),
            &format!("/api/v1/calls/{call_id}/applications"),
            &body,
        )
        .await;
    assert_eq!(resp.status(), 422);
    let problem: serde_json::Value = resp.json().await.unwrap();
    let api_message = problem["errors"]["organisation.siret"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let beside = b.text("#siret-error").await;
    assert!(
        beside.to_lowercase().contains(&api_message.to_lowercase()),
        "« {beside} » vs the API's « {api_message} »"
    );
    b.visit("etape-1-erreurs-du-domaine").await;
    b.close().await;
}

/// Sign-in and submission with the keyboard alone (Tab, typing, Enter).
async fn keyboard_only_submission(app: TestApp) {
    let _one = BROWSER.lock().await;
    let Some(mut b) = Browser::open(
        &app.address,
        &format!("clavier-{}", backend_name(&app)),
        true,
    )
    .await
    else {
        return;
    };
    let call_id = publish_call(&app).await;
    let applicant = app.account(Role::Applicant, "porteur@exemple.fr").await;
    let draft = app
        .draft_application(&applicant.token, &call_id, &sample_application())
        .await;
    let id = draft["id"].as_str().unwrap().to_owned();
    app.attach_required(&applicant.token, &id).await;

    b.goto("/connexion").await;
    // The skip link comes first, then the menu, then the form.
    let (_, presses) = b
        .tab_to("the skip link", |_, text| text == "Aller au contenu")
        .await;
    assert_eq!(presses, 1, "the skip link comes first");
    let (email, _) = b.tab_to("#email", |id, _| id == "email").await;
    email.send_keys("porteur@exemple.fr").await.unwrap();
    let (password, presses) = b.tab_to("#password", |id, _| id == "password").await;
    assert_eq!(presses, 1, "the password follows the address");
    password.send_keys(PASSWORD).await.unwrap();
    b.enter(&password).await;
    assert_eq!(b.path().await, "/candidatures");

    b.goto(&format!("/candidatures/{id}/verifier")).await;
    let (submit, _) = b
        .tab_to("the submit button", |_, text| {
            text == "Déposer ma candidature"
        })
        .await;
    b.enter(&submit).await;
    assert_eq!(b.path().await, format!("/candidatures/{id}/recepisse"));
    b.visit("recepisse-clavier").await;
    b.close().await;
}

crate::both_backends!(
    applicant_journey_with_javascript,
    applicant_journey_without_javascript,
    a_form_with_errors_keeps_values_and_links_to_fields,
    keyboard_only_submission,
);

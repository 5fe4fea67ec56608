//! The reviewers' pages and the admins' accounts pages in a real Chromium, on both databases:
//! a reviewer's journey (list, declaration, grid, draft, confirmation, read-only review), the
//! blindness between two reviewers of one application, the recusal and its required reason,
//! and an admin inviting, deactivating, reactivating and changing the role of accounts. axe-core
//! runs on every page visited; screenshots at 1280 and 375 px go to target/screenshots/.

use std::time::Duration;

use essor::domain::account::Role;
use fantoccini::Locator;
use serde_json::json;
use tokio::sync::Mutex;

use crate::browser::Browser;
use crate::helpers::{Account, PASSWORD, TestApp};

/// One Chromium at a time for these tests (the machine's cores are few).
static BROWSER: Mutex<()> = Mutex::const_new(());

fn backend_name(app: &TestApp) -> &'static str {
    if app.settings.database.url.starts_with("sqlite") {
        "sqlite"
    } else {
        "postgres"
    }
}

/// A submitted application under review by `reviewers`; returns (application id, assignment
/// ids in the reviewers' order).
async fn under_review(app: &TestApp, reviewers: &[&Account]) -> (String, Vec<String>) {
    let staff = app.account(Role::Staff, "agent@lillemetropole.fr").await;
    let applicant = app.account(Role::Applicant, "porteur@exemple.fr").await;
    let call = app
        .published_call(
            &staff.token,
            json!({"title": "Entreprendre autrement 2027"}),
        )
        .await;
    // The sample structure's own SIRET, which the pages are checked to show.
    let mut body = crate::helpers::sample_application();
    body["organisation"]["siret"] = json!(crate::helpers::SAMPLE_SIRET);
    let a = app
        .draft_application(&applicant.token, call["id"].as_str().unwrap(), &body)
        .await;
    let id = a["id"].as_str().unwrap().to_owned();
    app.attach_required(&applicant.token, &id).await;
    let resp = app
        .post_json(
            Some(&applicant.token),
            &format!("/api/v1/applications/{id}/submit"),
            &json!({}),
        )
        .await;
    assert_eq!(resp.status(), 200, "submit");
    let asg = app.start_review(&staff.token, &id, reviewers).await;
    (id, asg)
}

async fn sign_in(b: &Browser, email: &str) {
    b.goto("/connexion").await;
    b.fill("email", email).await;
    b.fill("password", PASSWORD).await;
    b.press("Se connecter").await;
    assert_ne!(b.path().await, "/connexion", "signed in as {email}");
}

async fn sign_out(b: &Browser) {
    b.press("Se déconnecter").await;
}

/// The links of the error summary, in order.
async fn summary_targets(b: &Browser) -> Vec<String> {
    let links = b
        .client
        .find_all(Locator::Css(".error-summary a"))
        .await
        .unwrap();
    let mut out = Vec::new();
    for l in links {
        out.push(l.attr("href").await.unwrap().unwrap_or_default());
    }
    out
}

async fn checked(b: &Browser, id: &str) -> bool {
    b.client
        .find(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("#{id}: {e}"))
        .prop("checked")
        .await
        .unwrap()
        .as_deref()
        == Some("true")
}

/// The browser's cookies as a `Cookie` header (to fetch a download link as the browser would).
async fn cookie_header(b: &Browser) -> String {
    b.client
        .get_all_cookies()
        .await
        .unwrap()
        .iter()
        .map(|c| format!("{}={}", c.name(), c.value()))
        .collect::<Vec<_>>()
        .join("; ")
}

const FIRST_COMMENT: &str = "Ancrage local remarquable ; modèle économique encore fragile.";

async fn reviewer_journey(app: TestApp) {
    let _one = BROWSER.lock().await;
    let Some(mut b) = Browser::open(
        &app.address,
        &format!("evaluation-{}", backend_name(&app)),
        true,
    )
    .await
    else {
        return;
    };
    let first = app.account(Role::Reviewer, "expert@exemple.fr").await;
    let second = app.account(Role::Reviewer, "experte2@exemple.fr").await;
    let (application_id, asg) = under_review(&app, &[&first, &second]).await;

    sign_in(&b, "expert@exemple.fr").await;
    b.goto("/evaluations").await;
    assert_eq!(b.h1().await, "Mes évaluations");
    // What the reviewer needs to know whether they have a conflict, before declaring.
    let body = b.body().await;
    for fact in [
        "Les Ateliers du Sart",
        "73282932000074",
        "Villeneuve-d'Ascq",
        "Recyclerie de quartier",
        "À déclarer",
        "Déclarer l'absence de conflit d'intérêts",
    ] {
        assert!(body.contains(fact), "« {fact} » on the list: {body}");
    }
    b.visit("evaluations-liste").await;

    b.click("Recyclerie de quartier").await;
    assert_eq!(b.path().await, format!("/evaluations/{}", asg[0]));
    let body = b.body().await;
    assert!(body.contains("Les Ateliers du Sart") && body.contains("73282932000074"));
    assert!(
        !body.contains("Collecte, réparation et revente."),
        "the application is not shown before the declaration"
    );
    assert!(!body.contains("Enregistrer le brouillon"), "no grid yet");
    b.visit("evaluation-a-declarer").await;

    // The box unticked: refused, said at the top and beside the box.
    b.press("Déclarer et lire le dossier").await;
    assert_eq!(summary_targets(&b).await, vec!["#no_conflict"]);
    assert!(
        b.text("#no_conflict-error")
            .await
            .contains("Cochez la case")
    );
    assert!(b.title().await.starts_with("Erreur : "));
    b.visit("evaluation-declaration-erreur").await;

    b.click_id("no_conflict").await;
    b.press("Déclarer et lire le dossier").await;
    assert_eq!(b.path().await, format!("/evaluations/{}", asg[0]));
    let body = b.body().await;
    assert!(
        body.contains("Collecte, réparation et revente."),
        "the application in full after the declaration"
    );
    assert!(body.contains("20 000 €"), "the requested amount");
    // The documents are there, and download.
    let links = b
        .client
        .find_all(Locator::Css("a[download]"))
        .await
        .unwrap();
    // Never the bank details (issue 26, DESIGN.md §13).
    assert_eq!(links.len(), 2, "the required documents but the RIB");
    let body = b.body().await;
    assert!(
        !body.contains("rib.pdf") && !body.contains("Relevé d'identité bancaire"),
        "{body}"
    );
    let href = links[0].attr("href").await.unwrap().unwrap();
    assert!(href.starts_with(&format!("/api/v1/applications/{application_id}/documents/")));
    let resp = app
        .client
        .get(app.url(&href))
        .header(reqwest::header::COOKIE, cookie_header(&b).await)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "the document downloads");
    assert!(resp.bytes().await.unwrap().starts_with(b"%PDF"));
    b.visit("evaluation-dossier").await;

    // Part of the grid is a draft (issue 26, DESIGN.md §9): saved, and found again after a
    // reload.
    b.click_id("score_social_utility-4").await;
    b.click_id("score_territorial_anchoring-3").await;
    b.fill("comment", FIRST_COMMENT).await;
    b.press("Enregistrer le brouillon").await;
    assert_eq!(
        b.path().await,
        format!("/evaluations/{}?enregistre=1", asg[0]),
        "a partial draft is saved"
    );
    assert!(b.body().await.contains("Votre brouillon est enregistré"));
    b.visit("evaluation-brouillon-partiel").await;
    b.goto(&format!("/evaluations/{}", asg[0])).await;
    assert!(
        checked(&b, "score_social_utility-4").await,
        "kept after a reload"
    );
    assert!(checked(&b, "score_territorial_anchoring-3").await);
    assert_eq!(b.value("comment").await, FIRST_COMMENT);
    let review: serde_json::Value = app
        .get_as(
            &first.token,
            &format!("/api/v1/assignments/{}/review", asg[0]),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(review["scores"]["territorial_anchoring"], 3);
    assert!(review["scores"]["governance"].is_null());

    // Submission needs every note: each missing one is named, the chosen ones stay chosen.
    b.press("Soumettre l'évaluation").await;
    assert_eq!(
        summary_targets(&b).await,
        vec![
            "#score_governance",
            "#score_economic_viability",
            "#score_jobs",
            "#recommendation"
        ]
    );
    assert!(
        checked(&b, "score_social_utility-4").await,
        "a choice is kept"
    );
    assert_eq!(b.value("comment").await, FIRST_COMMENT);
    b.visit("evaluation-grille-erreurs").await;
    // The first link of the summary leads to the first radio of the criterion.
    b.client
        .find(Locator::Css(".error-summary a"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let focused = b.client.active_element().await.unwrap();
    assert_eq!(
        focused.attr("id").await.unwrap().as_deref(),
        Some("score_governance")
    );

    // The rest by keyboard: arrows move between the radios of one fieldset.
    let right = char::from(fantoccini::key::Key::Right).to_string();
    focused.send_keys(&right).await.unwrap();
    // (WebDriver focuses the element it types into: the second arrow goes to the radio
    // that has the focus now.)
    let now = b.client.active_element().await.unwrap();
    now.send_keys(&right).await.unwrap();
    let now = b.client.active_element().await.unwrap();
    assert_eq!(
        now.attr("id").await.unwrap().as_deref(),
        Some("score_governance-2"),
        "arrow keys move within the criterion"
    );
    assert!(checked(&b, "score_governance-2").await);
    b.click_id("score_governance-5").await;
    b.click_id("score_economic_viability-3").await;
    b.click_id("score_jobs-2").await;
    b.click_id("recommendation-reserved").await;
    b.press("Enregistrer le brouillon").await;
    assert_eq!(
        b.path().await,
        format!("/evaluations/{}?enregistre=1", asg[0])
    );
    assert!(b.body().await.contains("Votre brouillon est enregistré"));
    assert!(
        checked(&b, "score_governance-5").await,
        "the draft is shown again"
    );
    assert!(checked(&b, "recommendation-reserved").await);
    assert_eq!(b.value("comment").await, FIRST_COMMENT);
    b.visit("evaluation-brouillon").await;
    // The draft is the service's: the API reads the same.
    let review: serde_json::Value = app
        .get_as(
            &first.token,
            &format!("/api/v1/assignments/{}/review", asg[0]),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(review["status"], "draft");
    assert_eq!(review["scores"]["governance"], 5);

    b.press("Soumettre l'évaluation").await;
    assert_eq!(b.path().await, format!("/evaluations/{}/soumettre", asg[0]));
    let body = b.body().await;
    assert!(
        body.contains("5 sur 5") && body.contains("Réservé"),
        "{body}"
    );
    b.visit("evaluation-confirmation").await;
    b.press("Confirmer et soumettre").await;
    assert_eq!(b.path().await, format!("/evaluations/{}?soumise=1", asg[0]));
    let body = b.body().await;
    assert!(body.contains("Votre évaluation est soumise"));
    assert!(body.contains(FIRST_COMMENT), "the review, read-only");
    // Written as on the agents' pages: « 76,0 sur 100 », a decimal comma.
    let at = body.find(" sur 100").expect("the score is shown");
    let number = body[..at]
        .rsplit(|c: char| !(c.is_ascii_digit() || c == ','))
        .next()
        .unwrap();
    assert!(
        number.contains(',') && number.len() >= 3,
        "« {number} sur 100 »"
    );
    let forms = b.client.find_all(Locator::Css("main form")).await.unwrap();
    assert!(forms.is_empty(), "a submitted review is read-only");
    b.visit("evaluation-soumise").await;
    // The confirmation page of a submitted review leads back to it.
    b.goto(&format!("/evaluations/{}/soumettre", asg[0])).await;
    assert_eq!(b.path().await, format!("/evaluations/{}", asg[0]));
    b.goto("/evaluations").await;
    assert!(b.body().await.contains("Évaluation soumise"));
    b.visit("evaluations-liste-soumise").await;
    sign_out(&b).await;

    // The second reviewer of the same application sees nothing of the first's review.
    sign_in(&b, "experte2@exemple.fr").await;
    b.goto("/evaluations").await;
    let body = b.body().await;
    assert!(body.contains("Recyclerie de quartier"));
    assert!(!body.contains("Évaluation soumise") && !body.contains(FIRST_COMMENT));
    b.goto(&format!("/evaluations/{}", asg[0])).await;
    assert_eq!(
        b.h1().await,
        "Page introuvable",
        "another's assignment is a 404"
    );
    assert!(!b.body().await.contains(FIRST_COMMENT));
    b.goto(&format!("/evaluations/{}/soumettre", asg[0])).await;
    assert_eq!(b.h1().await, "Page introuvable");
    b.goto(&format!("/evaluations/{}", asg[1])).await;
    b.click_id("no_conflict").await;
    b.press("Déclarer et lire le dossier").await;
    let body = b.body().await;
    assert!(body.contains("Collecte, réparation et revente."));
    assert!(!body.contains(FIRST_COMMENT), "nothing of the first review");
    assert!(!body.contains("sur 100"), "no score");
    for criterion in [
        "social_utility",
        "territorial_anchoring",
        "governance",
        "economic_viability",
        "jobs",
    ] {
        for n in 0..=5 {
            let id = if n == 0 {
                format!("score_{criterion}")
            } else {
                format!("score_{criterion}-{n}")
            };
            assert!(!checked(&b, &id).await, "#{id} is not pre-filled");
        }
    }
    assert_eq!(b.value("comment").await, "");
    b.visit("evaluation-second-evaluateur").await;
    // Nor does the API give it to them.
    let resp = app
        .get_as(
            &second.token,
            &format!("/api/v1/assignments/{}/review", asg[0]),
        )
        .await;
    assert_eq!(resp.status(), 404);
    b.close().await;
}

async fn recusal_needs_a_reason(app: TestApp) {
    let _one = BROWSER.lock().await;
    let Some(mut b) = Browser::open(
        &app.address,
        &format!("deport-{}", backend_name(&app)),
        true,
    )
    .await
    else {
        return;
    };
    let reviewer = app.account(Role::Reviewer, "expert@exemple.fr").await;
    let (application_id, asg) = under_review(&app, &[&reviewer]).await;
    sign_in(&b, "expert@exemple.fr").await;
    b.goto(&format!("/evaluations/{}", asg[0])).await;
    b.press("Me déporter de ce dossier").await;
    assert_eq!(summary_targets(&b).await, vec!["#reason"]);
    assert!(
        b.text("#reason-error")
            .await
            .contains("Indiquez le motif de votre déport (ce champ est obligatoire)"),
        "the service's message beside the field"
    );
    assert!(b.title().await.starts_with("Erreur : "));
    b.visit("deport-erreur").await;
    // Nothing changed.
    let page: serde_json::Value = app
        .get_as(&reviewer.token, "/api/v1/assignments")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"][0]["status"], "pending");

    b.fill("reason", "Je suis adhérent de l'association candidate.")
        .await;
    b.press("Me déporter de ce dossier").await;
    assert_eq!(b.path().await, format!("/evaluations/{}", asg[0]));
    let body = b.body().await;
    assert!(body.contains("Vous vous êtes déporté·e de ce dossier"));
    assert!(!body.contains("Collecte, réparation et revente."));
    b.visit("deport").await;
    let page: serde_json::Value = app
        .get_as(&reviewer.token, "/api/v1/assignments")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"][0]["status"], "recused");
    // Recused: the application is no longer theirs to read.
    let resp = app
        .get_as(
            &reviewer.token,
            &format!("/api/v1/applications/{application_id}"),
        )
        .await;
    assert_eq!(resp.status(), 404);
    b.goto("/evaluations").await;
    assert!(b.body().await.contains("Déporté·e"));
    b.close().await;
}

/// Waits (10 s at most) for a mail to `to` in the test mailbox; returns its text.
async fn mail_to(app: &TestApp, to: &str) -> String {
    for _ in 0..200 {
        if let Some(m) = app.sent_mails().into_iter().find(|m| m.to.contains(to)) {
            return m.text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no mail to {to}");
}

/// The path of the link a mail gives after `label` (« Accéder au dossier : http://… »).
fn mailed_path(text: &str, label: &str) -> String {
    let line = text
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no « {label} » in {text}"));
    let url = line[label.len()..].trim();
    let url = url::Url::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    url.path().to_owned()
}

/// Issue 26: a mail's link opens the page of the person it is sent to (DESIGN.md §10),
/// through the sign-in when signed out; the reviewer's page then opens once they declare no
/// conflict. An older mail's link to the applicant's page leads staff and reviewers to theirs.
async fn mail_links_open_the_recipients_page(app: TestApp) {
    let _one = BROWSER.lock().await;
    let Some(mut b) = Browser::open(
        &app.address,
        &format!("liens-courriels-{}", backend_name(&app)),
        true,
    )
    .await
    else {
        return;
    };
    let reviewer = app.account(Role::Reviewer, "expert@exemple.fr").await;
    let (application_id, asg) = under_review(&app, &[&reviewer]).await;

    // The agents' mail of the submission: the staff application page.
    let staff_mail = mail_to(&app, "ess@lillemetropole.fr").await;
    let staff_path = mailed_path(&staff_mail, "Examiner le dossier :");
    assert_eq!(
        staff_path,
        format!("/gestion/candidatures/{application_id}")
    );
    b.goto(&staff_path).await;
    assert!(
        b.path().await.starts_with("/connexion?retour="),
        "signed out: sign in first"
    );
    b.fill("email", "agent@lillemetropole.fr").await;
    b.fill("password", PASSWORD).await;
    b.press("Se connecter").await;
    assert_eq!(b.path().await, staff_path, "back to the mail's page");
    assert!(b.h1().await.starts_with("Dossier EA-"), "{}", b.h1().await);
    // An older mail's link to the applicant's page.
    b.goto(&format!("/candidatures/{application_id}")).await;
    assert_eq!(b.path().await, staff_path);
    sign_out(&b).await;

    // The reviewer's mail: their page of this assignment.
    let reviewer_mail = mail_to(&app, "expert@exemple.fr").await;
    let reviewer_path = mailed_path(&reviewer_mail, "Accéder au dossier :");
    assert_eq!(reviewer_path, format!("/evaluations/{}", asg[0]));
    b.goto(&reviewer_path).await;
    assert!(
        b.path().await.starts_with("/connexion?retour="),
        "signed out: sign in first"
    );
    b.fill("email", "expert@exemple.fr").await;
    b.fill("password", PASSWORD).await;
    b.press("Se connecter").await;
    assert_eq!(b.path().await, reviewer_path, "back to the mail's page");
    assert!(b.h1().await.starts_with("Évaluation du dossier EA-"));
    b.click_id("no_conflict").await;
    b.press("Déclarer et lire le dossier").await;
    assert_eq!(b.path().await, reviewer_path);
    assert!(
        b.body().await.contains("Collecte, réparation et revente."),
        "the application opens after the declaration"
    );
    b.visit("lien-evaluateur-dossier").await;
    b.goto(&format!("/candidatures/{application_id}")).await;
    assert_eq!(b.path().await, reviewer_path, "an older mail's link");
    b.close().await;
}

async fn admin_manages_accounts(app: TestApp) {
    let _one = BROWSER.lock().await;
    let Some(mut b) = Browser::open(
        &app.address,
        &format!("comptes-{}", backend_name(&app)),
        true,
    )
    .await
    else {
        return;
    };
    app.account(Role::Admin, "admin@lillemetropole.fr").await;
    let reviewer = app.account(Role::Reviewer, "expert@exemple.fr").await;
    // A long address: the list must not scroll sideways at 375 px (issue 26).
    let long = "agente.instructrice.economie.sociale.et.solidaire@lillemetropole.fr";
    app.account(Role::Staff, long).await;

    // Not for a reviewer.
    sign_in(&b, "expert@exemple.fr").await;
    b.goto("/admin/comptes").await;
    assert_eq!(b.h1().await, "Accès refusé");
    sign_out(&b).await;

    sign_in(&b, "admin@lillemetropole.fr").await;
    b.goto("/admin/comptes").await;
    assert_eq!(b.h1().await, "Comptes");
    let body = b.body().await;
    assert!(body.contains("3 comptes"), "{body}");
    assert!(body.contains("(vous)") && body.contains("C'est votre compte"));
    b.visit("comptes").await;
    b.fits_at_375("la liste des comptes").await;

    // The filter by role.
    b.select("filtre-role", "reviewer").await;
    b.press("Filtrer").await;
    assert_eq!(b.path().await, "/admin/comptes?role=reviewer");
    let body = b.body().await;
    assert!(body.contains("1 compte") && body.contains("expert@exemple.fr"));
    assert!(!body.contains(long));
    b.visit("comptes-filtre").await;

    // An invitation with errors comes back with them and the values typed.
    b.fill("email", "camille.martin@").await;
    b.fill("full_name", "Camille Martin").await;
    b.press("Envoyer l'invitation").await;
    assert_eq!(summary_targets(&b).await, vec!["#email", "#role"]);
    assert_eq!(b.value("full_name").await, "Camille Martin");
    assert_eq!(b.value("email").await, "camille.martin@");
    b.visit("comptes-invitation-erreurs").await;

    b.fill("email", "camille.martin@exemple.fr").await;
    b.select("role", "reviewer").await;
    b.press("Envoyer l'invitation").await;
    assert_eq!(b.path().await, "/admin/comptes?fait=invitation");
    let body = b.body().await;
    assert!(body.contains("L'invitation est envoyée"));
    assert!(body.contains("camille.martin@exemple.fr") && body.contains("Invité"));
    b.visit("comptes-invitation-envoyee").await;
    // The mail arrives, with the link to choose a password.
    let text = mail_to(&app, "camille.martin@exemple.fr").await;
    assert!(text.contains("/compte/invitation?token="), "{text}");

    // The same address again: the service's refusal beside the field.
    b.fill("email", "camille.martin@exemple.fr").await;
    b.fill("full_name", "Camille Martin").await;
    b.select("role", "staff").await;
    b.press("Envoyer l'invitation").await;
    assert!(
        b.text("#email-error")
            .await
            .contains("Un compte existe déjà")
    );
    b.visit("comptes-invitation-doublon").await;

    // Deactivate a reviewer: their token is refused at once; reactivate.
    b.goto("/admin/comptes?role=reviewer").await;
    assert_eq!(
        app.get_as(&reviewer.token, "/api/v1/assignments")
            .await
            .status(),
        200
    );
    b.click("Désactiver le compte « Personne de Test »").await;
    assert!(
        b.path()
            .await
            .starts_with("/admin/comptes?fait=desactive&role=reviewer")
    );
    let body = b.body().await;
    assert!(body.contains("Le compte est désactivé") && body.contains("Désactivé"));
    b.visit("comptes-desactive").await;
    assert_eq!(
        app.get_as(&reviewer.token, "/api/v1/assignments")
            .await
            .status(),
        401
    );
    b.click("Réactiver le compte « Personne de Test »").await;
    assert!(b.body().await.contains("Le compte est réactivé"));
    b.visit("comptes-reactive").await;
    let token = app.token("expert@exemple.fr", PASSWORD).await;
    assert_eq!(
        app.get_as(&token, "/api/v1/assignments").await.status(),
        200
    );

    // Change a role: Camille becomes an agent.
    b.goto("/admin/comptes?role=reviewer").await;
    let camille = b
        .client
        .find(Locator::XPath(
            "//li[contains(@class, 'account-card')][.//dd[contains(., 'camille.martin@exemple.fr')]]//select",
        ))
        .await
        .unwrap();
    camille.select_by_value("staff").await.unwrap();
    b.click("Changer le rôle de Camille Martin").await;
    assert!(b.body().await.contains("Le rôle est changé"));
    b.goto("/admin/comptes?role=staff").await;
    assert!(b.body().await.contains("camille.martin@exemple.fr"));
    b.visit("comptes-role-change").await;
    b.close().await;
}

fn urlencoded(form: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish()
}

/// The session cookie of a page sign-in, and the CSRF token its forms carry (plain HTTP, as
/// a forged form would come).
async fn page_session(app: &TestApp, email: &str) -> (String, String) {
    let cookies = |resp: &reqwest::Response| -> Vec<String> {
        resp.headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
            .collect()
    };
    let csrf_of = |html: &str| {
        let marker = "name=\"_csrf\" value=\"";
        let start = html.find(marker).expect("a CSRF field") + marker.len();
        html[start..start + 64].to_owned()
    };
    let resp = app.get("/connexion").await;
    let jar = cookies(&resp).join("; ");
    let csrf = csrf_of(&resp.text().await.unwrap());
    let resp = app
        .client
        .post(app.url("/connexion"))
        .header(reqwest::header::COOKIE, &jar)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(urlencoded(&[
            ("_csrf", csrf.as_str()),
            ("email", email),
            ("password", PASSWORD),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303, "sign-in of {email}");
    let session = cookies(&resp)
        .into_iter()
        .find(|c| c.starts_with("essor_session="))
        .expect("a session cookie");
    let html = app
        .client
        .get(app.url("/evaluations"))
        .header(reqwest::header::COOKIE, &session)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    (session, csrf_of(&html))
}

async fn post_form(
    app: &TestApp,
    session: &str,
    path: &str,
    form: &[(&str, &str)],
) -> (u16, String) {
    let resp = app
        .client
        .post(app.url(path))
        .header(reqwest::header::COOKIE, session)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(urlencoded(form))
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// Without the form's CSRF token nothing changes (403); an admin's change to their own
/// account is refused by the accounts service, and the page says why.
async fn forged_forms_change_nothing(app: TestApp) {
    let admin = app.account(Role::Admin, "admin@lillemetropole.fr").await;
    let reviewer = app.account(Role::Reviewer, "expert@exemple.fr").await;
    let (_, asg) = under_review(&app, &[&reviewer]).await;

    let (session, csrf) = page_session(&app, "expert@exemple.fr").await;
    let declare = format!("/evaluations/{}/declarer", asg[0]);
    let (status, _) = post_form(&app, &session, &declare, &[("no_conflict", "oui")]).await;
    assert_eq!(status, 403, "no token");
    let (status, _) = post_form(
        &app,
        &session,
        &declare,
        &[("no_conflict", "oui"), ("_csrf", &"0".repeat(64))],
    )
    .await;
    assert_eq!(status, 403, "another token");
    let page: serde_json::Value = app
        .get_as(&reviewer.token, "/api/v1/assignments")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"][0]["status"], "pending", "nothing changed");
    // A reviewer is not an admin, even with a good token.
    let (status, _) = post_form(
        &app,
        &session,
        &format!("/admin/comptes/{}/desactiver", admin.id),
        &[("_csrf", &csrf)],
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(app.get_as(&admin.token, "/api/v1/me").await.status(), 200);

    let (session, csrf) = page_session(&app, "admin@lillemetropole.fr").await;
    let (status, _) = post_form(
        &app,
        &session,
        &format!("/admin/comptes/{}/desactiver", reviewer.id),
        &[],
    )
    .await;
    assert_eq!(status, 403, "no token");
    assert_eq!(
        app.get_as(&reviewer.token, "/api/v1/assignments")
            .await
            .status(),
        200
    );
    let (status, html) = post_form(
        &app,
        &session,
        &format!("/admin/comptes/{}/desactiver", admin.id),
        &[("_csrf", &csrf)],
    )
    .await;
    assert_eq!(
        status, 409,
        "the service refuses an admin's own deactivation"
    );
    assert!(
        html.contains("Vous ne pouvez ni désactiver votre propre compte"),
        "{html}"
    );
    assert!(
        html.contains(&format!("href=\"#compte-{}\"", admin.id)),
        "the summary leads to the account"
    );
    let (status, _) = post_form(
        &app,
        &session,
        &format!("/admin/comptes/{}/role", admin.id),
        &[("_csrf", &csrf), ("role", "staff")],
    )
    .await;
    assert_eq!(status, 409, "nor their own demotion");
    let me: serde_json::Value = app
        .get_as(&admin.token, "/api/v1/me")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "admin");
}

crate::both_backends!(
    reviewer_journey,
    recusal_needs_a_reason,
    admin_manages_accounts,
    forged_forms_change_nothing,
    mail_links_open_the_recipients_page,
);

//! The agents' pages in a real Chromium (issue 15): an agent signs in, lands on « Gestion »,
//! opens a call's dashboard and its table, finds applications by filters and search, screens a
//! submitted application (reads its « à vérifier » criteria, starts the review with two
//! reviewers), requests changes on another; applicants and reviewers get no agent page.

use essor::domain::account::Role;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::browser::Browser;
use crate::helpers::{Account, PASSWORD, TestApp, sample_application};

/// One Chromium at a time (see journey.rs).
static BROWSER: Mutex<()> = Mutex::const_new(());

fn backend_name(app: &TestApp) -> &'static str {
    if app.settings.database.url.starts_with("sqlite") {
        "sqlite"
    } else {
        "postgres"
    }
}

/// A SIRET with a valid Luhn key, from a 13-digit stem.
fn siret(stem: u64) -> String {
    let base = format!("{stem:013}");
    (0..10)
        .map(|c| format!("{base}{c}"))
        .find(|s| essor::domain::identifiers::Siret::parse(s).is_ok())
        .unwrap()
}

/// An account with its own name (the timeline shows reviewers by name).
async fn named(app: &TestApp, role: Role, email: &str, name: &str) -> Account {
    use essor::services::accounts::{self, NewAccount};
    let mut state = essor::state::AppState::new(app.db.clone(), app.settings.clone()).unwrap();
    state.clock = app.clock.clone();
    let user = accounts::create(
        &state,
        NewAccount::parse(email, PASSWORD, name, role).unwrap(),
    )
    .await
    .expect("account created");
    Account {
        id: user.id.to_string(),
        email: user.email,
        token: app.token(email, PASSWORD).await,
    }
}

/// Files and (unless `draft`) submits an application with this organisation.
async fn file(app: &TestApp, token: &str, call_id: &str, org: Value, draft: bool) -> Value {
    let mut body = sample_application();
    essor::input::merge_patch(&mut body["organisation"], &org);
    if body["organisation"]["legal_form"] == "commercial_company" {
        body["ess"]["reinvested_profit_pct"] = json!(60);
        body["ess"]["development_fund_pct"] = json!(20);
        body["ess"]["retained_earnings_and_reserves_pct"] = json!(50);
    }
    let created = app.draft_application(token, call_id, &body).await;
    let id = created["id"].as_str().unwrap();
    if draft {
        return created;
    }
    app.attach_required(token, id).await;
    let resp = app
        .post_json(
            Some(token),
            &format!("/api/v1/applications/{id}/submit"),
            &json!({}),
        )
        .await;
    assert_eq!(resp.status(), 200, "submit");
    resp.json().await.unwrap()
}

async fn sign_in(b: &Browser, email: &str) {
    b.goto("/connexion").await;
    b.fill("email", email).await;
    b.fill("password", PASSWORD).await;
    b.press("Se connecter").await;
}

async fn state_of(app: &TestApp, staff: &str, id: &str) -> Value {
    app.get_as(staff, &format!("/api/v1/applications/{id}"))
        .await
        .json()
        .await
        .unwrap()
}

async fn an_agent_screens_from_the_dashboard_to_the_review(app: TestApp) {
    let _one = BROWSER.lock().await;
    let Some(mut b) = Browser::open(
        &app.address,
        &format!("gestion-{}", backend_name(&app)),
        true,
    )
    .await
    else {
        return;
    };
    let staff = named(&app, Role::Staff, "agent@lillemetropole.fr", "Agnès Agent").await;
    let applicant = app.account(Role::Applicant, "porteur@exemple.fr").await;
    let r1 = named(&app, Role::Reviewer, "r1@exemple.fr", "Rémi Relecteur").await;
    let r2 = named(&app, Role::Reviewer, "r2@exemple.fr", "Sophie Sagace").await;
    let r3 = named(&app, Role::Reviewer, "r3@exemple.fr", "Théo Tiers").await;
    // A long address in the reviewers' checklist (issue 26: nothing scrolls sideways).
    named(
        &app,
        Role::Reviewer,
        "une.experte.du.comite.de.selection.tres.engagee@association-exemple.fr",
        "Zoé Zélée",
    )
    .await;
    let call = app
        .published_call(
            &staff.token,
            json!({"title": "Entreprendre autrement 2027", "min_reviews": 2}),
        )
        .await;
    let call_id = call["id"].as_str().unwrap();
    // A company whose statutes the agent must read (ESS-2, ESS-4, ESS-6 « à vérifier »).
    let sas = file(
        &app,
        &applicant.token,
        call_id,
        json!({"name": "Coopérative Épicée", "legal_form": "commercial_company", "rna": null,
               "rcs_ess_mention": true, "siret": siret(3_100_000_000_001),
               "commune_insee": "59512", "postal_code": "59100"}),
        false,
    )
    .await;
    let asso = file(
        &app,
        &applicant.token,
        call_id,
        json!({"name": "Les Ateliers du Sart", "siret": siret(3_200_000_000_002)}),
        false,
    )
    .await;
    // Enough drafts for a second page of 50.
    for i in 0..50u64 {
        file(
            &app,
            &applicant.token,
            call_id,
            json!({"name": format!("Brouillon {i:02}"), "siret": siret(4_000_000_000_000 + i), "rna": null}),
            true,
        )
        .await;
    }

    // Sign-in lands on the agents' home; the header says « Gestion ».
    sign_in(&b, &staff.email).await;
    assert_eq!(b.path().await, "/gestion");
    assert_eq!(b.h1().await, "Gestion des appels à projets");
    assert!(b.text("nav .nav").await.contains("Gestion"));
    assert!(!b.text("nav .nav").await.contains("Mes candidatures"));
    b.check_page("gestion-accueil").await;

    b.click("Entreprendre autrement 2027").await;
    assert_eq!(b.path().await, format!("/gestion/appels/{call_id}"));
    let body = b.body().await;
    assert!(
        body.contains("2 candidatures déposées à examiner"),
        "{body}"
    );
    assert!(body.contains("200 000 €"), "the envelope: {body}");
    assert!(body.contains("Toutes les candidatures (52)"), "{body}");
    b.check_page("gestion-appel").await;

    // The table: 52 rows, pages of 50.
    b.click("Toutes les candidatures").await;
    assert!(b.text("#resultats").await.contains("52 candidatures"));
    assert!(b.text("#resultats").await.contains("page 1 sur 2"));
    assert_eq!(
        b.client
            .find_all(fantoccini::Locator::Css("tbody tr"))
            .await
            .unwrap()
            .len(),
        50
    );
    b.check_page("gestion-candidatures").await;
    let rows = |b: &Browser| {
        let client = b.client.clone();
        async move {
            let mut out = Vec::new();
            for row in client
                .find_all(fantoccini::Locator::Css("tbody tr td:first-child"))
                .await
                .unwrap()
            {
                out.push(row.text().await.unwrap());
            }
            out
        }
    };
    let first_page = rows(&b).await;
    assert!(!b.body().await.contains("Page précédente"));
    // « Page suivante » carries a cursor (keyset paging), not a page number.
    b.click("Page suivante").await;
    let path = b.path().await;
    assert!(
        path.contains("curseur=") && !path.contains("page="),
        "{path}"
    );
    assert!(b.text("#resultats").await.contains("page 2 sur 2"));
    let second_page = rows(&b).await;
    assert_eq!(second_page.len(), 2);
    assert!(second_page.iter().all(|r| !first_page.contains(r)));
    assert!(!b.body().await.contains("Page suivante"));
    assert!(
        b.text(".pagination a[aria-current=page]")
            .await
            .ends_with('2')
    );
    b.check_page("gestion-candidatures-suivante").await;
    // « Page précédente » (a cursor too) leads back to the same 50 rows.
    b.click("Page précédente").await;
    let path = b.path().await;
    assert!(path.contains("curseur="), "{path}");
    assert!(b.text("#resultats").await.contains("page 1 sur 2"));
    assert_eq!(rows(&b).await, first_page);
    assert!(
        b.text(".pagination a[aria-current=page]")
            .await
            .ends_with('1')
    );
    // The numbered links still use page numbers.
    b.goto(&format!("/gestion/appels/{call_id}/candidatures?page=2"))
        .await;
    assert_eq!(rows(&b).await, second_page);
    // A cursor that is not one: the first page, and the problem said at the top.
    b.goto(&format!(
        "/gestion/appels/{call_id}/candidatures?curseur=nimporte-quoi"
    ))
    .await;
    assert!(
        b.text(".error-summary")
            .await
            .contains("Ce lien de page n'est plus valable")
    );
    assert_eq!(rows(&b).await, first_page);
    b.check_page("gestion-candidatures-curseur-invalide").await;
    // A cursor of another order: the same.
    b.goto(&format!(
        "/gestion/appels/{call_id}/candidatures?tri=reference"
    ))
    .await;
    b.click("Page suivante").await;
    let foreign = b.path().await;
    let cursor = foreign.split("curseur=").nth(1).unwrap().to_owned();
    b.goto(&format!(
        "/gestion/appels/{call_id}/candidatures?tri=-reference&curseur={cursor}"
    ))
    .await;
    assert!(
        b.text(".error-summary")
            .await
            .contains("Ce lien de page n'est plus valable")
    );

    // Filters: the submitted ones (a state ticked), then Roubaix, then a search.
    b.goto(&format!("/gestion/appels/{call_id}/candidatures"))
        .await;
    b.click_id("etat-submitted").await;
    b.press("Afficher les candidatures").await;
    assert!(b.text("#resultats").await.starts_with("2 candidatures"));
    b.select("commune", "59512").await;
    b.press("Afficher les candidatures").await;
    assert!(b.text("#resultats").await.starts_with("1 candidature"));
    assert!(b.text("tbody").await.contains("Coopérative Épicée"));
    b.check_page("gestion-candidatures-filtrees").await;
    b.click("Effacer les filtres").await;
    b.fill("q", "cooperative epicee").await;
    b.press("Afficher les candidatures").await;
    assert!(b.text("#resultats").await.starts_with("1 candidature"));
    b.fill("q", &siret(3_200_000_000_002)[..9]).await;
    b.press("Afficher les candidatures").await;
    assert!(b.text("tbody").await.contains("Les Ateliers du Sart"));
    b.select("tri", "-requested_cents").await;
    b.fill("q", "").await;
    b.click_id("etat-submitted").await;
    b.press("Afficher les candidatures").await;
    assert!(b.text("#resultats").await.starts_with("2 candidatures"));

    // The company's page: its readings, then the review with two reviewers.
    let sas_ref = sas["reference"].as_str().unwrap();
    let sas_id = sas["id"].as_str().unwrap();
    b.fill("q", sas_ref).await;
    b.press("Afficher les candidatures").await;
    b.click(sas_ref).await;
    assert_eq!(b.path().await, format!("/gestion/candidatures/{sas_id}"));
    assert_eq!(b.h1().await, format!("Dossier {sas_ref}"));
    let body = b.body().await;
    assert!(body.contains("statuts.pdf"), "documents listed: {body}");
    assert!(body.contains("ESS-2 – à vérifier"), "{body}");
    b.check_page("gestion-dossier").await;
    b.fits_at_375("le dossier et la liste des évaluateurs")
        .await;

    // Nothing filled: the errors, at the top and beside the fields.
    b.press("Lancer l'évaluation").await;
    assert!(b.title().await.starts_with("Erreur : "));
    let summary = b.text("#error-summary").await;
    // The hint and the rule say the call's number (issue 26): min_reviews is 2.
    assert!(
        summary.contains("Cochez au moins 2 évaluateurs"),
        "{summary}"
    );
    assert!(
        b.body().await.contains("Cochez au moins 2 évaluateurs :"),
        "the hint"
    );
    b.check_page("gestion-dossier-erreurs").await;

    // A reading marked but not explained: refused, with what was typed kept.
    b.click_id("lecture-ESS-2").await;
    b.click_id(&format!("reviewers-{}", r2.id)).await;
    b.press("Lancer l'évaluation").await;
    let summary = b.text("#error-summary").await;
    assert!(summary.contains("ESS-2"), "{summary}");
    assert!(
        summary.contains("Cochez au moins 2 évaluateurs") && summary.contains("1 coché"),
        "one reviewer is not enough: {summary}"
    );
    assert!(
        b.client
            .find(fantoccini::Locator::Css("#lecture-ESS-2:checked"))
            .await
            .is_ok(),
        "the reading typed comes back"
    );
    for code in ["ESS-2", "ESS-4", "ESS-6"] {
        if b.client
            .find(fantoccini::Locator::Css(&format!(
                "#lecture-{code}:checked"
            )))
            .await
            .is_err()
        {
            b.click_id(&format!("lecture-{code}")).await;
        }
        b.fill(
            &format!("note-{code}"),
            &format!("Statuts lus, article {code} conforme."),
        )
        .await;
    }
    // The first reviewer's box (the first option's id is the field's name).
    let first_is_r1 = b
        .client
        .find(fantoccini::Locator::Css(&format!(
            "input#reviewers[value='{}']",
            r1.id
        )))
        .await
        .is_ok();
    assert!(first_is_r1, "reviewers listed by name: Rémi before Sophie");
    b.click_id("reviewers").await;
    b.press("Lancer l'évaluation").await;
    assert_eq!(
        b.path().await,
        format!("/gestion/candidatures/{sas_id}?fait=1")
    );
    let body = b.body().await;
    assert!(body.contains("En cours d'instruction"), "{body}");
    assert!(
        body.contains("Évaluateurs : Rémi Relecteur, Sophie Sagace"),
        "the timeline names the reviewers: {body}"
    );
    assert!(body.contains("Lecture de l'agent : rempli"));
    b.check_page("gestion-dossier-evaluation").await;
    let stored = state_of(&app, &staff.token, sas_id).await;
    assert_eq!(stored["state"], "under_review");
    let read = &stored["eligibility"]["criteria"];
    let ess2 = read
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "ESS-2")
        .unwrap();
    assert_eq!(ess2["staff_assessment"]["outcome"], "pass");
    assert_eq!(
        ess2["staff_assessment"]["note"],
        "Statuts lus, article ESS-2 conforme."
    );
    let assignments: Value = app
        .get_as(&staff.token, "/api/v1/assignments?per_page=100")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(assignments["total"], 2);

    // Rémi recuses himself: the dashboard says a reviewer is missing, the page names the
    // recusal and its reason, and the agent adds Théo.
    let mine: Value = app
        .get_as(&r1.token, "/api/v1/assignments")
        .await
        .json()
        .await
        .unwrap();
    let assignment = mine["items"][0]["id"].as_str().unwrap();
    let resp = app
        .post_json(
            Some(&r1.token),
            &format!("/api/v1/assignments/{assignment}/recuse"),
            &json!({"reason": "Je siège au conseil d'administration."}),
        )
        .await;
    assert_eq!(resp.status(), 200, "recuse");
    b.goto(&format!("/gestion/appels/{call_id}")).await;
    let body = b.body().await;
    assert!(
        body.contains("1 candidature à laquelle il manque un évaluateur"),
        "{body}"
    );
    b.goto(&format!("/gestion/candidatures/{sas_id}")).await;
    let body = b.body().await;
    assert!(body.contains("Rémi Relecteur – s'est récusé"), "{body}");
    assert!(body.contains("Je siège au conseil d'administration."));
    b.press("Ajouter l'évaluateur").await;
    assert!(
        b.text("#error-summary")
            .await
            .contains("Choisissez l'évaluateur à ajouter")
    );
    b.select("reviewer", &r3.id).await;
    b.press("Ajouter l'évaluateur").await;
    let body = b.body().await;
    assert!(
        body.contains("Théo Tiers – n'a pas encore répondu"),
        "{body}"
    );
    assert!(body.contains("Évaluateur ajouté"), "{body}");
    b.check_page("gestion-dossier-evaluateur-ajoute").await;

    // The association: changes requested with a message.
    let asso_id = asso["id"].as_str().unwrap();
    b.goto(&format!("/gestion/candidatures/{asso_id}")).await;
    b.press("Demander des compléments").await;
    assert!(
        b.text("#error-summary")
            .await
            .contains("Écrivez ce que le porteur de projet doit compléter")
    );
    b.fill("message", "Merci de joindre le budget signé.").await;
    b.press("Demander des compléments").await;
    let body = b.body().await;
    assert!(body.contains("Modifications demandées"), "{body}");
    assert!(body.contains("Merci de joindre le budget signé."));
    b.check_page("gestion-dossier-complements").await;
    assert_eq!(
        state_of(&app, &staff.token, asso_id).await["state"],
        "changes_requested"
    );
    // Back on the dashboard: nothing left to screen, one waiting for reviews.
    b.goto(&format!("/gestion/appels/{call_id}")).await;
    let body = b.body().await;
    assert!(
        body.contains("Aucune candidature déposée à examiner"),
        "{body}"
    );
    assert!(
        body.contains("1 candidature en cours d'évaluation"),
        "{body}"
    );
    b.close().await;
}

/// An applicant and a reviewer asking for the agents' pages get a refusal page, never data.
async fn applicants_and_reviewers_get_no_agent_page(app: TestApp) {
    let _one = BROWSER.lock().await;
    let Some(mut b) = Browser::open(
        &app.address,
        &format!("gestion-refus-{}", backend_name(&app)),
        true,
    )
    .await
    else {
        return;
    };
    let cast = app.cast().await;
    let call = app.published_call(&cast.staff.token, json!({})).await;
    let call_id = call["id"].as_str().unwrap();
    let own = app
        .submitted_application(&cast.applicant.token, call_id)
        .await;
    let own_id = own["id"].as_str().unwrap();
    let reference = own["reference"].as_str().unwrap();
    let paths = [
        "/gestion".to_owned(),
        format!("/gestion/appels/{call_id}"),
        format!("/gestion/appels/{call_id}/candidatures?q=ateliers"),
        format!("/gestion/candidatures/{own_id}"),
    ];

    sign_in(&b, &cast.applicant.email).await;
    assert_eq!(b.path().await, "/candidatures");
    assert!(!b.text("nav .nav").await.contains("Gestion"));
    for (i, path) in paths.iter().enumerate() {
        b.goto(path).await;
        assert_eq!(b.h1().await, "Accès refusé", "{path}");
        let body = b.body().await;
        assert!(!body.contains("Les Ateliers du Sart"), "{path}: {body}");
        assert!(!body.contains(reference), "{path}");
        if i == 0 {
            b.check_page("refus-porteur").await;
        }
    }
    // A POST by the applicant, with their own session and CSRF token, is refused and
    // changes nothing.
    b.goto("/candidatures").await;
    let csrf = b
        .client
        .execute(
            "return document.querySelector('input[name=_csrf]').value;",
            vec![],
        )
        .await
        .unwrap();
    let cookies: Vec<String> = b
        .client
        .get_all_cookies()
        .await
        .unwrap()
        .iter()
        .map(|c| format!("{}={}", c.name(), c.value()))
        .collect();
    let resp = app
        .client
        .post(app.url(&format!(
            "/gestion/candidatures/{own_id}/demander-modifications"
        )))
        .header("cookie", cookies.join("; "))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("_csrf", csrf.as_str().unwrap())
                .append_pair("message", "Je me demande des compléments.")
                .finish(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert_eq!(
        state_of(&app, &cast.staff.token, own_id).await["state"],
        "submitted"
    );
    b.click("Se déconnecter").await;

    sign_in(&b, &cast.reviewer.email).await;
    assert_eq!(b.path().await, "/evaluations");
    for path in &paths {
        b.goto(path).await;
        assert_eq!(b.h1().await, "Accès refusé", "{path}");
        assert!(!b.body().await.contains(reference), "{path}");
    }
    b.check_page("refus-evaluateur").await;
    b.close().await;
}

/// The agent's page of an application under review (issue 26): the answers in words (no raw
/// codes), each document with its kind, the reviewers in natural order (n° 2 before n° 10),
/// each submitted review's comment, and the score written the French way.
async fn the_agent_reads_answers_reviews_and_comments_in_words(app: TestApp) {
    let _one = BROWSER.lock().await;
    let Some(mut b) = Browser::open(
        &app.address,
        &format!("gestion-dossier-{}", backend_name(&app)),
        true,
    )
    .await
    else {
        return;
    };
    let staff = app.account(Role::Staff, "agent@lillemetropole.fr").await;
    let applicant = app.account(Role::Applicant, "porteur@exemple.fr").await;
    let call = app.published_call(&staff.token, json!({})).await;
    let call_id = call["id"].as_str().unwrap();
    let submitted = app.submitted_application(&applicant.token, call_id).await;
    let id = submitted["id"].as_str().unwrap();
    let mut reviewers = Vec::new();
    for n in [10, 2, 12, 1, 11] {
        reviewers.push(
            named(
                &app,
                Role::Reviewer,
                &format!("expert{n}@exemple.fr"),
                &format!("Expert·e n° {n}"),
            )
            .await,
        );
    }
    let refs: Vec<&Account> = reviewers.iter().collect();
    let assignments = app.start_review(&staff.token, id, &refs).await;
    // Two reviews submitted (n° 10 and n° 2), the others not yet.
    for (r, a) in refs.iter().zip(&assignments).take(2) {
        app.review(r, a, [3, 3, 3, 3, 3]).await;
    }

    sign_in(&b, "agent@lillemetropole.fr").await;
    b.goto(&format!("/gestion/candidatures/{id}")).await;
    let body = b.body().await;
    let flat = body.split_whitespace().collect::<Vec<_>>().join(" ");
    for words in [
        "Forme juridique Association",
        "Agrément ESUS Non",
        "Phase Démarrage",
        "Lutte contre les exclusions, maintien et renforcement de la cohésion territoriale",
        "statuts.pdf (télécharger) – Statuts à jour",
        "– Budget prévisionnel du projet",
        "– Relevé d'identité bancaire",
        "Commentaire de Expert·e n° 10 Projet utile au quartier.",
        "Commentaire de Expert·e n° 2 Projet utile au quartier.",
    ] {
        assert!(flat.contains(words), "« {words} » missing from:\n{flat}");
    }
    for code in [
        "– budget_previsionnel,",
        "– rib,",
        "– statuts,",
        "Forme juridique association",
        "ESUS non",
    ] {
        assert!(!flat.contains(code), "raw code « {code} » shown:\n{flat}");
    }
    assert!(
        !flat.contains("Commentaire de Expert·e n° 1 "),
        "no comment for a review not submitted"
    );
    // Natural order in the list of reviewers: 1, 2, 10, 11, 12.
    let at = |n: u32| {
        flat.find(&format!("Expert·e n° {n} – "))
            .unwrap_or_else(|| panic!("n° {n} listed: {flat}"))
    };
    assert!(
        at(1) < at(2) && at(2) < at(10) && at(10) < at(11) && at(11) < at(12),
        "natural order: {flat}"
    );
    // The score as on the board: a decimal comma, never a point.
    let table = b.text("table").await;
    // Each row reads « name, Remise, score, opinion ».
    let words: Vec<&str> = table.split_whitespace().collect();
    let scores: Vec<&str> = words
        .windows(2)
        .filter(|w| w[0] == "Remise")
        .map(|w| w[1])
        .collect();
    assert_eq!(scores.len(), 2, "two scores: {table}");
    for s in scores {
        assert_eq!(s, "60,0", "in: {table}");
    }
    b.visit("dossier-evaluations").await;
    b.fits_at_375("la page du dossier").await;
}

crate::both_backends!(
    the_agent_reads_answers_reviews_and_comments_in_words,
    an_agent_screens_from_the_dashboard_to_the_review,
    applicants_and_reviewers_get_no_agent_page,
);

//! After the convention (DESIGN.md §15), through the pages in a real Chromium over both
//! databases: staff see the instalments to order, upload the finance service's file (a bad
//! line refused with the table of what each line would do, then a good file saved), the
//! beneficiary writes the final report (refused first, the values kept; saved as a draft;
//! submitted), and staff approve it. axe-core and screenshots on every page.

use essor::domain::account::Role;
use serde_json::{Value, json};
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

async fn grant_of(app: &TestApp, token: &str) -> Value {
    let grants: Value = app
        .get_as(token, "/api/v1/grants")
        .await
        .json()
        .await
        .unwrap();
    grants[0].clone()
}

async fn the_finance_file_and_the_final_report_through_the_pages(app: TestApp) {
    let _one = BROWSER.lock().await;
    let label = format!("financement-{}", backend_name(&app));
    let Some(mut b) = Browser::open(&app.address, &label, true).await else {
        return;
    };
    let staff = app.account(Role::Staff, "agent@lillemetropole.fr").await;
    let applicant = app.account(Role::Applicant, "porteur@exemple.fr").await;
    let reviewer = app.account(Role::Reviewer, "expert@exemple.fr").await;
    let call = app
        .published_call(
            &staff.token,
            json!({"min_reviews": 1, "budget_cents": 5_000_000, "convention": "never"}),
        )
        .await;
    let call_id = call["id"].as_str().unwrap();
    let a = app.submitted_application(&applicant.token, call_id).await;
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
    let grant = grant_of(&app, &staff.token).await;
    let grant_id = grant["id"].as_str().unwrap();
    let resp = app
        .client
        .put(app.url(&format!("/api/v1/grants/{grant_id}/bank-details")))
        .bearer_auth(&applicant.token)
        .json(
            &json!({"iban": "FR7630006000011234567890189", "bic": "AGRIFRPP867",
                      "holder": "Les Ateliers du Sart"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let advance = grant["instalments"][0]["id"].as_str().unwrap().to_owned();

    // Staff: the advance is to order; the list to download; the import form.
    sign_in(&b, "agent@lillemetropole.fr").await;
    b.goto(&format!("/gestion/appels/{call_id}/financements"))
        .await;
    let body = b.body().await;
    assert!(body.contains("À mandater (1, 14 800 €)"), "{body}");
    assert!(
        body.contains("Télécharger la liste pour le service financier (CSV, 1 ligne)"),
        "{body}"
    );
    assert!(body.contains("Avance"), "{body}");
    b.visit("1-a-mandater").await;
    b.fits_at_375("the grants page").await;

    // A file with an unknown line: the table says what each line would do, nothing is saved.
    let files = tempfile::tempdir().unwrap();
    let bad = files.path().join("retour-finances.csv");
    std::fs::write(
        &bad,
        format!("instalment_id;mandate_reference;paid_on\r\n{advance};M-2026-0815;2026-12-01\r\n01936f4e-0000-7000-8000-000000000000;M-2;\r\n"),
    )
    .unwrap();
    b.upload("file", &bad).await;
    b.press("Vérifier le fichier").await;
    assert_eq!(b.h1().await, "Fichier du service financier");
    assert!(
        b.title().await.starts_with("Erreur : "),
        "{}",
        b.title().await
    );
    let body = b.body().await;
    assert!(body.contains("Ligne 3 : inconnu"), "{body}");
    assert!(body.contains("Rien n'a été enregistré"), "{body}");
    assert!(body.contains("payé"), "the good line is judged too: {body}");
    assert!(!body.contains("Enregistrer 1"), "{body}");
    b.visit("2-fichier-refuse").await;
    b.fits_at_375("the import's report").await;
    assert_eq!(
        grant_of(&app, &staff.token).await["instalments"][0]["state"],
        "requested"
    );

    // The good file: checked, then saved.
    let good = files.path().join("retour-finances-corrige.csv");
    std::fs::write(
        &good,
        format!("instalment_id;mandate_reference;paid_on\r\n{advance};M-2026-0815;01/12/2026\r\n"),
    )
    .unwrap();
    b.upload("file", &good).await;
    b.press("Vérifier le fichier").await;
    assert!(
        !b.title().await.starts_with("Erreur"),
        "{}",
        b.title().await
    );
    assert!(b.body().await.contains("Rien n'est encore enregistré"));
    b.visit("3-fichier-verifie").await;
    assert_eq!(
        grant_of(&app, &staff.token).await["instalments"][0]["state"],
        "requested"
    );
    b.press("Enregistrer 1 mandat ou paiement").await;
    assert!(
        b.path()
            .await
            .starts_with(&format!("/gestion/appels/{call_id}/financements"))
    );
    let body = b.body().await;
    assert!(
        body.contains("Fichier du service financier enregistré : 0 mandat, 1 paiement"),
        "{body}"
    );
    assert!(body.contains("Aucun versement n'est à mandater"), "{body}");
    assert!(
        body.contains("14 800 € payés sur 18 500 € attribués"),
        "{body}"
    );
    b.visit("4-fichier-enregistre").await;
    b.close().await;

    // The beneficiary: the report, refused when incomplete, saved as a draft, submitted.
    let Some(mut b) = Browser::open(&app.address, &label, true).await else {
        return;
    };
    sign_in(&b, "porteur@exemple.fr").await;
    b.goto(&format!("/candidatures/{id}")).await;
    let body = b.body().await;
    assert!(body.contains("Payé le 1er décembre 2026"), "{body}");
    b.click("Remplir le compte rendu financier").await;
    assert_eq!(b.h1().await, "Compte rendu financier");
    b.visit("5-compte-rendu").await;
    b.fits_at_375("the report's form").await;
    // An invoice as an annex: no file chosen is said beside the field; then added and listed.
    b.press("Ajouter l'annexe").await;
    assert!(
        b.text("#annex_file-error")
            .await
            .contains("Choisissez un fichier")
    );
    let invoice = files.path().join("facture-bois.pdf");
    std::fs::write(&invoice, crate::helpers::PDF).unwrap();
    b.upload("annex_file", &invoice).await;
    b.press("Ajouter l'annexe").await;
    let body = b.body().await;
    assert!(body.contains("L'annexe est ajoutée"), "{body}");
    assert!(body.contains("facture-bois.pdf"), "{body}");
    b.visit("5b-annexe-ajoutee").await;
    b.fill("planned_purchases", "10 000").await;
    b.fill("actual_purchases", "12 500,50").await;
    b.fill("actual_this_grant", "18 500").await;
    b.fill("volunteers", "douze").await;
    b.press("Déposer le compte rendu").await;
    assert!(
        b.title().await.starts_with("Erreur : "),
        "{}",
        b.title().await
    );
    let body = b.body().await;
    assert!(
        body.contains("Bénévoles : indiquez un nombre entier"),
        "{body}"
    );
    assert_eq!(b.value("actual_purchases").await, "12 500,50");
    assert_eq!(b.value("volunteers").await, "douze");
    b.visit("6-compte-rendu-erreurs").await;
    b.fill("volunteers", "12").await;
    b.press("Enregistrer le brouillon").await;
    assert!(b.body().await.contains("Brouillon enregistré"));
    assert_eq!(b.value("actual_purchases").await, "12500,50");
    // Submitting now names what a report needs: the gap's explanation, the narrative…
    b.press("Déposer le compte rendu").await;
    let body = b.body().await;
    assert!(
        body.contains("Expliquez les écarts de plus de 15 %"),
        "{body}"
    );
    assert!(body.contains("60 – Achats"), "{body}");
    assert!(
        b.text("#narrative-error")
            .await
            .contains("Décrivez ce qui a été réalisé")
    );
    b.visit("7-compte-rendu-incomplet").await;
    b.fill("gaps_explanation", "Le bois a coûté plus cher que prévu.")
        .await;
    b.fill(
        "narrative",
        "La recyclerie a ouvert en mars ; 800 personnes sont venues.",
    )
    .await;
    b.fill("jobs_created", "2").await;
    b.fill("people_reached", "800").await;
    b.press("Déposer le compte rendu").await;
    assert_eq!(b.path().await, format!("/candidatures/{id}?compte_rendu=1"));
    assert!(
        b.body()
            .await
            .contains("Votre compte rendu financier est déposé")
    );
    b.visit("8-compte-rendu-depose").await;
    b.close().await;

    // Staff read it on the application's page and approve it: the balance is requested.
    let Some(mut b) = Browser::open(&app.address, &label, true).await else {
        return;
    };
    sign_in(&b, "agent@lillemetropole.fr").await;
    b.goto(&format!("/gestion/candidatures/{id}")).await;
    let body = b.body().await;
    assert!(body.contains("Compte rendu financier"), "{body}");
    assert!(body.contains("800 personnes sont venues"), "{body}");
    assert!(body.contains("écart > 15 %"), "{body}");
    assert!(body.contains("facture-bois.pdf"), "the annex: {body}");
    b.visit("9-compte-rendu-a-approuver").await;
    b.press("Approuver le compte rendu").await;
    assert_eq!(b.path().await, format!("/gestion/candidatures/{id}?fait=1"));
    let g = grant_of(&app, &staff.token).await;
    assert_eq!(g["state"], "report_approved");
    assert_eq!(g["instalments"][1]["state"], "requested");
    b.visit("10-compte-rendu-approuve").await;

    // A recovery: an amount that is not one is refused beside its field, the values kept;
    // then asked, and the letter is listed.
    b.fill("recovery_amount", "beaucoup").await;
    b.fill("recovery_motivation", "La recyclerie a fermé en juin.")
        .await;
    b.press("Demander le reversement").await;
    assert!(
        b.title().await.starts_with("Erreur : "),
        "{}",
        b.title().await
    );
    assert!(
        b.text("#recovery_amount-error")
            .await
            .contains("montant en euros")
    );
    assert_eq!(
        b.value("recovery_motivation").await,
        "La recyclerie a fermé en juin."
    );
    b.visit("11-reversement-erreur").await;
    b.fill("recovery_amount", "20 000").await;
    b.press("Demander le reversement").await;
    assert!(
        b.text("#recovery_amount-error")
            .await
            .contains("dépasse ce qui a été payé")
    );
    b.fill("recovery_amount", "2 000").await;
    b.press("Demander le reversement").await;
    assert_eq!(b.path().await, format!("/gestion/candidatures/{id}?fait=1"));
    let body = b.body().await;
    assert!(body.contains("Reversement demandé le"), "{body}");
    assert!(
        body.contains("Demande de reversement de subvention"),
        "the letter: {body}"
    );
    assert_eq!(
        grant_of(&app, &staff.token).await["state"],
        "recovery_requested"
    );
    b.visit("12-reversement-demande").await;
    b.fits_at_375("the staff application page").await;
    b.close().await;
}

crate::both_backends!(the_finance_file_and_the_final_report_through_the_pages);

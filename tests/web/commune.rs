//! A commune's journey through the pages (DESIGN.md §16), in a real Chromium over both
//! databases: the admin invites the commune's agent from « Comptes » (a commune missing, then
//! chosen), the agent chooses a password from the invitation's link, lands on « Ma commune »,
//! reads the application taking place there and nothing of another commune's. axe-core and
//! screenshots at 1280 and 375 px.

use essor::domain::account::Role;
use serde_json::json;
use tokio::sync::Mutex;

use crate::browser::Browser;
use crate::helpers::{PASSWORD, TestApp, sample_application};

static BROWSER: Mutex<()> = Mutex::const_new(());

fn backend_name(app: &TestApp) -> &'static str {
    if app.settings.database.url.starts_with("sqlite") {
        "sqlite"
    } else {
        "postgres"
    }
}

async fn a_commune_is_invited_and_reads_its_applications(app: TestApp) {
    let _one = BROWSER.lock().await;
    let label = format!("commune-{}", backend_name(&app));
    let Some(mut b) = Browser::open(&app.address, &label, true).await else {
        return;
    };
    let staff = app.account(Role::Staff, "agent@lillemetropole.fr").await;
    app.account(Role::Admin, "admin@lillemetropole.fr").await;
    let applicant = app.account(Role::Applicant, "porteur@exemple.fr").await;
    let call = app.published_call(&staff.token, json!({})).await;
    let call_id = call["id"].as_str().unwrap();
    let mut ids = Vec::new();
    for (name, communes) in [
        ("La Recyclerie du Pile", json!(["59512"])),
        ("Les Jardins de Tourcoing", json!(["59599"])),
    ] {
        let mut body = sample_application();
        body["organisation"]["name"] = json!(name);
        body["project"]["activity_communes"] = communes;
        let a = app
            .draft_application(&applicant.token, call_id, &body)
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
        assert_eq!(resp.status(), 200);
        ids.push(id);
    }

    // The admin invites Roubaix's agent: without the commune first, refused beside the field.
    b.goto("/connexion").await;
    b.fill("email", "admin@lillemetropole.fr").await;
    b.fill("password", PASSWORD).await;
    b.press("Se connecter").await;
    b.goto("/admin/comptes").await;
    b.fill("email", "agent@ville-roubaix.fr").await;
    b.fill("full_name", "Claire Agent").await;
    b.select("role", "commune").await;
    b.press("Envoyer l'invitation").await;
    let error = b.text("#commune_insee-error").await;
    assert!(
        error.to_lowercase().contains("indiquez la commune"),
        "the commune is asked for: {error}"
    );
    assert_eq!(
        b.value("email").await,
        "agent@ville-roubaix.fr",
        "values kept"
    );
    b.visit("1-invitation-sans-commune").await;
    b.select("commune_insee", "59512").await;
    b.press("Envoyer l'invitation").await;
    assert!(b.body().await.contains("L'invitation est envoyée"));
    b.press("Se déconnecter").await;

    // The agent chooses a password from the mail's link and lands on « Ma commune ».
    let token = app
        .link_token("agent@ville-roubaix.fr", "account_invitation")
        .await;
    b.goto(&format!("/compte/invitation?token={token}")).await;
    b.fill("password", PASSWORD).await;
    b.press("Enregistrer le mot de passe").await;
    assert!(
        b.path().await.starts_with("/connexion"),
        "{}",
        b.path().await
    );
    b.fill("email", "agent@ville-roubaix.fr").await;
    b.fill("password", PASSWORD).await;
    b.press("Se connecter").await;
    assert_eq!(b.path().await, "/commune");
    assert_eq!(b.h1().await, "Les candidatures à Roubaix");
    let body = b.body().await;
    assert!(body.contains("La Recyclerie du Pile"), "{body}");
    assert!(body.contains("Déposée, en attente d'instruction"), "{body}");
    assert!(!body.contains("Les Jardins de Tourcoing"), "{body}");
    b.visit("2-ma-commune").await;
    b.fits_at_375("the commune's list").await;

    b.click(&reference_of(&app, &staff.token, &ids[0]).await)
        .await;
    assert_eq!(b.path().await, format!("/commune/candidatures/{}", ids[0]));
    assert_eq!(b.h1().await, "Recyclerie de quartier");
    let body = b.body().await;
    assert!(body.contains("Communes où le projet se déroule"), "{body}");
    assert!(body.contains("Roubaix"), "{body}");
    assert!(!body.contains("Pièces"), "no document: {body}");
    b.visit("3-candidature-commune").await;
    b.fits_at_375("the commune's application page").await;

    // Tourcoing's application is not Roubaix's to read.
    b.goto(&format!("/commune/candidatures/{}", ids[1])).await;
    assert!(b.title().await.contains("404"), "{}", b.title().await);
    b.close().await;
}

async fn reference_of(app: &TestApp, staff: &str, id: &str) -> String {
    let a: serde_json::Value = app
        .get_as(staff, &format!("/api/v1/applications/{id}"))
        .await
        .json()
        .await
        .unwrap();
    a["reference"].as_str().unwrap().to_owned()
}

crate::both_backends!(a_commune_is_invited_and_reads_its_applications);

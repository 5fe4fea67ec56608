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

    // The commune's opinion: nothing chosen, then a reservation without its reason, both
    // refused beside their field with the values kept; then recorded.
    b.press("Enregistrer l'avis").await;
    assert!(b.title().await.starts_with("Erreur"), "{}", b.title().await);
    assert!(
        b.text("#opinion-error")
            .await
            .to_lowercase()
            .contains("choisissez")
    );
    b.click_id("opinion-reserved").await;
    b.press("Enregistrer l'avis").await;
    let error = b.text("#comment-error").await.to_lowercase();
    assert!(error.contains("réservé ou défavorable"), "{error}");
    b.visit("4-avis-sans-motif").await;
    b.fill("comment", "Le local n'est pas encore trouvé.").await;
    b.press("Enregistrer l'avis").await;
    assert_eq!(
        b.path().await,
        format!("/commune/candidatures/{}?avis=1", ids[0])
    );
    let body = b.body().await;
    assert!(
        body.contains("L'avis de la commune est enregistré"),
        "{body}"
    );
    assert!(body.contains("Avis réservé"), "{body}");
    assert!(body.contains("Le local n'est pas encore trouvé."), "{body}");
    b.visit("5-avis-enregistre").await;
    b.fits_at_375("the opinion given").await;
    let staff_read: serde_json::Value = app
        .get_as(
            &staff.token,
            &format!("/api/v1/applications/{}/commune-opinions", ids[0]),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        staff_read["opinions"][0]["opinion"], "reserved",
        "{staff_read}"
    );

    // « Recommander un porteur de projet »: an address that is not one, then sent.
    b.goto("/commune").await;
    b.click("Recommander un porteur de projet").await;
    assert_eq!(b.path().await, "/commune/recommander");
    b.fill("organisation_name", "Le Café des Parents").await;
    b.fill("email", "cafe-des-parents").await;
    b.press("Envoyer la recommandation").await;
    assert!(
        b.text("#email-error")
            .await
            .to_lowercase()
            .contains("n'est pas valide")
    );
    assert_eq!(b.value("organisation_name").await, "Le Café des Parents");
    b.fill("email", "contact@cafe-des-parents.fr").await;
    b.press("Envoyer la recommandation").await;
    let body = b.body().await;
    assert!(
        body.contains("La recommandation est envoyée à contact@cafe-des-parents.fr"),
        "{body}"
    );
    assert!(body.contains("REC-"), "{body}");
    b.visit("6-recommander").await;
    b.fits_at_375("the referrals").await;

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

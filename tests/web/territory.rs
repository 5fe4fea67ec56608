//! The territory's pages (DESIGN.md §16) in a real Chromium over both databases: the public
//! « Projets soutenus » with its map and its SCDL link, then the agents' « Le territoire » with
//! its map, its table, its filters and its CSV. axe-core and screenshots at 1280 and 375 px.

use essor::domain::account::Role;
use fantoccini::Locator;
use serde_json::{Value, json};
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

/// The class of a commune's shape on the map, and its `<title>`.
async fn shape(b: &Browser, insee: &str) -> (String, String) {
    let link = b
        .client
        .find(Locator::Css(&format!("svg.map a[href='#commune-{insee}']")))
        .await
        .unwrap_or_else(|e| panic!("{insee} on the map: {e}"));
    let path = link.find(Locator::Css("path")).await.unwrap();
    let class = path.attr("class").await.unwrap().unwrap_or_default();
    let title = link
        .find(Locator::Css("title"))
        .await
        .unwrap()
        .prop("textContent")
        .await
        .unwrap()
        .unwrap_or_default()
        .replace(['\u{202f}', '\u{a0}'], " ");
    (class, title)
}

async fn map_links(b: &Browser) -> usize {
    b.client
        .find_all(Locator::Css("svg.map a"))
        .await
        .unwrap()
        .len()
}

async fn the_territory_s_map_and_table_through_the_pages(app: TestApp) {
    let _one = BROWSER.lock().await;
    let label = format!("territoire-{}", backend_name(&app));
    let Some(mut b) = Browser::open(&app.address, &label, true).await else {
        return;
    };
    let staff = app.account(Role::Staff, "agent@lillemetropole.fr").await;
    let applicant = app.account(Role::Applicant, "porteur@exemple.fr").await;
    let reviewer = app.account(Role::Reviewer, "expert@exemple.fr").await;
    let call = app
        .published_call(
            &staff.token,
            json!({"min_reviews": 1, "convention": "never", "title": "Entreprendre autrement 2026"}),
        )
        .await;
    let call_id = call["id"].as_str().unwrap();
    // A recyclerie in Roubaix and Lille, awarded 15 000 €; a second project in Lomme (Lille's),
    // submitted.
    let mut body = sample_application();
    body["organisation"]["name"] = json!("La Recyclerie du Pile");
    body["project"]["activity_communes"] = json!(["59512", "59350"]);
    let a = app
        .draft_application(&applicant.token, call_id, &body)
        .await;
    let id = a["id"].as_str().unwrap();
    app.attach_required(&applicant.token, id).await;
    let resp = app
        .post_json(
            Some(&applicant.token),
            &format!("/api/v1/applications/{id}/submit"),
            &json!({}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let asg = app.start_review(&staff.token, id, &[&reviewer]).await;
    app.review(&reviewer, &asg[0], [5, 4, 4, 4, 4]).await;
    let resp = app
        .post_json(
            Some(&staff.token),
            &format!("/api/v1/applications/{id}/decision"),
            &json!({"outcome": "accepted", "awarded_cents": 1_500_000,
                    "motivation": "Projet structurant pour le quartier.",
                    "committee_date": "2026-11-02", "decision_reference": "DEL-2026-0042"}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let mut body = sample_application();
    body["organisation"]["name"] = json!("Les Jardins de Lomme");
    body["project"]["activity_communes"] = json!(["59355"]);
    let second: Value = app
        .draft_application(&applicant.token, call_id, &body)
        .await;
    let second = second["id"].as_str().unwrap();
    app.attach_required(&applicant.token, second).await;
    let resp = app
        .post_json(
            Some(&applicant.token),
            &format!("/api/v1/applications/{second}/submit"),
            &json!({}),
        )
        .await;
    assert_eq!(resp.status(), 200);

    // Anyone: the projects supported this year, by commune, on a map.
    b.goto("/projets-soutenus").await;
    let h1 = b.h1().await;
    assert!(h1.starts_with("Projets soutenus en "), "{h1}");
    let body = b.body().await;
    assert!(
        body.contains("1 projet soutenu pour 15 000 €, dans 2 communes."),
        "{body}"
    );
    assert!(body.contains("Roubaix (1 projet, 15 000 €)"), "{body}");
    assert!(body.contains("La Recyclerie du Pile"), "{body}");
    assert!(
        !body.contains("Les Jardins de Lomme"),
        "a project not awarded is not published: {body}"
    );
    assert!(body.contains("IGN, Admin Express"), "the credit: {body}");
    assert_eq!(map_links(&b).await, 95);
    let (class, title) = shape(&b, "59512").await;
    assert_eq!(class, "c4", "the one class there is, in the darkest colour");
    assert_eq!(title, "Roubaix : 1 projet soutenu");
    let (class, title) = shape(&b, "59599").await;
    assert_eq!(class, "zero", "Tourcoing has none: the hatch");
    assert_eq!(title, "Tourcoing : aucun projet soutenu");
    let scdl = b
        .client
        .find(Locator::LinkText("Entreprendre autrement 2026 (CSV)"))
        .await
        .expect("the SCDL link");
    assert_eq!(
        scdl.attr("href").await.unwrap().unwrap(),
        format!("/projets-soutenus/appels/{call_id}/subventions.csv")
    );
    b.visit("1-projets-soutenus").await;
    b.fits_at_375("the supported projects").await;

    // Staff: the territory, those without a single application first.
    b.goto("/connexion").await;
    b.fill("email", "agent@lillemetropole.fr").await;
    b.fill("password", PASSWORD).await;
    b.press("Se connecter").await;
    b.goto("/gestion").await;
    b.click("Le territoire : les candidatures et les lauréats par commune")
        .await;
    assert_eq!(b.path().await, "/gestion/territoire");
    assert_eq!(b.h1().await, "Le territoire");
    let body = b.body().await;
    assert!(
        body.contains("Communes sans aucune candidature (93)"),
        "{body}"
    );
    let without = b.text("#sans-candidature + p").await;
    assert!(without.contains("Tourcoing"), "{without}");
    assert!(!without.contains("Roubaix"), "{without}");
    assert_eq!(map_links(&b).await, 95);
    let (class, title) = shape(&b, "59350").await;
    assert_ne!(class, "zero");
    assert!(
        title.starts_with(
            "Lille : 2 candidatures, 0,1 pour 10 000 habitants, 2 éligibles, 1 lauréate"
        ),
        "{title}"
    );
    assert_eq!(shape(&b, "59599").await.0, "zero");
    // The table, the map's text alternative: the first row is a commune without any.
    let first = b.text("#tableau ~ table tbody tr th").await;
    assert_eq!(first, "Allennes-les-Marais");
    let lille = b
        .text("#commune-59350")
        .await
        .replace(['\u{202f}', '\u{a0}'], " ");
    assert!(lille.contains("Lille"), "{lille}");
    assert!(lille.contains("15 000 €"), "{lille}");
    b.visit("2-territoire").await;
    b.fits_at_375("the territory").await;

    // The filters: this call, the year 2021 (nothing submitted then).
    b.select("appel", call_id).await;
    b.select("annee", "2021").await;
    b.press("Afficher").await;
    assert_eq!(
        b.path().await,
        format!("/gestion/territoire?appel={call_id}&annee=2021")
    );
    let title = b.title().await;
    assert!(
        title.starts_with("Le territoire – Entreprendre autrement 2026 – 2021"),
        "{title}"
    );
    let body = b.body().await;
    assert!(
        body.contains("Communes sans aucune candidature (95)"),
        "{body}"
    );
    b.visit("3-territoire-filtre").await;
    b.close().await;
}

crate::both_backends!(the_territory_s_map_and_table_through_the_pages);

//! Measuring the territory (DESIGN.md §16): `GET /territory` against a hand count on a seeded
//! call, its filters, and what it refuses; the public page's projects and SCDL file.

use serde_json::{Value, json};

use crate::both_backends;
use crate::grants::decide;
use crate::helpers::{TestApp, assert_problem};

both_backends!(
    the_territory_counts_each_commune_as_a_hand_count_does,
    the_territory_refuses_what_it_cannot_count,
);

async fn post_ok(app: &TestApp, token: &str, path: &str, body: Value) {
    let resp = app.post_json(Some(token), path, &body).await;
    assert_eq!(resp.status(), 200, "{path}");
}

async fn territory(app: &TestApp, token: &str, query: &str) -> Value {
    let resp = app
        .get_as(token, &format!("/api/v1/territory{query}"))
        .await;
    assert_eq!(resp.status(), 200, "{query}");
    resp.json().await.unwrap()
}

fn commune<'a>(stats: &'a Value, insee: &str) -> &'a Value {
    stats["communes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["insee"] == insee)
        .unwrap_or_else(|| panic!("{insee} in {stats}"))
}

/// (applications, eligible, awarded, awarded_cents) of a commune.
fn figures(stats: &Value, insee: &str) -> (i64, i64, i64, i64) {
    let c = commune(stats, insee);
    (
        c["applications"].as_i64().unwrap(),
        c["eligible"].as_i64().unwrap(),
        c["awarded"].as_i64().unwrap(),
        c["awarded_cents"].as_i64().unwrap(),
    )
}

const ROUBAIX: &str = "59512";
const LILLE: &str = "59350";
const LOMME: &str = "59355";
const TOURCOING: &str = "59599";

async fn the_territory_counts_each_commune_as_a_hand_count_does(app: TestApp) {
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    let applicant = &cast.applicant.token;
    let call = app
        .published_call(staff, json!({"min_reviews": 1, "convention": "never"}))
        .await;
    let call_id = call["id"].as_str().unwrap();

    // A: Roubaix and Lille, accepted for 15 000 €.
    let a = app
        .filed_in(applicant, call_id, &[ROUBAIX, LILLE], false)
        .await;
    let asg = app.start_review(staff, &a, &[&cast.reviewer]).await;
    app.review(&cast.reviewer, &asg[0], [5, 4, 4, 4, 4]).await;
    decide(
        &app,
        staff,
        &a,
        json!({"outcome": "accepted", "awarded_cents": 1_500_000,
               "motivation": "Projet utile au quartier.",
               "committee_date": "2026-11-02", "decision_reference": "DEL-2026-0042"}),
    )
    .await;
    // B: Lomme (Lille's), submitted, not screened yet.
    let b = app.filed_in(applicant, call_id, &[LOMME], false).await;
    let report: Value = app
        .get_as(applicant, &format!("/api/v1/applications/{b}/eligibility"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["verdict"], "eligible", "the fixture B: {report}");
    // C: Tourcoing, a draft: never counted.
    app.filed_in(applicant, call_id, &[TOURCOING], true).await;
    // D: Roubaix, declared ineligible.
    let d = app.filed_in(applicant, call_id, &[ROUBAIX], false).await;
    post_ok(
        &app,
        staff,
        &format!("/api/v1/applications/{d}/declare-ineligible"),
        json!({"motivation": "Activité hors du champ de l'appel."}),
    )
    .await;
    // E: Roubaix, withdrawn after its submission: it was submitted, it counts, not eligible.
    let e = app.filed_in(applicant, call_id, &[ROUBAIX], false).await;
    post_ok(
        &app,
        applicant,
        &format!("/api/v1/applications/{e}/withdraw"),
        json!({"reason": "Projet reporté."}),
    )
    .await;
    // Another call: one application in Roubaix, B's twin, counted only without the filter.
    let other = app
        .published_call(staff, json!({"title": "Un autre appel"}))
        .await;
    app.filed_in(applicant, other["id"].as_str().unwrap(), &[ROUBAIX], false)
        .await;

    let stats = territory(&app, staff, &format!("?call_id={call_id}")).await;
    assert_eq!(stats["communes"].as_array().unwrap().len(), 95);
    assert_eq!(stats["call_id"], call_id);
    assert_eq!(figures(&stats, ROUBAIX), (3, 1, 1, 1_500_000), "A, D, E");
    assert_eq!(
        figures(&stats, LILLE),
        (2, 2, 1, 1_500_000),
        "A, and B in Lomme"
    );
    assert_eq!(
        figures(&stats, TOURCOING),
        (0, 0, 0, 0),
        "a draft is never counted"
    );
    assert!(
        stats["communes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["insee"] != LOMME),
        "Lomme is Lille's"
    );
    // A counted once in the totals, though it acts in two communes.
    assert_eq!(
        stats["totals"],
        json!({"applications": 4, "eligible": 2, "awarded": 1, "awarded_cents": 1_500_000,
               "communes_without_application": 93, "referrals": 0, "referred_applications": 0})
    );
    let roubaix = commune(&stats, ROUBAIX);
    let population = roubaix["population"].as_f64().unwrap();
    assert!(population > 90_000.0, "{roubaix}");
    let expected = (3.0 * 10_000.0 / population * 10.0).round() / 10.0;
    assert_eq!(roubaix["per_10k_inhabitants"].as_f64().unwrap(), expected);
    assert_eq!(roubaix["name"], "Roubaix");

    // Without the call: the other call's application counts in Roubaix too.
    let all = territory(&app, staff, "").await;
    assert_eq!(figures(&all, ROUBAIX).0, 4);
    assert_eq!(all["totals"]["applications"], 5);
    // By year of submission: this year holds them all, 2000 none.
    let year = essor::clock::paris_date(chrono::Utc::now())
        .format("%Y")
        .to_string();
    let this_year = territory(&app, staff, &format!("?call_id={call_id}&year={year}")).await;
    assert_eq!(this_year["communes"], stats["communes"]);
    let y2000 = territory(&app, staff, &format!("?call_id={call_id}&year=2000")).await;
    assert_eq!(y2000["totals"]["applications"], 0);
    assert_eq!(y2000["totals"]["communes_without_application"], 95);

    // Editing a draft's communes moves it: C, moved from Tourcoing to Roubaix and submitted.
    let c = app.filed_in(applicant, call_id, &[TOURCOING], true).await;
    let resp = app
        .patch_json(
            applicant,
            &format!("/api/v1/applications/{c}"),
            Some("\"1\""),
            &json!({"project": {"activity_communes": [ROUBAIX]}}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    app.attach_required(applicant, &c).await;
    post_ok(
        &app,
        applicant,
        &format!("/api/v1/applications/{c}/submit"),
        json!({}),
    )
    .await;
    let after = territory(&app, staff, &format!("?call_id={call_id}")).await;
    assert_eq!(figures(&after, ROUBAIX).0, 4);
    assert_eq!(figures(&after, TOURCOING).0, 0);
}

async fn the_territory_refuses_what_it_cannot_count(app: TestApp) {
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    for (query, status, words) in [
        ("?year=abc", 400, "n'est pas une année"),
        ("?year=1999", 400, "entre 2000 et 2100"),
        ("?call_id=pas-un-uuid", 400, "UUID"),
        (
            "?call_id=0193a0b0-0000-7000-8000-000000000000",
            404,
            "n'existe pas",
        ),
    ] {
        let resp = app
            .get_as(staff, &format!("/api/v1/territory{query}"))
            .await;
        let body = assert_problem(resp, status).await;
        assert!(
            body["detail"].as_str().unwrap().contains(words),
            "{query}: {body}"
        );
    }
    // Staff's figures only.
    for token in [&cast.applicant.token, &cast.reviewer.token] {
        let resp = app.get_as(token, "/api/v1/territory").await;
        assert_problem(resp, 403).await;
    }
    assert_eq!(app.get("/api/v1/territory").await.status(), 401);
}

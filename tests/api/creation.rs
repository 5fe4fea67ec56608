//! New forms of activity creation (DESIGN.md §16): a structure in creation applies without a
//! SIRET, its eligibility says « à vérifier » where statutes do not exist yet, and it gives
//! its identifier before its convention is signed or a euro is paid; hosted holders of one
//! host apply once each.

use serde_json::{Value, json};

use crate::both_backends;
use crate::grants::decide;
use crate::helpers::{TestApp, assert_problem, sample_application};

both_backends!(
    each_status_asks_for_its_own_fields_and_nothing_else,
    a_structure_in_creation_registers_before_it_signs_or_is_paid,
    hosted_holders_of_one_host_apply_once_each,
);

/// The sample body, in creation (the holder, no identifier, no date).
fn in_creation() -> Value {
    let mut body = sample_application();
    let org = &mut body["organisation"];
    org["status"] = json!("in_creation");
    org["holder_name"] = json!("Julie Martin");
    org["siret"] = Value::Null;
    org["rna"] = Value::Null;
    org["created_on"] = Value::Null;
    body
}

fn hosted(holder: &str) -> Value {
    let mut body = sample_application();
    let org = &mut body["organisation"];
    org["status"] = json!("hosted");
    org["holder_name"] = json!(holder);
    org["host_siret"] = json!("443 061 841 00047");
    org["host_name"] = json!("Coopérative Grands Ensemble");
    org["siret"] = Value::Null;
    org["rna"] = Value::Null;
    org["legal_form"] = json!("cooperative");
    body
}

async fn create(app: &TestApp, token: &str, call_id: &str, body: &Value) -> reqwest::Response {
    app.post_json(
        Some(token),
        &format!("/api/v1/calls/{call_id}/applications"),
        body,
    )
    .await
}

async fn each_status_asks_for_its_own_fields_and_nothing_else(app: TestApp) {
    let cast = app.cast().await;
    let applicant = &cast.applicant.token;
    let call = app.published_call(&cast.staff.token, json!({})).await;
    let call_id = call["id"].as_str().unwrap();
    let before = app.count("applications").await;
    let tweak = |base: Value, f: fn(&mut Value)| {
        let mut b = base;
        f(&mut b["organisation"]);
        b
    };
    for (body, field, words) in [
        (
            tweak(in_creation(), |o| o["siret"] = json!("73282932000074")),
            "organisation.siret",
            "en création n'a pas encore de SIRET",
        ),
        (
            tweak(in_creation(), |o| o["created_on"] = json!("2024-01-01")),
            "organisation.created_on",
            "pas encore de date",
        ),
        (
            tweak(in_creation(), |o| o["holder_name"] = Value::Null),
            "organisation.holder_name",
            "la personne qui porte le projet",
        ),
        (
            tweak(sample_application(), |o| o["created_on"] = Value::Null),
            "organisation.created_on",
            "date de création",
        ),
        (
            tweak(sample_application(), |o| o["host_name"] = json!("Une CAE")),
            "organisation.host_name",
            "seulement pour une activité hébergée",
        ),
        (
            tweak(hosted("Julie Martin"), |o| o["host_siret"] = Value::Null),
            "organisation.host_siret",
            "structure d'accueil",
        ),
        (
            tweak(hosted("Julie Martin"), |o| {
                o["host_siret"] = json!("44306184100048")
            }),
            "organisation.host_siret",
            "",
        ),
        (
            tweak(hosted("Julie Martin"), |o| {
                o["siret"] = json!("73282932000074")
            }),
            "organisation.siret",
            "structure d'accueil",
        ),
        (
            tweak(sample_application(), |o| o["status"] = json!("en_projet")),
            "organisation.status",
            "en_projet",
        ),
    ] {
        let problem = assert_problem(create(&app, applicant, call_id, &body).await, 422).await;
        assert!(
            problem["errors"][field].to_string().contains(words),
            "{field}: {problem}"
        );
    }
    assert_eq!(app.count("applications").await, before, "nothing created");

    // A body without a status is a registered structure's, as before.
    let resp = create(&app, applicant, call_id, &sample_application()).await;
    assert_eq!(resp.status(), 201);
    let a: Value = resp.json().await.unwrap();
    assert_eq!(a["organisation"]["status"], "registered");
}

async fn a_structure_in_creation_registers_before_it_signs_or_is_paid(app: TestApp) {
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    let applicant = &cast.applicant.token;
    // Two calls: one whose grants need a convention, one paying at the award.
    let mut ids = Vec::new();
    for convention in ["always", "never"] {
        let call = app
            .published_call(
                staff,
                json!({"min_reviews": 1, "budget_cents": 5_000_000, "convention": convention}),
            )
            .await;
        let resp = create(
            &app,
            applicant,
            call["id"].as_str().unwrap(),
            &in_creation(),
        )
        .await;
        assert_eq!(resp.status(), 201);
        let a: Value = resp.json().await.unwrap();
        assert_eq!(a["organisation"]["status"], "in_creation");
        assert_eq!(a["organisation"]["created_on"], Value::Null);
        ids.push(a["id"].as_str().unwrap().to_owned());
    }

    // The eligibility reads the planned form and says « à vérifier ».
    let report: Value = app
        .get_as(
            applicant,
            &format!("/api/v1/applications/{}/eligibility", ids[0]),
        )
        .await
        .json()
        .await
        .unwrap();
    let criterion = |code: &str| {
        report["criteria"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["code"] == code)
            .cloned()
            .unwrap()
    };
    let mel1 = criterion("MEL-1");
    assert_eq!(mel1["outcome"], "review", "{mel1}");
    assert!(mel1["detail"].as_str().unwrap().contains("Julie Martin"));
    let ess5 = criterion("ESS-5");
    assert_eq!(ess5["outcome"], "review", "{ess5}");
    assert!(ess5["detail"].as_str().unwrap().starts_with("À vérifier"));
    assert_eq!(report["verdict"], "needs_review");

    // Submitted, reviewed, awarded.
    for id in &ids {
        app.attach_required(applicant, id).await;
        let resp = app
            .post_json(
                Some(applicant),
                &format!("/api/v1/applications/{id}/submit"),
                &json!({}),
            )
            .await;
        assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
        // Staff read what is « à vérifier » (the statutes once deposited) before the review.
        let stored: Value = app
            .get_as(staff, &format!("/api/v1/applications/{id}/eligibility"))
            .await
            .json()
            .await
            .unwrap();
        let mut assessments = serde_json::Map::new();
        for c in stored["criteria"].as_array().unwrap() {
            if c["outcome"] == "review" {
                assessments.insert(
                    c["code"].as_str().unwrap().to_owned(),
                    json!({"outcome": "pass", "note": "Projet de statuts lu."}),
                );
            }
        }
        assert!(assessments.contains_key("MEL-1"), "{stored}");
        let resp = app
            .post_json(
                Some(staff),
                &format!("/api/v1/applications/{id}/start-review"),
                &json!({"reviewer_ids": [cast.reviewer.id], "assessments": assessments}),
            )
            .await;
        assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
        let page: Value = app
            .get_as(&cast.reviewer.token, "/api/v1/assignments?per_page=100")
            .await
            .json()
            .await
            .unwrap();
        let asg = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["application_id"] == id.as_str())
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        app.review(&cast.reviewer, &asg, [5, 4, 4, 4, 4]).await;
        decide(
            &app,
            staff,
            id,
            json!({"outcome": "accepted", "awarded_cents": 1_000_000,
                   "motivation": "Projet attendu.", "committee_date": "2026-11-02",
                   "decision_reference": "DEL-2026-0007"}),
        )
        .await;
    }
    let grant_of = |id: String| {
        let app = &app;
        async move {
            let all: Value = app
                .get_as(staff, "/api/v1/grants")
                .await
                .json()
                .await
                .unwrap();
            all.as_array()
                .unwrap()
                .iter()
                .find(|g| g["application_id"] == id.as_str())
                .cloned()
                .unwrap()
        }
    };
    let states = |g: &Value| -> Vec<String> {
        g["instalments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["state"].as_str().unwrap().to_owned())
            .collect()
    };

    // With a convention: no signature without an identifier.
    let signed = grant_of(ids[0].clone()).await;
    let signed_id = signed["id"].as_str().unwrap().to_owned();
    let sign_path = format!("/api/v1/grants/{signed_id}/sign");
    let signature = json!({"signatory_name": "Julie Martin", "signatory_quality": "Fondatrice", "accept": true});
    let sign = || app.post_json(Some(applicant), &sign_path, &signature);
    let problem = assert_problem(sign().await, 409).await;
    assert!(problem["detail"].to_string().contains("SIRET"), "{problem}");

    // Without one: the bank details given, the advance still waits for the identifier.
    let paid = grant_of(ids[1].clone()).await;
    let paid_id = paid["id"].as_str().unwrap().to_owned();
    let resp = app
        .client
        .put(app.url(&format!("/api/v1/grants/{paid_id}/bank-details")))
        .bearer_auth(applicant)
        .json(
            &json!({"iban": "FR7630006000011234567890189", "bic": "AGRIFRPP867",
                      "holder": "Julie Martin"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        states(&grant_of(ids[1].clone()).await),
        ["planned", "planned"]
    );

    // The registration: refused by field, then recorded, audited, and the advance requested.
    let register = |id: &str, token: &str, body: Value| {
        let url = app.url(&format!("/api/v1/applications/{id}/registration"));
        let req = app
            .client
            .put(url)
            .bearer_auth(token.to_owned())
            .json(&body);
        async move { req.send().await.unwrap() }
    };
    let audit_before = app.count("audit_events").await;
    for (body, field, words) in [
        (json!({"created_on": "2026-12-01"}), "siret", "SIRET"),
        (
            json!({"siret": "73282932000075", "created_on": "2026-12-01"}),
            "siret",
            "",
        ),
        (
            json!({"siret": "73282932000074", "created_on": "2099-01-01"}),
            "created_on",
            "futur",
        ),
        (
            json!({"siret": "73282932000074"}),
            "created_on",
            "created_on",
        ),
    ] {
        let problem = assert_problem(register(&ids[1], applicant, body.clone()).await, 422).await;
        assert!(
            problem["errors"][field].to_string().contains(words),
            "{body}: {problem}"
        );
    }
    let good = json!({"siret": "732 829 320 00074", "created_on": "2026-12-01"});
    assert_problem(
        register(&ids[1], &cast.other_applicant.token, good.clone()).await,
        404,
    )
    .await;
    assert_problem(
        register(&ids[1], &cast.reviewer.token, good.clone()).await,
        403,
    )
    .await;
    assert_eq!(
        app.count("audit_events").await,
        audit_before,
        "nothing written"
    );
    let resp = register(&ids[1], applicant, good.clone()).await;
    assert_eq!(resp.status(), 200);
    let registered: Value = resp.json().await.unwrap();
    assert_eq!(registered["organisation"]["status"], "registered");
    assert_eq!(registered["organisation"]["siret"], "73282932000074");
    assert_eq!(registered["organisation"]["created_on"], "2026-12-01");
    assert_eq!(registered["organisation"]["holder_name"], Value::Null);
    assert_eq!(
        states(&grant_of(ids[1].clone()).await),
        ["requested", "planned"]
    );
    let history: Value = app
        .get_as(
            applicant,
            &format!("/api/v1/applications/{}/history", ids[1]),
        )
        .await
        .json()
        .await
        .unwrap();
    let event = history
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "registration")
        .expect("the registration in the applicant's history");
    assert_eq!(event["payload"]["holder_name"], "Julie Martin");
    // Once only.
    assert_problem(register(&ids[1], applicant, good).await, 409).await;

    // Staff may record it too; then the convention is signed.
    let resp = register(
        &ids[0],
        staff,
        json!({"rna": "W595099999", "created_on": "2026-11-20"}),
    )
    .await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    assert_eq!(sign().await.status(), 200);
}

async fn hosted_holders_of_one_host_apply_once_each(app: TestApp) {
    let cast = app.cast().await;
    let applicant = &cast.applicant.token;
    let call = app.published_call(&cast.staff.token, json!({})).await;
    let call_id = call["id"].as_str().unwrap();
    let resp = create(&app, applicant, call_id, &hosted("Julie Martin")).await;
    assert_eq!(resp.status(), 201);
    let first: Value = resp.json().await.unwrap();
    assert_eq!(first["organisation"]["host_siret"], "44306184100047");
    // Another holder of the same host applies too.
    let resp = create(
        &app,
        &cast.other_applicant.token,
        call_id,
        &hosted("Karim Benali"),
    )
    .await;
    assert_eq!(resp.status(), 201);
    // The same holder of the same host (case and accents aside) is the same applicant.
    let resp = create(&app, applicant, call_id, &hosted("  julie MARTIN ")).await;
    let problem = assert_problem(resp, 409).await;
    assert_eq!(problem["existing_reference"], first["reference"]);
    assert_eq!(problem["field"], "organisation.holder_name");
    // Hosted, the host's SIRET identifies it: MEL-1 passes.
    let report: Value = app
        .get_as(
            applicant,
            &format!(
                "/api/v1/applications/{}/eligibility",
                first["id"].as_str().unwrap()
            ),
        )
        .await
        .json()
        .await
        .unwrap();
    let mel1 = report["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "MEL-1")
        .unwrap();
    assert_eq!(mel1["outcome"], "pass", "{mel1}");
    assert!(mel1["detail"].as_str().unwrap().contains("Grands Ensemble"));
}

use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, assert_problem, sample_application, spawn_app};

both_backends!(
    from_registration_to_submission_over_http,
    bad_application_bodies_are_refused_field_by_field,
    applicants_never_see_each_others_applications,
    patch_needs_the_current_version,
    invalid_transitions_say_what_is_allowed,
    submission_refuses_ineligible_or_incomplete_applications,
    submission_respects_the_window,
    staff_screen_submitted_applications,
    references_are_sequential_per_year,
    changes_requested_are_never_stranded_by_a_closed_call,
);

async fn from_registration_to_submission_over_http(app: TestApp) {
    let staff = app
        .account(
            essor::domain::account::Role::Staff,
            "agent@lillemetropole.fr",
        )
        .await;
    // Registration, the verification link from the mail, sign-in: as a person does it.
    let token = app.registered_applicant("porteur@exemple.fr").await.token;
    let call = app.published_call(&staff.token, json!({})).await;
    let call_id = call["id"].as_str().unwrap();

    let draft = app
        .draft_application(&token, call_id, &sample_application())
        .await;
    let id = draft["id"].as_str().unwrap();
    assert_eq!(draft["state"], "draft");
    assert_eq!(draft["allowed_actions"], json!(["submit", "withdraw"]));
    let year = chrono::Utc::now().format("%Y").to_string();
    assert_eq!(draft["reference"], format!("EA-{year}-00001"));

    // The pre-check: eligible, but documents are missing (completeness is not eligibility).
    let report: Value = app
        .get_as(&token, &format!("/api/v1/applications/{id}/eligibility"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["verdict"], "eligible", "{report}");
    assert_eq!(
        report["missing_documents"],
        json!(["statuts", "budget_previsionnel", "rib"])
    );
    assert_eq!(report["criteria"].as_array().unwrap().len(), 17);

    app.attach_required(&token, id).await;
    let docs: Value = app
        .get_as(&token, &format!("/api/v1/applications/{id}/documents"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(docs.as_array().unwrap().len(), 3);

    let resp = app
        .post_json(
            Some(&token),
            &format!("/api/v1/applications/{id}/submit"),
            &json!({}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers().get("etag").unwrap(), "\"2\"");
    let submitted: Value = resp.json().await.unwrap();
    assert_eq!(submitted["state"], "submitted");
    assert_eq!(submitted["eligibility"]["verdict"], "eligible");
    assert_eq!(submitted["eligibility"]["missing_documents"], json!([]));
    assert!(submitted["submitted_at"].is_string());

    let history: Value = app
        .get_as(&token, &format!("/api/v1/applications/{id}/history"))
        .await
        .json()
        .await
        .unwrap();
    let actions: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "create",
            "upload-document",
            "upload-document",
            "upload-document",
            "submit"
        ]
    );
    let last = history.as_array().unwrap().last().unwrap();
    assert_eq!(
        (last["from_state"].as_str(), last["to_state"].as_str()),
        (Some("draft"), Some("submitted"))
    );
    assert_eq!(last["actor_name"], "Jeanne Dupont");

    // Staff see it in their list with its verdict.
    let list: Value = app
        .get_as(
            &staff.token,
            &format!("/api/v1/applications?call_id={call_id}&state=submitted"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["eligibility_verdict"], "eligible");
}

async fn bad_application_bodies_are_refused_field_by_field(app: TestApp) {
    let cast = app.cast().await;
    let call = app.published_call(&cast.staff.token, json!({})).await;
    let path = format!(
        "/api/v1/calls/{}/applications",
        call["id"].as_str().unwrap()
    );
    type Tweak = fn(&mut Value);
    let cases: Vec<(&str, Tweak)> = vec![
        ("organisation.siret", |v| {
            v["organisation"]["siret"] = json!("73282932000079")
        }),
        ("organisation.rna", |v| {
            v["organisation"]["rna"] = json!("595012345")
        }),
        ("organisation.postal_code", |v| {
            v["organisation"]["postal_code"] = json!("596")
        }),
        ("organisation.commune_insee", |v| {
            v["organisation"]["commune_insee"] = json!("Lille")
        }),
        ("organisation.legal_form", |v| {
            v["organisation"]["legal_form"] = json!("sarl")
        }),
        ("organisation.created_on", |v| {
            v["organisation"]["created_on"] = json!("01/03/2025")
        }),
        ("organisation.name", |v| {
            v["organisation"]["name"] = json!("")
        }),
        ("organisation.esus", |v| {
            v["organisation"].as_object_mut().unwrap().remove("esus");
        }),
        ("project.requested_cents", |v| {
            v["project"]["requested_cents"] = json!(-100)
        }),
        ("project.requested_cents", |v| {
            v["project"]["requested_cents"] = json!(12.5)
        }),
        ("project.stage", |v| v["project"]["stage"] = json!("growth")),
        ("project.activity_communes", |v| {
            v["project"]["activity_communes"] = json!([])
        }),
        ("project.title", |v| {
            v["project"]["title"] = json!("x".repeat(201))
        }),
        ("ess.reinvested_profit_pct", |v| {
            v["ess"]["reinvested_profit_pct"] = json!(150)
        }),
        ("ess.social_utility[0]", |v| {
            v["ess"]["social_utility"] = json!(["world_peace"])
        }),
        ("ess.colour", |v| v["ess"]["colour"] = json!("vert")),
    ];
    for (field, tweak) in cases {
        let mut body = sample_application();
        tweak(&mut body);
        let problem = assert_problem(
            app.post_json(Some(&cast.applicant.token), &path, &body)
                .await,
            422,
        )
        .await;
        assert!(problem["errors"][field].is_array(), "{field}: {problem}");
        let msg = problem["errors"][field][0].as_str().unwrap();
        assert!(!msg.is_empty(), "{field}");
    }
    // Several faults at once are all reported.
    let mut body = sample_application();
    body["organisation"]["siret"] = json!("73282932000079");
    body["organisation"]["postal_code"] = json!("1");
    let problem = assert_problem(
        app.post_json(Some(&cast.applicant.token), &path, &body)
            .await,
        422,
    )
    .await;
    assert_eq!(problem["errors"].as_object().unwrap().len(), 2, "{problem}");
    assert!(
        problem["errors"]["organisation.siret"][0]
            .as_str()
            .unwrap()
            .contains("clé"),
        "{problem}"
    );

    // Only applicants apply; a draft call does not exist for them.
    assert_problem(
        app.post_json(Some(&cast.staff.token), &path, &sample_application())
            .await,
        403,
    )
    .await;
    let draft_call = app.draft_call(&cast.staff.token, json!({})).await;
    let draft_path = format!(
        "/api/v1/calls/{}/applications",
        draft_call["id"].as_str().unwrap()
    );
    assert_problem(
        app.post_json(
            Some(&cast.applicant.token),
            &draft_path,
            &sample_application(),
        )
        .await,
        404,
    )
    .await;
    assert_eq!(app.count("applications").await, 0);
    assert_eq!(app.count("reference_counters").await, 0);
}

async fn applicants_never_see_each_others_applications(app: TestApp) {
    let cast = app.cast().await;
    let call = app.published_call(&cast.staff.token, json!({})).await;
    let mine = app
        .draft_application(
            &cast.applicant.token,
            call["id"].as_str().unwrap(),
            &sample_application(),
        )
        .await;
    let id = mine["id"].as_str().unwrap();
    let other = &cast.other_applicant.token;
    for path in [
        format!("/api/v1/applications/{id}"),
        format!("/api/v1/applications/{id}/history"),
        format!("/api/v1/applications/{id}/eligibility"),
        format!("/api/v1/applications/{id}/documents"),
    ] {
        let problem = assert_problem(app.get_as(other, &path).await, 404).await;
        // Same answer as for an id that does not exist: no existence oracle.
        let none = assert_problem(
            app.get_as(
                other,
                &path.replace(id, "01936f4e-0000-7000-8000-000000000000"),
            )
            .await,
            404,
        )
        .await;
        assert_eq!(problem["detail"], none["detail"]);
    }
    let list: Value = app
        .get_as(other, "/api/v1/applications")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 0);
    let resp = app
        .post_json(
            Some(other),
            &format!("/api/v1/applications/{id}/withdraw"),
            &json!({"reason": "x"}),
        )
        .await;
    assert_problem(resp, 404).await;
    let reviewer = app
        .get_as(&cast.reviewer.token, &format!("/api/v1/applications/{id}"))
        .await;
    assert_problem(reviewer, 404).await;
    let mine_list: Value = app
        .get_as(&cast.applicant.token, "/api/v1/applications")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine_list["total"], 1);
}

async fn patch_needs_the_current_version(app: TestApp) {
    let cast = app.cast().await;
    let call = app.published_call(&cast.staff.token, json!({})).await;
    let draft = app
        .draft_application(
            &cast.applicant.token,
            call["id"].as_str().unwrap(),
            &sample_application(),
        )
        .await;
    let path = format!("/api/v1/applications/{}", draft["id"].as_str().unwrap());
    let patch = json!({"project": {"requested_cents": 1_500_000, "title": "Recyclerie solidaire"}});
    let token = &cast.applicant.token;

    assert_problem(app.patch_json(token, &path, None, &patch).await, 428).await;
    // `*` names no version: it would overwrite a change the client never saw.
    let star = assert_problem(app.patch_json(token, &path, Some("*"), &patch).await, 428).await;
    assert!(star["detail"].as_str().unwrap().contains("If-Match: *"));
    assert_problem(
        app.patch_json(token, &path, Some("\"7\""), &patch).await,
        412,
    )
    .await;
    assert_problem(
        app.patch_json(token, &path, Some("garbage"), &patch).await,
        412,
    )
    .await;
    let bad = json!({"organisation": {"siret": "123"}});
    let problem =
        assert_problem(app.patch_json(token, &path, Some("\"1\""), &bad).await, 422).await;
    assert!(problem["errors"]["organisation.siret"].is_array());
    assert_problem(
        app.patch_json(&cast.staff.token, &path, Some("\"1\""), &patch)
            .await,
        403,
    )
    .await;
    let unchanged: Value = app.get_as(token, &path).await.json().await.unwrap();
    assert_eq!(unchanged["version"], 1);
    assert_eq!(unchanged["project"]["requested_cents"], 2_000_000);

    let resp = app.patch_json(token, &path, Some("\"1\""), &patch).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers().get("etag").unwrap(), "\"2\"");
    let edited: Value = resp.json().await.unwrap();
    assert_eq!(edited["project"]["requested_cents"], 1_500_000);
    assert_eq!(edited["project"]["title"], "Recyclerie solidaire");
    assert_eq!(edited["organisation"]["name"], "Les Ateliers du Sart");
    // A null removes an optional field (RFC 7396).
    let resp = app
        .patch_json(
            token,
            &path,
            Some("\"2\""),
            &json!({"organisation": {"rna": null}}),
        )
        .await;
    let edited: Value = resp.json().await.unwrap();
    assert_eq!(edited["organisation"]["rna"], Value::Null);
    // The same stale version a second time is refused: the first edit is not overwritten.
    assert_problem(
        app.patch_json(token, &path, Some("\"1\""), &patch).await,
        412,
    )
    .await;
}

async fn invalid_transitions_say_what_is_allowed(app: TestApp) {
    let cast = app.cast().await;
    let call = app.published_call(&cast.staff.token, json!({})).await;
    let draft = app
        .draft_application(
            &cast.applicant.token,
            call["id"].as_str().unwrap(),
            &sample_application(),
        )
        .await;
    let id = draft["id"].as_str().unwrap();
    let path = |action: &str| format!("/api/v1/applications/{id}/{action}");
    // Staff cannot act on a draft.
    let resp = app
        .post_json(
            Some(&cast.staff.token),
            &path("request-changes"),
            &json!({"message": "x"}),
        )
        .await;
    let problem = assert_problem(resp, 409).await;
    assert_eq!(problem["current_state"], "draft");
    assert_eq!(problem["allowed_actions"], json!([]));
    // Nor can the owner start a review: the answer lists what the owner may do.
    let resp = app
        .post_json(
            Some(&cast.applicant.token),
            &path("start-review"),
            &json!({"reviewer_ids": [cast.reviewer.id]}),
        )
        .await;
    let problem = assert_problem(resp, 409).await;
    assert_eq!(problem["allowed_actions"], json!(["submit", "withdraw"]));
    // Withdrawing needs a reason; then it is final.
    let resp = app
        .post_json(
            Some(&cast.applicant.token),
            &path("withdraw"),
            &json!({"reason": "  "}),
        )
        .await;
    let problem = assert_problem(resp, 422).await;
    assert!(problem["errors"]["reason"].is_array());
    let resp = app
        .post_json(
            Some(&cast.applicant.token),
            &path("withdraw"),
            &json!({"reason": "Projet reporté."}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let resp = app
        .post_json(Some(&cast.applicant.token), &path("submit"), &json!({}))
        .await;
    let problem = assert_problem(resp, 409).await;
    assert_eq!(problem["current_state"], "withdrawn");
    assert_eq!(problem["allowed_actions"], json!([]));
    assert!(
        problem["detail"].as_str().unwrap().contains("retiré"),
        "{problem}"
    );
    // A stale If-Match on a transition is a 412.
    let other = app
        .draft_application(
            &cast.applicant.token,
            call["id"].as_str().unwrap(),
            &sample_application(),
        )
        .await;
    let resp = app
        .client
        .post(app.url(&format!(
            "/api/v1/applications/{}/withdraw",
            other["id"].as_str().unwrap()
        )))
        .bearer_auth(&cast.applicant.token)
        .header("if-match", "\"9\"")
        .json(&json!({"reason": "x"}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 412).await;
}

async fn submission_refuses_ineligible_or_incomplete_applications(app: TestApp) {
    let cast = app.cast().await;
    let call = app.published_call(&cast.staff.token, json!({})).await;
    let call_id = call["id"].as_str().unwrap();
    let token = &cast.applicant.token;

    // Complete but ineligible: the activity is in Arras, outside the MEL.
    let mut body = sample_application();
    body["project"]["activity_communes"] = json!(["62041"]);
    let draft = app.draft_application(token, call_id, &body).await;
    let id = draft["id"].as_str().unwrap();
    app.attach_required(token, id).await;
    let resp = app
        .post_json(
            Some(token),
            &format!("/api/v1/applications/{id}/submit"),
            &json!({}),
        )
        .await;
    let problem = assert_problem(resp, 422).await;
    assert!(
        problem["errors"]["eligibility.MEL-2"].is_array(),
        "{problem}"
    );
    assert_eq!(problem["eligibility"]["verdict"], "ineligible");
    let mel2 = problem["eligibility"]["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "MEL-2")
        .unwrap();
    assert_eq!(mel2["outcome"], "fail");
    assert!(!mel2["legal_basis"].as_str().unwrap().is_empty());
    let after: Value = app
        .get_as(token, &format!("/api/v1/applications/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after["state"], "draft");
    assert_eq!(after["version"], 1);
    assert_eq!(after["eligibility"], Value::Null);

    // Eligible but incomplete: the RIB is missing.
    let draft = app
        .draft_application(token, call_id, &sample_application())
        .await;
    let id = draft["id"].as_str().unwrap();
    for kind in ["statuts", "budget_previsionnel"] {
        assert_eq!(
            app.upload(token, id, kind, crate::helpers::PDF, "x.pdf")
                .await
                .status(),
            201
        );
    }
    let resp = app
        .post_json(
            Some(token),
            &format!("/api/v1/applications/{id}/submit"),
            &json!({}),
        )
        .await;
    let problem = assert_problem(resp, 422).await;
    assert_eq!(problem["eligibility"]["missing_documents"], json!(["rib"]));
    assert!(
        problem["errors"]["documents"][0]
            .as_str()
            .unwrap()
            .contains("rib")
    );
    assert_eq!(
        app.count("audit_events WHERE action NOT LIKE 'account.%'")
            .await,
        2 + 3 + 2 + 1 + 1,
        "only creations, uploads and the two calls' events"
    );
}

async fn submission_respects_the_window(app: TestApp) {
    let cast = app.cast().await;
    let token = &cast.applicant.token;
    let closed = app
        .published_call(
            &cast.staff.token,
            json!({"opens_at": "2020-01-01T00:00:00", "closes_at": "2021-01-01T00:00:00"}),
        )
        .await;
    let future = app
        .published_call(
            &cast.staff.token,
            json!({"opens_at": "2090-01-01T09:00:00"}),
        )
        .await;
    for (call, word) in [(closed, "clos"), (future, "pas encore ouvert")] {
        let draft = app
            .draft_application(token, call["id"].as_str().unwrap(), &sample_application())
            .await;
        let id = draft["id"].as_str().unwrap();
        app.attach_required(token, id).await;
        let resp = app
            .post_json(
                Some(token),
                &format!("/api/v1/applications/{id}/submit"),
                &json!({}),
            )
            .await;
        let problem = assert_problem(resp, 409).await;
        assert!(
            problem["detail"].as_str().unwrap().contains(word),
            "{problem}"
        );
    }
}

async fn staff_screen_submitted_applications(app: TestApp) {
    let cast = app.cast().await;
    let call = app.published_call(&cast.staff.token, json!({})).await;
    let call_id = call["id"].as_str().unwrap();
    let staff = &cast.staff.token;

    // Request changes, the owner edits and submits again.
    let a = app
        .submitted_application(&cast.applicant.token, call_id)
        .await;
    let id = a["id"].as_str().unwrap();
    let resp = app
        .post_json(
            Some(staff),
            &format!("/api/v1/applications/{id}/request-changes"),
            &json!({"message": ""}),
        )
        .await;
    assert_problem(resp, 422).await;
    let resp = app
        .post_json(
            Some(staff),
            &format!("/api/v1/applications/{id}/request-changes"),
            &json!({"message": "Précisez le budget."}),
        )
        .await;
    let changed: Value = resp.json().await.unwrap();
    assert_eq!(changed["state"], "changes_requested");
    let version = changed["version"].as_i64().unwrap();
    let resp = app
        .patch_json(
            &cast.applicant.token,
            &format!("/api/v1/applications/{id}"),
            Some(&format!("\"{version}\"")),
            &json!({"project": {"total_budget_cents": 9_500_000}}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let resp = app
        .post_json(
            Some(&cast.applicant.token),
            &format!("/api/v1/applications/{id}/submit"),
            &json!({}),
        )
        .await;
    assert_eq!(resp.status(), 200);

    // Start the review: reviewer ids must be reviewers.
    let resp = app
        .post_json(
            Some(staff),
            &format!("/api/v1/applications/{id}/start-review"),
            &json!({"reviewer_ids": [cast.applicant.id, "nobody"]}),
        )
        .await;
    let problem = assert_problem(resp, 422).await;
    assert!(
        problem["errors"]["reviewer_ids[0]"].is_array()
            && problem["errors"]["reviewer_ids[1]"].is_array(),
        "{problem}"
    );
    let resp = app
        .post_json(
            Some(staff),
            &format!("/api/v1/applications/{id}/start-review"),
            &json!({"reviewer_ids": []}),
        )
        .await;
    assert_problem(resp, 422).await;
    assert_eq!(app.count("assignments").await, 0);
    let resp = app
        .post_json(
            Some(staff),
            &format!("/api/v1/applications/{id}/start-review"),
            &json!({"reviewer_ids": [cast.reviewer.id]}),
        )
        .await;
    let review: Value = resp.json().await.unwrap();
    assert_eq!(review["state"], "under_review");
    assert_eq!(app.count("assignments").await, 1);

    // Declare another one ineligible, with a motivation.
    let b = app
        .submitted_application(&cast.applicant.token, call_id)
        .await;
    let id = b["id"].as_str().unwrap();
    let resp = app
        .post_json(
            Some(staff),
            &format!("/api/v1/applications/{id}/declare-ineligible"),
            &json!({"motivation": "Activité hors métropole."}),
        )
        .await;
    let inel: Value = resp.json().await.unwrap();
    assert_eq!(inel["state"], "ineligible");
    let history: Value = app
        .get_as(
            &cast.applicant.token,
            &format!("/api/v1/applications/{id}/history"),
        )
        .await
        .json()
        .await
        .unwrap();
    let last = history.as_array().unwrap().last().unwrap();
    assert_eq!(last["payload"]["motivation"], "Activité hors métropole.");
    assert_eq!(last["actor_role"], "staff");
}

async fn references_are_sequential_per_year(app: TestApp) {
    let cast = app.cast().await;
    let call = app.published_call(&cast.staff.token, json!({})).await;
    let call_id = call["id"].as_str().unwrap().to_owned();
    let n = 12;
    let mut tasks = Vec::new();
    for _ in 0..n {
        let (client, url, token) = (
            app.client.clone(),
            app.url(&format!("/api/v1/calls/{call_id}/applications")),
            cast.applicant.token.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let resp = client
                .post(url)
                .bearer_auth(token)
                .json(&sample_application())
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 201);
            resp.json::<Value>().await.unwrap()["reference"]
                .as_str()
                .unwrap()
                .to_owned()
        }));
    }
    let mut refs = Vec::new();
    for t in tasks {
        refs.push(t.await.unwrap());
    }
    refs.sort();
    let year = chrono::Utc::now().format("%Y").to_string();
    let expected: Vec<String> = (1..=n).map(|i| format!("EA-{year}-{i:05}")).collect();
    assert_eq!(refs, expected);
}

/// Two instances on one PostgreSQL database creating at the same time: no duplicate, no gap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn references_hold_across_two_instances_on_postgres() {
    let Some(a) = spawn_app(Backend::Postgres).await else {
        return;
    };
    let b = crate::helpers::spawn_app_on(&a).await;
    let cast = a.cast().await;
    let call = a.published_call(&cast.staff.token, json!({})).await;
    let call_id = call["id"].as_str().unwrap().to_owned();
    let n = 40;
    let mut tasks = Vec::new();
    for i in 0..n {
        let base = if i % 2 == 0 { &a } else { &b };
        let (client, url, token) = (
            base.client.clone(),
            base.url(&format!("/api/v1/calls/{call_id}/applications")),
            cast.applicant.token.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let resp = client
                .post(url)
                .bearer_auth(token)
                .json(&sample_application())
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 201);
            resp.json::<Value>().await.unwrap()["reference"]
                .as_str()
                .unwrap()
                .to_owned()
        }));
    }
    let mut refs = Vec::new();
    for t in tasks {
        refs.push(t.await.unwrap());
    }
    refs.sort();
    refs.dedup();
    let year = chrono::Utc::now().format("%Y").to_string();
    let expected: Vec<String> = (1..=n).map(|i| format!("EA-{year}-{i:05}")).collect();
    assert_eq!(refs, expected);
}

both_backends!(staff_readings_of_review_criteria_are_stored_beside_the_automatic_outcome);

/// A commercial company (SAS) with the ESS allocations: its report is `needs_review`
/// (ESS-2, ESS-4 and ESS-6 are for staff to read), which does not block submission; the
/// review starts only once staff have recorded a passing reading of each.
async fn staff_readings_of_review_criteria_are_stored_beside_the_automatic_outcome(app: TestApp) {
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    let call = app.published_call(staff, json!({})).await;
    let mut body = sample_application();
    body["organisation"]["legal_form"] = json!("commercial_company");
    body["organisation"]["rna"] = Value::Null;
    body["organisation"]["rcs_ess_mention"] = json!(true);
    body["ess"]["reinvested_profit_pct"] = json!(60);
    body["ess"]["development_fund_pct"] = json!(20);
    body["ess"]["retained_earnings_and_reserves_pct"] = json!(50);
    let draft = app
        .draft_application(&cast.applicant.token, call["id"].as_str().unwrap(), &body)
        .await;
    let id = draft["id"].as_str().unwrap();
    let pre: Value = app
        .get_as(
            &cast.applicant.token,
            &format!("/api/v1/applications/{id}/eligibility"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(pre["verdict"], "needs_review", "{pre}");
    let review_codes: Vec<&str> = pre["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["outcome"] == "review")
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(review_codes, ["ESS-2", "ESS-4", "ESS-6"]);
    app.attach_required(&cast.applicant.token, id).await;
    let resp = app
        .post_json(
            Some(&cast.applicant.token),
            &format!("/api/v1/applications/{id}/submit"),
            &json!({}),
        )
        .await;
    assert_eq!(resp.status(), 200);

    let path = format!("/api/v1/applications/{id}/start-review");
    let reviewers = json!([cast.reviewer.id]);
    let problem = assert_problem(
        app.post_json(Some(staff), &path, &json!({"reviewer_ids": reviewers}))
            .await,
        422,
    )
    .await;
    for code in ["ESS-2", "ESS-4", "ESS-6"] {
        assert!(
            problem["errors"][format!("assessments.{code}")].is_array(),
            "{problem}"
        );
    }
    let pass = |note: &str| json!({"outcome": "pass", "note": note});
    let bad = json!({"reviewer_ids": reviewers, "assessments": {
        "ESS-1": pass("x"), "ESS-2": {"outcome": "pass", "note": " "}, "ESS-4": pass("Réserves statutaires lues."),
        "ESS-6": pass("Utilité sociale établie.")}});
    let problem = assert_problem(app.post_json(Some(staff), &path, &bad).await, 422).await;
    assert!(
        problem["errors"]["assessments.ESS-1"].is_array()
            && problem["errors"]["assessments.ESS-2"].is_array(),
        "{problem}"
    );
    let partial =
        json!({"reviewer_ids": reviewers, "assessments": {"ESS-2": pass("Statuts lus.")}});
    assert_problem(app.post_json(Some(staff), &path, &partial).await, 422).await;
    assert_eq!(app.count("assignments").await, 0);

    let good = json!({"reviewer_ids": reviewers, "assessments": {
        "ESS-2": pass("Statuts lus : un associé, une voix."), "ESS-4": pass("Réserves impartageables prévues à l'article 12."),
        "ESS-6": pass("Lien social dans le quartier du Sart.")}});
    let resp = app.post_json(Some(staff), &path, &good).await;
    assert_eq!(resp.status(), 200);
    let started: Value = resp.json().await.unwrap();
    let report = &started["eligibility"];
    assert_eq!(report["verdict"], "eligible", "{report}");
    assert_eq!(report["automatic_verdict"], "needs_review");
    let ess2 = report["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "ESS-2")
        .unwrap();
    assert_eq!(ess2["outcome"], "review");
    assert_eq!(ess2["staff_assessment"]["outcome"], "pass");
    assert_eq!(ess2["staff_assessment"]["assessed_by"], cast.staff.id);
    assert_eq!(ess2["legal_basis"], "Loi n° 2014-856, art. 1, I, 2°");
    // The same report through /eligibility once submitted.
    let stored: Value = app
        .get_as(staff, &format!("/api/v1/applications/{id}/eligibility"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(&stored, report);
}

both_backends!(screening_an_application_without_a_stored_report_computes_one);

/// Found by schemathesis on seeded data: a submitted application without a stored report
/// (imported data) made `declare-ineligible` answer 500. The report is now computed then.
async fn screening_an_application_without_a_stored_report_computes_one(app: TestApp) {
    use diesel::prelude::*;
    use essor::db::schema::applications;
    let cast = app.cast().await;
    let call = app.published_call(&cast.staff.token, json!({})).await;
    let a = app
        .submitted_application(&cast.applicant.token, call["id"].as_str().unwrap())
        .await;
    let id = a["id"].as_str().unwrap().to_owned();
    let target = id.clone();
    app.db
        .run(move |conn| {
            diesel::update(applications::table.find(target))
                .set(applications::eligibility.eq(None::<String>))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    let resp = app
        .post_json(
            Some(&cast.staff.token),
            &format!("/api/v1/applications/{id}/declare-ineligible"),
            &json!({"motivation": "0"}),
        )
        .await;
    assert_eq!(
        resp.status(),
        200,
        "{}",
        resp.text().await.unwrap_or_default()
    );
    let after: Value = app
        .get_as(&cast.staff.token, &format!("/api/v1/applications/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after["state"], "ineligible");
    assert_eq!(after["eligibility"]["verdict"], "eligible");
}

/// After `request-changes`, the applicant can resubmit even once the call has closed, and the
/// agents can declare the application ineligible; a first submission still needs an open call.
async fn changes_requested_are_never_stranded_by_a_closed_call(app: TestApp) {
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    let call = app.published_call(staff, json!({})).await;
    let call_id = call["id"].as_str().unwrap();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let a = app
            .submitted_application(&cast.applicant.token, call_id)
            .await;
        let id = a["id"].as_str().unwrap().to_owned();
        let resp = app
            .post_json(
                Some(staff),
                &format!("/api/v1/applications/{id}/request-changes"),
                &json!({"message": "Joignez le budget signé."}),
            )
            .await;
        assert_eq!(resp.status(), 200);
        ids.push(id);
    }
    let draft = app
        .draft_application(&cast.other_applicant.token, call_id, &sample_application())
        .await;
    app.attach_required(&cast.other_applicant.token, draft["id"].as_str().unwrap())
        .await;
    let resp = app
        .post_json(
            Some(staff),
            &format!("/api/v1/calls/{call_id}/close"),
            &json!({}),
        )
        .await;
    assert_eq!(resp.status(), 200);

    // The staff's choices on a file whose changes were requested include declaring it ineligible.
    let seen: Value = app
        .get_as(staff, &format!("/api/v1/applications/{}", ids[1]))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        seen["allowed_actions"]
            .as_array()
            .unwrap()
            .contains(&json!("declare-ineligible")),
        "{seen}"
    );

    let resp = app
        .post_json(
            Some(&cast.applicant.token),
            &format!("/api/v1/applications/{}/submit", ids[0]),
            &json!({}),
        )
        .await;
    let status = resp.status();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "submitted");

    let resp = app
        .post_json(
            Some(staff),
            &format!("/api/v1/applications/{}/declare-ineligible", ids[1]),
            &json!({"motivation": "Les pièces demandées ne sont jamais venues."}),
        )
        .await;
    let status = resp.status();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "ineligible");

    // A first submission on the closed call is still refused, and changes nothing.
    let path = format!(
        "/api/v1/applications/{}/submit",
        draft["id"].as_str().unwrap()
    );
    assert_problem(
        app.post_json(Some(&cast.other_applicant.token), &path, &json!({}))
            .await,
        409,
    )
    .await;
    let still: Value = app
        .get_as(
            &cast.other_applicant.token,
            &format!("/api/v1/applications/{}", draft["id"].as_str().unwrap()),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(still["state"], "draft");
}

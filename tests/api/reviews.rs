use serde_json::{Value, json};

use essor::domain::account::Role;

use crate::both_backends;
use crate::helpers::{TestApp, assert_problem, review_body, spawn_app_on};

both_backends!(
    from_submissions_to_ranking_and_decisions,
    reviewers_must_declare_no_conflict_and_stay_blind,
    recusal_frees_the_seat_for_another_reviewer,
    decisions_respect_reviews_and_limits,
    envelope_holds_under_concurrent_decisions,
    the_applicants_history_shows_nothing_of_the_reviewers,
    assignments_say_whom_the_reviewer_would_judge,
    a_draft_may_be_partial_only_submission_needs_every_score,
);

async fn from_submissions_to_ranking_and_decisions(app: TestApp) {
    let cast = app.cast().await;
    let second = app.account(Role::Reviewer, "experte2@exemple.fr").await;
    let staff = &cast.staff.token;
    let call = app
        .published_call(staff, json!({"budget_cents": 5_000_000}))
        .await;
    let call_id = call["id"].as_str().unwrap();
    let a = app
        .submitted_application(&cast.applicant.token, call_id)
        .await;
    let b = app
        .submitted_application(&cast.other_applicant.token, call_id)
        .await;
    let (a_id, b_id) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    let a_asg = app
        .start_review(staff, a_id, &[&cast.reviewer, &second])
        .await;
    let b_asg = app
        .start_review(staff, b_id, &[&cast.reviewer, &second])
        .await;

    // A: 100 and 60 -> 80; B: 58 and 58 -> 58.
    app.review(&cast.reviewer, &a_asg[0], [5, 5, 5, 5, 5]).await;
    app.review(&second, &a_asg[1], [3, 3, 3, 3, 3]).await;
    app.review(&cast.reviewer, &b_asg[0], [4, 3, 3, 2, 1]).await;
    app.review(&second, &b_asg[1], [4, 3, 3, 2, 1]).await;

    let ranking: Value = app
        .get_as(staff, &format!("/api/v1/calls/{call_id}/ranking"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ranking["total"], 2);
    let first = &ranking["items"][0];
    assert_eq!(
        (first["rank"].as_u64(), first["application_id"].as_str()),
        (Some(1), Some(a_id))
    );
    assert_eq!(first["score"], 80.0);
    assert_eq!(first["spread"], 40.0);
    assert_eq!(first["spread_flag"], true);
    assert_eq!(first["reviews"], 2);
    assert_eq!(ranking["items"][1]["score"], 58.0);
    assert_eq!(ranking["items"][1]["spread_flag"], false);

    // Staff read every review, with names.
    let reviews: Value = app
        .get_as(staff, &format!("/api/v1/applications/{a_id}/reviews"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(reviews.as_array().unwrap().len(), 2);
    assert!(
        reviews
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "submitted" && r["reviewer_name"].is_string())
    );

    // Decisions: A accepted for 18 000 €, B rejected.
    let decision = json!({"outcome": "accepted", "awarded_cents": 1_800_000, "motivation": "Projet structurant.",
                          "committee_date": "2026-11-02", "decision_reference": "DEL-2026-0042"});
    let resp = app
        .post_json(
            Some(staff),
            &format!("/api/v1/applications/{a_id}/decision"),
            &decision,
        )
        .await;
    assert_eq!(resp.status(), 200);
    let accepted: Value = resp.json().await.unwrap();
    assert_eq!(accepted["state"], "accepted");
    assert_eq!(accepted["decision"]["awarded_cents"], 1_800_000);
    assert_eq!(accepted["decision"]["decision_reference"], "DEL-2026-0042");
    assert_eq!(accepted["decision"]["committee_date"], "2026-11-02");
    let rejection = json!({"outcome": "rejected", "motivation": "Modèle économique fragile.", "committee_date": "2026-11-02"});
    let resp = app
        .post_json(
            Some(staff),
            &format!("/api/v1/applications/{b_id}/decision"),
            &rejection,
        )
        .await;
    assert_eq!(resp.status(), 200);

    let call: Value = app
        .get_as(staff, &format!("/api/v1/calls/{call_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        call["envelope"],
        json!({"total_cents": 5_000_000, "awarded_cents": 1_800_000, "left_cents": 3_200_000})
    );
    // The applicant sees the decision; a final state takes no more actions.
    let mine: Value = app
        .get_as(
            &cast.applicant.token,
            &format!("/api/v1/applications/{a_id}"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["decision"]["motivation"], "Projet structurant.");
    assert_eq!(mine["allowed_actions"], json!([]));
    let resp = app
        .post_json(
            Some(staff),
            &format!("/api/v1/applications/{a_id}/decision"),
            &decision,
        )
        .await;
    assert_eq!(assert_problem(resp, 409).await["current_state"], "accepted");
}

async fn reviewers_must_declare_no_conflict_and_stay_blind(app: TestApp) {
    let cast = app.cast().await;
    let second = app.account(Role::Reviewer, "experte2@exemple.fr").await;
    let outsider = app.account(Role::Reviewer, "expert3@exemple.fr").await;
    let staff = &cast.staff.token;
    let call = app.published_call(staff, json!({})).await;
    let a = app
        .submitted_application(&cast.applicant.token, call["id"].as_str().unwrap())
        .await;
    let id = a["id"].as_str().unwrap();
    let asg = app
        .start_review(staff, id, &[&cast.reviewer, &second])
        .await;
    let me = &cast.reviewer.token;

    // Before the statement: no reading, no scoring.
    assert_problem(
        app.get_as(me, &format!("/api/v1/applications/{id}")).await,
        403,
    )
    .await;
    assert_problem(
        app.get_as(me, &format!("/api/v1/applications/{id}/documents"))
            .await,
        403,
    )
    .await;
    let put = |token: String, asg: String, body: Value| {
        let app = &app;
        async move {
            app.client
                .put(app.url(&format!("/api/v1/assignments/{asg}/review")))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    assert_problem(
        put(
            me.clone(),
            asg[0].clone(),
            review_body([1, 1, 1, 1, 1], "favorable"),
        )
        .await,
        409,
    )
    .await;
    let resp = app
        .post_json(
            Some(me),
            &format!("/api/v1/assignments/{}/accept", asg[0]),
            &json!({"statement": " "}),
        )
        .await;
    assert_problem(resp, 422).await;
    let resp = app
        .post_json(
            Some(me),
            &format!("/api/v1/assignments/{}/accept", asg[0]),
            &json!({"statement": "Aucun lien."}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        app.get_as(me, &format!("/api/v1/applications/{id}"))
            .await
            .status(),
        200
    );

    // Scores must match the grid exactly.
    let mut bad = review_body([6, 1, 1, 1, 1], "favorable");
    bad["scores"]["beauty"] = json!(2);
    let problem = assert_problem(put(me.clone(), asg[0].clone(), bad).await, 422).await;
    assert!(
        problem["errors"]["scores.social_utility"].is_array()
            && problem["errors"]["scores.beauty"].is_array(),
        "{problem}"
    );
    let problem = assert_problem(
        put(
            me.clone(),
            asg[0].clone(),
            review_body([1, 1, 1, 1, 1], "maybe"),
        )
        .await,
        422,
    )
    .await;
    assert!(problem["errors"]["recommendation"].is_array());
    assert_eq!(app.count("reviews").await, 0);
    assert_eq!(
        put(
            me.clone(),
            asg[0].clone(),
            review_body([4, 4, 4, 4, 4], "favorable")
        )
        .await
        .status(),
        200
    );

    // Blind: the other reviewer's assignment and review are not reachable; nor are all reviews.
    assert_problem(
        app.get_as(
            &second.token,
            &format!("/api/v1/assignments/{}/review", asg[0]),
        )
        .await,
        404,
    )
    .await;
    assert_problem(
        put(
            second.token.clone(),
            asg[0].clone(),
            review_body([0, 0, 0, 0, 0], "unfavorable"),
        )
        .await,
        404,
    )
    .await;
    assert_problem(
        app.get_as(me, &format!("/api/v1/applications/{id}/reviews"))
            .await,
        403,
    )
    .await;
    assert_problem(
        app.get_as(
            &cast.applicant.token,
            &format!("/api/v1/applications/{id}/reviews"),
        )
        .await,
        403,
    )
    .await;
    assert_problem(
        app.get_as(
            &cast.other_applicant.token,
            &format!("/api/v1/applications/{id}/reviews"),
        )
        .await,
        404,
    )
    .await;
    // An unassigned reviewer cannot read the application at all.
    assert_problem(
        app.get_as(&outsider.token, &format!("/api/v1/applications/{id}"))
            .await,
        404,
    )
    .await;
    let mine: Value = app
        .get_as(&second.token, "/api/v1/assignments")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["total"], 1);
    assert_eq!(mine["items"][0]["review_status"], Value::Null);

    // Submit locks the review.
    let resp = app
        .post_json(
            Some(me),
            &format!("/api/v1/assignments/{}/review/submit", asg[0]),
            &json!({}),
        )
        .await;
    let review: Value = resp.json().await.unwrap();
    assert_eq!(review["status"], "submitted");
    assert_eq!(review["score"], 80.0);
    assert_problem(
        put(
            me.clone(),
            asg[0].clone(),
            review_body([1, 1, 1, 1, 1], "favorable"),
        )
        .await,
        409,
    )
    .await;
    let resp = app
        .post_json(
            Some(me),
            &format!("/api/v1/assignments/{}/review/submit", asg[0]),
            &json!({}),
        )
        .await;
    assert_problem(resp, 409).await;
    let history: Value = app
        .get_as(staff, &format!("/api/v1/applications/{id}/history"))
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
    assert!(
        actions.ends_with(&["start-review", "assignment-accept", "submit-review"]),
        "{actions:?}"
    );
}

async fn recusal_frees_the_seat_for_another_reviewer(app: TestApp) {
    let cast = app.cast().await;
    let replacement = app.account(Role::Reviewer, "remplacante@exemple.fr").await;
    let staff = &cast.staff.token;
    let call = app.published_call(staff, json!({})).await;
    let a = app
        .submitted_application(&cast.applicant.token, call["id"].as_str().unwrap())
        .await;
    let id = a["id"].as_str().unwrap();
    let asg = app.start_review(staff, id, &[&cast.reviewer]).await;
    let resp = app
        .post_json(
            Some(&cast.reviewer.token),
            &format!("/api/v1/assignments/{}/recuse", asg[0]),
            &json!({"reason": ""}),
        )
        .await;
    assert_problem(resp, 422).await;
    let resp = app
        .post_json(
            Some(&cast.reviewer.token),
            &format!("/api/v1/assignments/{}/recuse", asg[0]),
            &json!({"reason": "Je siège au conseil d'administration."}),
        )
        .await;
    let recused: Value = resp.json().await.unwrap();
    assert_eq!(recused["status"], "recused");
    // Recused: the application is out of reach again.
    assert_problem(
        app.get_as(&cast.reviewer.token, &format!("/api/v1/applications/{id}"))
            .await,
        404,
    )
    .await;

    let path = format!("/api/v1/applications/{id}/assignments");
    let problem = assert_problem(
        app.post_json(Some(staff), &path, &json!({"reviewer_id": cast.staff.id}))
            .await,
        422,
    )
    .await;
    assert!(problem["errors"]["reviewer_id"].is_array());
    assert_problem(
        app.post_json(
            Some(staff),
            &path,
            &json!({"reviewer_id": cast.reviewer.id}),
        )
        .await,
        409,
    )
    .await;
    assert_problem(
        app.post_json(
            Some(&cast.applicant.token),
            &path,
            &json!({"reviewer_id": replacement.id}),
        )
        .await,
        403,
    )
    .await;
    let resp = app
        .post_json(Some(staff), &path, &json!({"reviewer_id": replacement.id}))
        .await;
    assert_eq!(resp.status(), 201);
    let created: Value = resp.json().await.unwrap();
    assert_eq!(created["status"], "pending");
    assert_eq!(created["reference"], a["reference"]);
    assert_eq!(app.count("assignments").await, 2);
}

async fn decisions_respect_reviews_and_limits(app: TestApp) {
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    let call = app
        .published_call(staff, json!({"min_reviews": 1, "budget_cents": 3_000_000}))
        .await;
    let a = app
        .submitted_application(&cast.applicant.token, call["id"].as_str().unwrap())
        .await;
    let id = a["id"].as_str().unwrap();
    let path = format!("/api/v1/applications/{id}/decision");
    let accept = |amount: i64| {
        json!({"outcome": "accepted", "awarded_cents": amount, "motivation": "Bon projet.",
                                      "committee_date": "2026-11-02", "decision_reference": "DEL-1"})
    };
    // Not under review yet.
    assert_problem(
        app.post_json(Some(staff), &path, &accept(1_000_000)).await,
        409,
    )
    .await;
    let asg = app.start_review(staff, id, &[&cast.reviewer]).await;
    // Under review, but no review submitted.
    let problem = assert_problem(
        app.post_json(Some(staff), &path, &accept(1_000_000)).await,
        409,
    )
    .await;
    assert!(
        problem["detail"].as_str().unwrap().contains("0 évaluation"),
        "{problem}"
    );
    app.review(&cast.reviewer, &asg[0], [3, 3, 3, 3, 3]).await;

    let cases: Vec<(Value, u16, &str)> = vec![
        (accept(0), 422, "awarded_cents"),
        (accept(2_000_001), 422, "awarded_cents"),
        (
            json!({"outcome": "accepted", "motivation": "x", "committee_date": "2026-11-02", "decision_reference": "D"}),
            422,
            "awarded_cents",
        ),
        (
            json!({"outcome": "accepted", "awarded_cents": 1, "motivation": "x", "committee_date": "2026-11-02"}),
            422,
            "decision_reference",
        ),
        (
            json!({"outcome": "rejected", "motivation": "", "committee_date": "2026-11-02"}),
            422,
            "motivation",
        ),
        (
            json!({"outcome": "rejected", "awarded_cents": 5, "motivation": "x", "committee_date": "2026-11-02"}),
            422,
            "awarded_cents",
        ),
        (
            json!({"outcome": "rejected", "motivation": "x", "committee_date": "2999-01-01"}),
            422,
            "committee_date",
        ),
        (
            json!({"outcome": "rejected", "motivation": "x", "committee_date": "02/11/2026"}),
            422,
            "committee_date",
        ),
        (
            json!({"outcome": "maybe", "motivation": "x", "committee_date": "2026-11-02"}),
            422,
            "outcome",
        ),
    ];
    for (body, status, field) in cases {
        let problem = assert_problem(app.post_json(Some(staff), &path, &body).await, status).await;
        assert!(problem["errors"][field].is_array(), "{body}: {problem}");
    }
    assert_problem(
        app.post_json(Some(&cast.applicant.token), &path, &accept(1))
            .await,
        403,
    )
    .await;
    let unchanged: Value = app
        .get_as(staff, &format!("/api/v1/applications/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(unchanged["state"], "under_review");
    let call_now: Value = app
        .get_as(
            staff,
            &format!("/api/v1/calls/{}", call["id"].as_str().unwrap()),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(call_now["envelope"]["awarded_cents"], 0);
    assert_eq!(
        app.post_json(Some(staff), &path, &accept(2_000_000))
            .await
            .status(),
        200
    );
}

/// Many concurrent accept decisions, from two server instances on one database, whose sum is
/// far above the envelope: exactly as many as fit are accepted, the rest refused, and the
/// total awarded never exceeds the envelope.
async fn envelope_holds_under_concurrent_decisions(app: TestApp) {
    let second_instance = spawn_app_on(&app).await;
    let cast = app.cast().await;
    let staff = cast.staff.token.clone();
    let budget = 10_000_000; // room for five awards of 20 000 €
    let call = app
        .published_call(
            &staff,
            json!({"min_reviews": 1, "budget_cents": budget, "required_documents": []}),
        )
        .await;
    let call_id = call["id"].as_str().unwrap().to_owned();
    let n = 52;
    let mut ids = Vec::new();
    for _ in 0..n {
        let draft = app
            .draft_application(
                &cast.applicant.token,
                &call_id,
                &crate::helpers::sample_application(),
            )
            .await;
        let id = draft["id"].as_str().unwrap().to_owned();
        let resp = app
            .post_json(
                Some(&cast.applicant.token),
                &format!("/api/v1/applications/{id}/submit"),
                &json!({}),
            )
            .await;
        assert_eq!(resp.status(), 200);
        let asg = app.start_review(&staff, &id, &[&cast.reviewer]).await;
        app.review(&cast.reviewer, &asg[0], [4, 4, 4, 4, 4]).await;
        ids.push(id);
    }
    let mut tasks = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let base = if i % 2 == 0 { &app } else { &second_instance };
        let (client, url, token) = (
            base.client.clone(),
            base.url(&format!("/api/v1/applications/{id}/decision")),
            staff.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let body = json!({"outcome": "accepted", "awarded_cents": 2_000_000, "motivation": "Retenu.",
                              "committee_date": "2026-11-02", "decision_reference": format!("DEL-{i}")});
            client.post(url).bearer_auth(token).json(&body).send().await.unwrap().status().as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    let accepted = statuses.iter().filter(|&&s| s == 200).count();
    let refused = statuses.iter().filter(|&&s| s == 409).count();
    assert_eq!((accepted, refused), (5, n - 5), "{statuses:?}");
    let call: Value = app
        .get_as(&staff, &format!("/api/v1/calls/{call_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(call["envelope"]["awarded_cents"], budget);
    assert_eq!(call["envelope"]["left_cents"], 0);
    let list: Value = app
        .get_as(
            &staff,
            &format!("/api/v1/applications?call_id={call_id}&state=accepted&per_page=100"),
        )
        .await
        .json()
        .await
        .unwrap();
    let sum: i64 = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["awarded_cents"].as_i64().unwrap())
        .sum();
    assert_eq!(sum, budget);
    assert_eq!(list["total"], 5);
}

/// Reviews are blind: the applicant's history has their own actions and the agents' moves,
/// nothing of who reviews, their statements, recusals or reviews; staff see it all.
async fn the_applicants_history_shows_nothing_of_the_reviewers(app: TestApp) {
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    let call = app.published_call(staff, json!({"min_reviews": 1})).await;
    let a = app
        .submitted_application(&cast.applicant.token, call["id"].as_str().unwrap())
        .await;
    let id = a["id"].as_str().unwrap();
    let asg = app
        .start_review(staff, id, &[&cast.reviewer, &cast.spare_reviewer])
        .await;
    app.review(&cast.reviewer, &asg[0], [4, 4, 4, 4, 4]).await;
    // What each may do now is named as the endpoints they POST: `decision`, not accept/reject.
    let seen: Value = app
        .get_as(staff, &format!("/api/v1/applications/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(seen["allowed_actions"], json!(["decision"]));
    let problem = assert_problem(
        app.post_json(
            Some(staff),
            &format!("/api/v1/applications/{id}/request-changes"),
            &json!({"message": "Précisez le budget."}),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(problem["allowed_actions"], json!(["decision"]));
    let resp = app
        .post_json(
            Some(&cast.spare_reviewer.token),
            &format!("/api/v1/assignments/{}/recuse", asg[1]),
            &json!({"reason": "Je siège au conseil d'administration."}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let resp = app
        .post_json(
            Some(staff),
            &format!("/api/v1/applications/{id}/decision"),
            &json!({"outcome": "accepted", "awarded_cents": 1_000_000, "motivation": "Bon projet.",
                    "committee_date": "2026-11-02", "decision_reference": "DEL-1"}),
        )
        .await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());

    let history = |token: String| {
        let app = &app;
        async move {
            let resp = app
                .get_as(&token, &format!("/api/v1/applications/{id}/history"))
                .await;
            assert_eq!(resp.status(), 200);
            resp.json::<Value>().await.unwrap()
        }
    };
    let actions = |h: &Value| -> Vec<String> {
        h.as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_owned())
            .collect()
    };
    let mine = history(cast.applicant.token.clone()).await;
    let mut shown = actions(&mine);
    shown.retain(|a| a != "upload-document");
    assert_eq!(
        shown,
        ["create", "submit", "start-review", "accept", "grant-start"]
    );
    let text = mine.to_string();
    for secret in [
        cast.reviewer.id.as_str(),
        cast.spare_reviewer.id.as_str(),
        "expert",
        "Aucun conflit",
        "conseil d'administration",
        "favorable",
        "reviewer_ids",
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    let start = mine
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "start-review")
        .unwrap();
    assert_eq!(start["to_state"], "under_review");

    let all = history(staff.clone()).await;
    let all_actions = actions(&all);
    for action in ["assignment-accept", "submit-review", "assignment-recuse"] {
        assert!(
            all_actions.iter().any(|a| a == action),
            "{action} in {all_actions:?}"
        );
    }
    assert!(all.to_string().contains(&cast.reviewer.id));
    assert!(all.to_string().contains("reviewer_ids"));
}

/// DESIGN.md §9: a reviewer knows whom they would judge before declaring no conflict: the
/// organisation's name, SIRET, commune and the project's title are on `GET /assignments`.
async fn assignments_say_whom_the_reviewer_would_judge(app: TestApp) {
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    let call = app.published_call(staff, json!({})).await;
    let a = app
        .submitted_application(&cast.applicant.token, call["id"].as_str().unwrap())
        .await;
    let id = a["id"].as_str().unwrap();
    let asg = app.start_review(staff, id, &[&cast.reviewer]).await;
    for token in [&cast.reviewer.token, staff] {
        let page: Value = app
            .get_as(token, "/api/v1/assignments")
            .await
            .json()
            .await
            .unwrap();
        let item = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == asg[0].as_str())
            .expect("the assignment is listed");
        // Still pending: nothing declared yet, and yet the reviewer knows whom it is about.
        assert_eq!(item["status"], "pending");
        assert_eq!(item["organisation_name"], "Les Ateliers du Sart");
        assert_eq!(item["siret"], a["organisation"]["siret"]);
        assert_eq!(item["commune_insee"], "59009");
        assert_eq!(item["project_title"], "Recyclerie de quartier");
    }
}

/// Issue 26, DESIGN.md §9: a reviewer scores over several sittings, so a draft may be
/// partial (2 of 5 scores, a comment, no opinion yet) and is read back as saved; only
/// submission needs every score and an opinion, each missing one named.
async fn a_draft_may_be_partial_only_submission_needs_every_score(app: TestApp) {
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    let call = app.published_call(staff, json!({})).await;
    let a = app
        .submitted_application(&cast.applicant.token, call["id"].as_str().unwrap())
        .await;
    let id = a["id"].as_str().unwrap();
    let asg = app.start_review(staff, id, &[&cast.reviewer]).await;
    let me = &cast.reviewer.token;
    let resp = app
        .post_json(
            Some(me),
            &format!("/api/v1/assignments/{}/accept", asg[0]),
            &json!({"statement": "Aucun lien."}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let put = |body: Value| {
        let app = &app;
        let url = app.url(&format!("/api/v1/assignments/{}/review", asg[0]));
        async move {
            app.client
                .put(url)
                .bearer_auth(me)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let partial = json!({
        "scores": {"social_utility": 4, "territorial_anchoring": 3},
        "comment": "Ancrage local remarquable ; à compléter."
    });
    let resp = put(partial).await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let review: Value = app
        .get_as(me, &format!("/api/v1/assignments/{}/review", asg[0]))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(review["status"], "draft");
    assert_eq!(
        review["scores"],
        json!({"social_utility": 4, "territorial_anchoring": 3})
    );
    assert_eq!(
        review["comment"],
        "Ancrage local remarquable ; à compléter."
    );
    assert!(review["recommendation"].is_null(), "{review}");
    // A score given is still checked, partial or not.
    let problem = assert_problem(
        put(json!({"scores": {"social_utility": 9}, "comment": ""})).await,
        422,
    )
    .await;
    assert!(
        problem["errors"]["scores.social_utility"].is_array(),
        "{problem}"
    );

    // Submission names what is missing, and submits nothing.
    let submit = format!("/api/v1/assignments/{}/review/submit", asg[0]);
    let problem = assert_problem(app.post_json(Some(me), &submit, &json!({})).await, 422).await;
    for field in [
        "scores.governance",
        "scores.economic_viability",
        "scores.jobs",
        "recommendation",
    ] {
        assert!(problem["errors"][field].is_array(), "{field}: {problem}");
    }
    assert!(
        problem["errors"]["scores.social_utility"].is_null(),
        "{problem}"
    );
    // Completed in a second sitting, it submits.
    let resp = put(review_body([4, 3, 5, 3, 2], "reserved")).await;
    assert_eq!(resp.status(), 200);
    let resp = app.post_json(Some(me), &submit, &json!({})).await;
    assert_eq!(resp.status(), 200);
    let review: Value = resp.json().await.unwrap();
    assert_eq!(review["status"], "submitted");
    assert_eq!(review["recommendation"], "reserved");
}

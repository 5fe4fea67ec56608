use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{TestApp, assert_problem};

both_backends!(
    a_call_has_the_defaults_of_the_brief,
    bad_calls_are_refused_and_change_nothing,
    anonymous_users_see_published_calls_only,
    edits_need_if_match_and_respect_frozen_rules,
    publish_and_close_follow_the_life_cycle,
);

async fn a_call_has_the_defaults_of_the_brief(app: TestApp) {
    let cast = app.cast().await;
    let call = app.draft_call(&cast.staff.token, json!({})).await;
    assert_eq!(call["state"], "draft");
    assert_eq!(call["rules_version"], "mel-2021");
    assert_eq!(call["max_award_cents"], 2_000_000);
    assert_eq!(call["max_budget_share_pct"], Value::Null);
    assert_eq!(call["min_reviews"], 2);
    assert_eq!(call["territory"].as_array().unwrap().len(), 95);
    let grid: Vec<(&str, u64)> = call["scoring_grid"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["key"].as_str().unwrap(), c["weight"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        grid,
        [
            ("social_utility", 3),
            ("territorial_anchoring", 2),
            ("governance", 2),
            ("economic_viability", 2),
            ("jobs", 1)
        ]
    );
    let docs: Vec<&str> = call["required_documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["key"].as_str().unwrap())
        .collect();
    assert_eq!(docs, ["statuts", "budget_previsionnel", "rib"]);
    assert_eq!(
        call["envelope"],
        json!({"total_cents": 20_000_000, "awarded_cents": 0, "left_cents": 20_000_000})
    );

    // mel-2024 brings its own cap and budget share; a deadline is Paris wall-clock time.
    let call = app
        .draft_call(
            &cast.staff.token,
            json!({"rules_version": "mel-2024", "closes_at": "2027-03-31T12:00:00"}),
        )
        .await;
    assert_eq!(call["max_award_cents"], 3_000_000);
    assert_eq!(call["max_budget_share_pct"], 30);
    assert_eq!(call["closes_at"], "2027-03-31T12:00:00+02:00");
}

async fn bad_calls_are_refused_and_change_nothing(app: TestApp) {
    let cast = app.cast().await;
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({"title": "", "budget_cents": 1}), vec!["title"]),
        (
            json!({"title": "A", "budget_cents": -1}),
            vec!["budget_cents"],
        ),
        (json!({"title": "A"}), vec!["budget_cents"]),
        (
            json!({"title": "A", "budget_cents": 1, "rules_version": "mel-1999"}),
            vec!["rules_version"],
        ),
        (
            json!({"title": "A", "budget_cents": 1, "max_award_cents": 2_000_001}),
            vec!["max_award_cents"],
        ),
        (
            json!({"title": "A", "budget_cents": 1, "max_budget_share_pct": 0}),
            vec!["max_budget_share_pct"],
        ),
        (
            json!({"title": "A", "budget_cents": 1, "territory": []}),
            vec!["territory"],
        ),
        (
            json!({"title": "A", "budget_cents": 1, "territory": ["59350", "Lille"]}),
            vec!["territory[1]"],
        ),
        (
            json!({"title": "A", "budget_cents": 1, "min_reviews": 0}),
            vec!["min_reviews"],
        ),
        (
            json!({"title": "A", "budget_cents": 1, "closes_at": "demain"}),
            vec!["closes_at"],
        ),
        (
            json!({"title": "A", "budget_cents": 1, "opens_at": "2027-03-01T00:00:00", "closes_at": "2027-01-01T00:00:00"}),
            vec!["closes_at"],
        ),
        (
            json!({"title": "A", "budget_cents": 1, "scoring_grid": [{"key": "x", "label": "X", "weight": 0, "max_score": 5}]}),
            vec!["scoring_grid[0].weight"],
        ),
        (
            json!({"title": "A", "budget_cents": 1, "required_documents": [{"key": "Statuts", "label": "S"}]}),
            vec!["required_documents[0].key"],
        ),
        (
            json!({"title": "A", "budget_cents": 1, "colour": "red"}),
            vec!["colour"],
        ),
    ];
    for (body, fields) in cases {
        let problem = assert_problem(
            app.post_json(Some(&cast.staff.token), "/api/v1/calls", &body)
                .await,
            422,
        )
        .await;
        for f in fields {
            assert!(problem["errors"][f].is_array(), "{body}: {problem}");
        }
    }
    assert_eq!(app.count("calls").await, 0);
    assert_eq!(
        app.count("audit_events WHERE action NOT LIKE 'account.%'")
            .await,
        0
    );
}

async fn anonymous_users_see_published_calls_only(app: TestApp) {
    let cast = app.cast().await;
    let draft = app
        .draft_call(&cast.staff.token, json!({"title": "Brouillon"}))
        .await;
    let published = app
        .published_call(&cast.staff.token, json!({"title": "Publié"}))
        .await;
    let page: Value = app.get("/api/v1/calls").await.json().await.unwrap();
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["id"], published["id"]);
    assert_eq!(page["items"][0]["accepting_submissions"], true);
    assert_problem(
        app.get(&format!("/api/v1/calls/{}", draft["id"].as_str().unwrap()))
            .await,
        404,
    )
    .await;
    let resp = app
        .get(&format!(
            "/api/v1/calls/{}",
            published["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(resp.headers().get("etag").unwrap(), "\"2\"");
    let staff_page: Value = app
        .get_as(&cast.staff.token, "/api/v1/calls")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(staff_page["total"], 2);
    let drafts: Value = app
        .get_as(&cast.staff.token, "/api/v1/calls?state=draft")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(drafts["total"], 1);
    assert_problem(app.get("/api/v1/calls?state=bogus").await, 400).await;
}

async fn edits_need_if_match_and_respect_frozen_rules(app: TestApp) {
    let cast = app.cast().await;
    let call = app.published_call(&cast.staff.token, json!({})).await;
    let id = call["id"].as_str().unwrap();
    let path = format!("/api/v1/calls/{id}");
    let patch = json!({"max_award_cents": 1_500_000});

    assert_problem(
        app.patch_json(&cast.staff.token, &path, None, &patch).await,
        428,
    )
    .await;
    assert_problem(
        app.patch_json(&cast.staff.token, &path, Some("*"), &patch)
            .await,
        428,
    )
    .await;
    assert_problem(
        app.patch_json(&cast.staff.token, &path, Some("\"1\""), &patch)
            .await,
        412,
    )
    .await;
    for (bad, field) in [
        (json!({"title": null}), "title"),
        (
            json!({"max_award_cents": 9_000_000, "min_reviews": 0}),
            "max_award_cents",
        ),
        (json!({"territory": "Lille"}), "territory"),
    ] {
        let problem = assert_problem(
            app.patch_json(&cast.staff.token, &path, Some("\"2\""), &bad)
                .await,
            422,
        )
        .await;
        assert!(problem["errors"][field].is_array(), "{problem}");
    }

    // Before any submission a published call may still change its cap.
    let resp = app
        .patch_json(&cast.staff.token, &path, Some("\"2\""), &patch)
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers().get("etag").unwrap(), "\"3\"");
    let edited: Value = resp.json().await.unwrap();
    assert_eq!(edited["max_award_cents"], 1_500_000);

    // Once an application is submitted, the rules are frozen; other settings are not.
    let mut body = crate::helpers::sample_application();
    body["project"]["requested_cents"] = json!(1_500_000);
    let draft = app
        .draft_application(&cast.applicant.token, id, &body)
        .await;
    let app_id = draft["id"].as_str().unwrap();
    app.attach_required(&cast.applicant.token, app_id).await;
    let resp = app
        .post_json(
            Some(&cast.applicant.token),
            &format!("/api/v1/applications/{app_id}/submit"),
            &json!({}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    for frozen in [
        json!({"max_award_cents": 1_000_000}),
        json!({"territory": ["59350"]}),
        json!({"rules_version": "mel-2024"}),
        json!({"scoring_grid": [{"key": "x", "label": "X", "weight": 1, "max_score": 5}]}),
    ] {
        let problem = assert_problem(
            app.patch_json(&cast.staff.token, &path, Some("\"3\""), &frozen)
                .await,
            409,
        )
        .await;
        assert!(problem["frozen_fields"].is_array(), "{problem}");
    }
    let resp = app
        .patch_json(
            &cast.staff.token,
            &path,
            Some("\"3\""),
            &json!({"description": "Nouvelle description"}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let now: Value = app.get(&path).await.json().await.unwrap();
    assert_eq!(now["max_award_cents"], 1_500_000);
    assert_eq!(now["territory"].as_array().unwrap().len(), 95);
}

async fn publish_and_close_follow_the_life_cycle(app: TestApp) {
    let cast = app.cast().await;
    let call = app.draft_call(&cast.staff.token, json!({})).await;
    let id = call["id"].as_str().unwrap();
    let close = format!("/api/v1/calls/{id}/close");
    let publish = format!("/api/v1/calls/{id}/publish");
    let problem = assert_problem(
        app.post_json(Some(&cast.staff.token), &close, &json!({}))
            .await,
        409,
    )
    .await;
    assert_eq!(problem["current_state"], "draft");
    assert_eq!(
        app.post_json(Some(&cast.staff.token), &publish, &json!({}))
            .await
            .status(),
        200
    );
    assert_problem(
        app.post_json(Some(&cast.staff.token), &publish, &json!({}))
            .await,
        409,
    )
    .await;
    let closed: Value = app
        .post_json(Some(&cast.staff.token), &close, &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(closed["state"], "closed");
    assert!(closed["closed_at"].is_string());
    // A closed call takes no edits and no new applications.
    assert_problem(
        app.patch_json(
            &cast.staff.token,
            &format!("/api/v1/calls/{id}"),
            Some("\"3\""),
            &json!({"title": "X"}),
        )
        .await,
        409,
    )
    .await;
    let resp = app
        .post_json(
            Some(&cast.applicant.token),
            &format!("/api/v1/calls/{id}/applications"),
            &crate::helpers::sample_application(),
        )
        .await;
    let problem = assert_problem(resp, 409).await;
    assert!(problem["detail"].as_str().unwrap().contains("clos"));
    assert_eq!(app.count("applications").await, 0);
}

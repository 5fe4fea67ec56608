//! Faults and attacks essor must survive (issue 18): hostile text, formula injection in
//! exports, views shaped by role.

use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{TestApp, assert_problem, sample_application};

both_backends!(
    hostile_text_is_refused_in_french_and_changes_nothing,
    csv_exports_defuse_formulas,
    reviewers_do_not_read_the_screening,
);

/// NUL answered 500 on PostgreSQL and 201 on SQLite; bidi overrides reached mails and exports.
/// Now every free-text field answers the same 422 on both, naming the field.
async fn hostile_text_is_refused_in_french_and_changes_nothing(app: TestApp) {
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    let call = app.published_call(staff, json!({})).await;
    let call_id = call["id"].as_str().unwrap();
    let path = format!("/api/v1/calls/{call_id}/applications");
    let cases: [(&str, &str, &str); 6] = [
        ("organisation", "name", "Ateliers\u{0} du Sart"),
        ("organisation", "name", "Ateliers\u{202E}traS ud"),
        ("organisation", "name", "Ateliers\ndu Sart"),
        ("project", "title", "Recyclerie\u{200B}"),
        ("project", "summary", "Résumé \u{1b}[31m"),
        ("organisation", "address", "12 rue\u{2066} de Lannoy"),
    ];
    for (part, field, value) in cases {
        let mut body = sample_application();
        body[part][field] = value.into();
        let problem = assert_problem(
            app.post_json(Some(&cast.applicant.token), &path, &body)
                .await,
            422,
        )
        .await;
        let key = format!("{part}.{field}");
        let msgs = problem["errors"][&key].to_string();
        assert!(
            msgs.contains("caractère") || msgs.contains("saut de ligne"),
            "{key}: {problem}"
        );
        assert!(problem["detail"].as_str().unwrap().contains(&key));
    }
    assert_eq!(app.count("applications").await, 0);

    // A multi-line field keeps its line breaks and tabs.
    let mut body = sample_application();
    body["project"]["summary"] = "Collecte,\r\nréparation\tet revente.".into();
    let draft = app
        .draft_application(&cast.applicant.token, call_id, &body)
        .await;
    assert_eq!(
        draft["project"]["summary"],
        "Collecte,\r\nréparation\tet revente."
    );

    // Call titles, messages and search terms follow the same rule.
    let problem = assert_problem(
        app.post_json(
            Some(staff),
            "/api/v1/calls",
            &json!({"title": "Appel\u{0}", "description": "x", "budget_cents": 100}),
        )
        .await,
        422,
    )
    .await;
    assert!(problem["errors"]["title"].is_array(), "{problem}");
    let id = draft["id"].as_str().unwrap();
    app.attach_required(&cast.applicant.token, id).await;
    let resp = app
        .post_json(
            Some(&cast.applicant.token),
            &format!("/api/v1/applications/{id}/submit"),
            &json!({}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let problem = assert_problem(
        app.post_json(
            Some(staff),
            &format!("/api/v1/applications/{id}/request-changes"),
            &json!({"message": "Joignez le RIB\u{0}."}),
        )
        .await,
        422,
    )
    .await;
    assert!(problem["errors"]["message"].is_array(), "{problem}");
    let problem = assert_problem(
        app.get_as(staff, "/api/v1/applications?q=Sart%00").await,
        422,
    )
    .await;
    assert!(problem["errors"]["q"].is_array(), "{problem}");
    let after: Value = app
        .get_as(staff, &format!("/api/v1/applications/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after["state"], "submitted");
}

/// OWASP's rule on every CSV: a cell a spreadsheet would run is prefixed with `'`, in the
/// default dialect too.
async fn csv_exports_defuse_formulas(app: TestApp) {
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    let call = app.published_call(staff, json!({})).await;
    let call_id = call["id"].as_str().unwrap();
    let mut body = sample_application();
    body["organisation"]["name"] = "＝HYPERLINK(\"http://x\")".into();
    body["project"]["title"] = "+cmd|' /C calc'!A0".into();
    let draft = app
        .draft_application(&cast.applicant.token, call_id, &body)
        .await;
    let id = draft["id"].as_str().unwrap();
    app.attach_required(&cast.applicant.token, id).await;
    let resp = app
        .post_json(
            Some(&cast.applicant.token),
            &format!("/api/v1/applications/{id}/submit"),
            &json!({}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    for dialect in ["rfc4180", "excel-fr"] {
        let resp = app
            .get_as(
                staff,
                &format!("/api/v1/calls/{call_id}/export?format=csv&dialect={dialect}"),
            )
            .await;
        assert_eq!(resp.status(), 200);
        let text = resp.text().await.unwrap();
        assert!(
            text.contains("'＝HYPERLINK(") && text.contains("'+cmd|"),
            "{dialect}: {text}"
        );
        assert!(!text.contains(",＝HYPERLINK") && !text.contains(";＝HYPERLINK"));
    }
}

/// The agents' readings and notes are in the eligibility report; `/eligibility` refused
/// reviewers but `GET /applications/{id}` handed it to them.
async fn reviewers_do_not_read_the_screening(app: TestApp) {
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    let call = app.published_call(staff, json!({"min_reviews": 1})).await;
    let a = app
        .submitted_application(&cast.applicant.token, call["id"].as_str().unwrap())
        .await;
    let id = a["id"].as_str().unwrap().to_owned();
    let asg = app.start_review(staff, &id, &[&cast.reviewer]).await;
    let resp = app
        .post_json(
            Some(&cast.reviewer.token),
            &format!("/api/v1/assignments/{}/accept", asg[0]),
            &json!({"statement": "Aucun conflit d'intérêts."}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let path = format!("/api/v1/applications/{id}");
    let as_reviewer: Value = app
        .get_as(&cast.reviewer.token, &path)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(as_reviewer["state"], "under_review");
    assert!(as_reviewer["eligibility"].is_null(), "{as_reviewer}");
    assert_problem(
        app.get_as(&cast.reviewer.token, &format!("{path}/eligibility"))
            .await,
        403,
    )
    .await;
    for token in [staff, &cast.applicant.token] {
        let v: Value = app.get_as(token, &path).await.json().await.unwrap();
        assert!(v["eligibility"]["criteria"].is_array(), "{v}");
    }
}

//! The ranking as the committee needs it (the organisation, the amount requested, the
//! missing reviews, the largest award allowed), and the outbox that staff read and only
//! admins re-queue (issue 17).

use serde_json::{Value, json};

use essor::domain::account::Role;

use crate::both_backends;
use crate::helpers::{TestApp, assert_problem, sample_application};

both_backends!(
    the_ranking_names_the_organisation_the_amount_and_missing_reviews,
    staff_read_the_outbox_and_only_admins_requeue,
);

/// A valid SIRET: `prefix` (13 digits) and its Luhn key.
pub fn siret(prefix: &str) -> String {
    for key in 0..10 {
        let s = format!("{prefix}{key}");
        let sum: u32 = s
            .chars()
            .rev()
            .enumerate()
            .map(|(i, c)| {
                let d = c.to_digit(10).unwrap();
                if i % 2 == 1 {
                    let d = d * 2;
                    if d > 9 { d - 9 } else { d }
                } else {
                    d
                }
            })
            .sum();
        if sum.is_multiple_of(10) {
            return s;
        }
    }
    unreachable!()
}

/// A submitted application of its own structure (SIRET, RNA, name), asking `requested`.
pub async fn submitted_of(
    app: &TestApp,
    token: &str,
    call_id: &str,
    n: u32,
    name: &str,
    requested: i64,
) -> Value {
    let mut body = sample_application();
    body["organisation"]["name"] = json!(name);
    body["organisation"]["siret"] = json!(siret(&format!("7328293200{n:03}")));
    body["organisation"]["rna"] = json!(format!("W5950123{n:02}"));
    body["project"]["requested_cents"] = json!(requested);
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
    assert_eq!(resp.status(), 200, "submit");
    resp.json().await.unwrap()
}

async fn the_ranking_names_the_organisation_the_amount_and_missing_reviews(app: TestApp) {
    let cast = app.cast().await;
    let second = app.account(Role::Reviewer, "experte2@exemple.fr").await;
    let staff = &cast.staff.token;
    let call = app
        .published_call(
            staff,
            json!({"budget_cents": 3_000_000, "max_award_cents": 2_000_000, "min_reviews": 2}),
        )
        .await;
    let call_id = call["id"].as_str().unwrap();
    let a = submitted_of(
        &app,
        &cast.applicant.token,
        call_id,
        1,
        "Les Ateliers du Sart",
        2_000_000,
    )
    .await;
    let b = submitted_of(
        &app,
        &cast.other_applicant.token,
        call_id,
        2,
        "La Recyclerie de Fives",
        1_800_000,
    )
    .await;
    let (a_id, b_id) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    let a_asg = app
        .start_review(staff, a_id, &[&cast.reviewer, &second])
        .await;
    let b_asg = app
        .start_review(staff, b_id, &[&cast.reviewer, &second])
        .await;
    app.review(&cast.reviewer, &a_asg[0], [5, 5, 5, 5, 5]).await;
    app.review(&second, &a_asg[1], [4, 4, 4, 4, 4]).await;
    // B has one review of the two the call asks for.
    app.review(&cast.reviewer, &b_asg[0], [3, 3, 3, 3, 3]).await;

    let ranking: Value = app
        .get_as(staff, &format!("/api/v1/calls/{call_id}/ranking"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ranking["total"], 2);
    let first = &ranking["items"][0];
    assert_eq!(first["application_id"], a_id);
    assert_eq!(first["organisation_name"], "Les Ateliers du Sart");
    assert_eq!(first["requested_cents"], 2_000_000);
    assert_eq!(first["state"], "under_review");
    assert_eq!(first["reviews"], 2);
    assert_eq!(first["min_reviews"], 2);
    assert_eq!(first["missing_reviews"], false);
    assert_eq!(first["award_ceiling_cents"], 2_000_000);
    assert_eq!(first["awarded_cents"], Value::Null);
    let second_line = &ranking["items"][1];
    assert_eq!(second_line["organisation_name"], "La Recyclerie de Fives");
    assert_eq!(second_line["requested_cents"], 1_800_000);
    assert_eq!(second_line["reviews"], 1);
    assert_eq!(second_line["missing_reviews"], true);

    // A is accepted for 15 000 €: its line says so; B's ceiling is what is left (15 000 €).
    let resp = app
        .post_json(
            Some(staff),
            &format!("/api/v1/applications/{a_id}/decision"),
            &json!({"outcome": "accepted", "awarded_cents": 1_500_000, "motivation": "Projet solide.",
                    "committee_date": "2026-01-15", "decision_reference": "DEL-2026-001"}),
        )
        .await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let ranking: Value = app
        .get_as(staff, &format!("/api/v1/calls/{call_id}/ranking"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ranking["items"][0]["state"], "accepted");
    assert_eq!(ranking["items"][0]["awarded_cents"], 1_500_000);
    assert_eq!(ranking["items"][0]["award_ceiling_cents"], Value::Null);
    assert_eq!(ranking["items"][1]["award_ceiling_cents"], 1_500_000);

    // Still staff only.
    let resp = app
        .get_as(
            &cast.reviewer.token,
            &format!("/api/v1/calls/{call_id}/ranking"),
        )
        .await;
    assert_problem(resp, 403).await;
}

async fn staff_read_the_outbox_and_only_admins_requeue(app: TestApp) {
    let cast = app.cast().await;
    let call = app.published_call(&cast.staff.token, json!({})).await;
    app.submitted_application(&cast.applicant.token, call["id"].as_str().unwrap())
        .await;
    let listed: Value = {
        let resp = app.get_as(&cast.staff.token, "/api/v1/admin/outbox").await;
        assert_eq!(resp.status(), 200, "staff read the outbox");
        resp.json().await.unwrap()
    };
    assert!(listed["total"].as_i64().unwrap() >= 1, "{listed}");
    let id = listed["items"][0]["id"].as_str().unwrap().to_owned();
    assert!(
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["recipient"] == "porteur@exemple.fr")
    );
    // Staff may not re-queue; applicants and reviewers see nothing.
    let resp = app
        .post_json(
            Some(&cast.staff.token),
            &format!("/api/v1/admin/outbox/{id}/retry"),
            &json!({}),
        )
        .await;
    assert_problem(resp, 403).await;
    for who in [&cast.applicant, &cast.reviewer] {
        let resp = app.get_as(&who.token, "/api/v1/admin/outbox").await;
        assert_problem(resp, 403).await;
    }
    let resp = app.get_as(&cast.admin.token, "/api/v1/admin/outbox").await;
    assert_eq!(resp.status(), 200);
}

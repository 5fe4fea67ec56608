use serde_json::Value;

use crate::both_backends;
use crate::helpers::TestApp;

both_backends!(demo_seed_fills_every_state_and_is_served);

async fn demo_seed_fills_every_state_and_is_served(app: TestApp) {
    let db = app.db.clone();
    let report = tokio::task::spawn_blocking(move || essor::seed::seed_demo(&db, 120))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.applications, 120);
    let staff_email = &report
        .accounts
        .iter()
        .find(|(r, _)| r == "staff")
        .unwrap()
        .1;
    let token = app.token(staff_email, essor::seed::DEMO_PASSWORD).await;
    let all: Value = app
        .get_as(
            &token,
            &format!(
                "/api/v1/applications?call_id={}&per_page=100",
                report.call_id
            ),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all["total"], 120);
    for state in [
        "draft",
        "submitted",
        "changes_requested",
        "ineligible",
        "under_review",
        "accepted",
        "rejected",
        "withdrawn",
    ] {
        let page: Value = app
            .get_as(&token, &format!("/api/v1/applications?state={state}"))
            .await
            .json()
            .await
            .unwrap();
        assert!(page["total"].as_i64().unwrap() > 0, "no {state}");
    }
    let ranking: Value = app
        .get_as(&token, &format!("/api/v1/calls/{}/ranking", report.call_id))
        .await
        .json()
        .await
        .unwrap();
    assert!(ranking["total"].as_i64().unwrap() > 0);
    let call: Value = app
        .get_as(&token, &format!("/api/v1/calls/{}", report.call_id))
        .await
        .json()
        .await
        .unwrap();
    assert!(call["envelope"]["awarded_cents"].as_i64().unwrap() > 0);
    // The reference counter continues after the seeded references.
    let year = chrono::Utc::now().format("%Y").to_string();
    let applicant = &report
        .accounts
        .iter()
        .find(|(r, _)| r == "applicant")
        .unwrap()
        .1;
    let tok = app.token(applicant, essor::seed::DEMO_PASSWORD).await;
    let draft = app
        .draft_application(&tok, &report.call_id, &crate::helpers::sample_application())
        .await;
    assert_eq!(draft["reference"], format!("EA-{year}-00121"));
}

//! The JSON read of an application passes its stored body and report through untouched
//! (`services::applications::StoredApplication`, issue 19). It must write the very document the
//! typed view (`Application`, what the pages read and what openapi.yaml describes) gives, for
//! every reader and in every state an application goes through.

use essor::auth::CurrentUser;
use essor::domain::account::Role;
use essor::domain::ids::{ApplicationId, UserId};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Account, TestApp};

both_backends!(the_stored_read_is_the_typed_view_for_every_reader_and_state);

/// What the typed view gives `reader` of application `id`, straight from the database.
async fn typed_view(app: &TestApp, reader: &Account, role: Role, id: &str) -> Value {
    let user = CurrentUser {
        id: UserId::parse(&reader.id).unwrap(),
        role,
        email_verified: true,
    };
    let id = ApplicationId::parse(id).unwrap();
    app.db
        .run(move |conn| {
            let row = essor::services::applications::load_readable(conn, &user, &id)?;
            Ok(serde_json::to_value(row.to_view(&user)?).unwrap())
        })
        .await
        .expect("typed view")
}

/// The API's answer and the typed view are the same document, for each reader.
async fn same_for(app: &TestApp, id: &str, readers: &[(&Account, Role)], when: &str) {
    for (reader, role) in readers {
        let resp = app
            .get_as(&reader.token, &format!("/api/v1/applications/{id}"))
            .await;
        assert_eq!(resp.status(), 200, "{when}, {role:?}");
        let etag = resp.headers()["etag"].to_str().unwrap().to_owned();
        let served: Value = resp.json().await.unwrap();
        assert_eq!(
            etag,
            format!("\"{}\"", served["version"]),
            "{when}, {role:?}"
        );
        let typed = typed_view(app, reader, *role, id).await;
        assert_eq!(served, typed, "{when}, read by {role:?}");
    }
}

async fn the_stored_read_is_the_typed_view_for_every_reader_and_state(app: TestApp) {
    let cast = app.cast().await;
    let call = app.published_call(&cast.staff.token, json!({})).await;
    let call_id = call["id"].as_str().unwrap();
    let owner = (&cast.applicant, Role::Applicant);
    let staff = (&cast.staff, Role::Staff);
    let admin = (&cast.admin, Role::Admin);

    let draft = app
        .draft_application(
            &cast.applicant.token,
            call_id,
            &crate::helpers::sample_application(),
        )
        .await;
    let draft_id = draft["id"].as_str().unwrap();
    same_for(&app, draft_id, &[owner, staff], "draft").await;

    let submitted = app
        .submitted_application(&cast.other_applicant.token, call_id)
        .await;
    let id = submitted["id"].as_str().unwrap();
    let other_owner = (&cast.other_applicant, Role::Applicant);
    same_for(&app, id, &[other_owner, staff, admin], "submitted").await;
    // The report was stored at submission: the read passes it through.
    let served: Value = app
        .get_as(&cast.staff.token, &format!("/api/v1/applications/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(served["eligibility"]["criteria"].is_array(), "{served}");

    let assignments = app
        .start_review(
            &cast.staff.token,
            id,
            &[&cast.reviewer, &cast.spare_reviewer],
        )
        .await;
    app.review(&cast.reviewer, &assignments[0], [4, 4, 4, 4, 4])
        .await;
    app.review(&cast.spare_reviewer, &assignments[1], [3, 4, 2, 4, 3])
        .await;
    let reviewer = (&cast.reviewer, Role::Reviewer);
    same_for(&app, id, &[other_owner, staff, reviewer], "under review").await;
    // A reviewer does not read the screening.
    let by_reviewer: Value = app
        .get_as(&cast.reviewer.token, &format!("/api/v1/applications/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_reviewer["eligibility"], Value::Null);

    let resp = app
        .post_json(
            Some(&cast.staff.token),
            &format!("/api/v1/applications/{id}/decision"),
            &json!({
                "outcome": "accepted", "awarded_cents": 1_500_000,
                "motivation": "Projet utile au quartier.", "committee_date": "2026-11-20",
                "decision_reference": "DEL-2026-42",
            }),
        )
        .await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    same_for(&app, id, &[other_owner, staff, reviewer], "accepted").await;
}

both_backends!(the_read_joined_to_the_account_check_is_its_two_statements);

/// The hot read's one statement (`db::applications::find_with_account`: the account check's
/// columns and the application in one join, issue 33) against its twins run one after the
/// other — `users::find_for_check` then `find_visible` with the caller's visibility — for every
/// role, on an application each may or may not see, one that does not exist, and an account
/// that does not exist.
async fn the_read_joined_to_the_account_check_is_its_two_statements(app: TestApp) {
    let cast = app.cast().await;
    let call = app.published_call(&cast.staff.token, json!({})).await;
    let call_id = call["id"].as_str().unwrap();
    let mine = app
        .submitted_application(&cast.applicant.token, call_id)
        .await;
    let draft = app
        .draft_application(
            &cast.other_applicant.token,
            call_id,
            &crate::helpers::sample_application(),
        )
        .await;
    let commune = app
        .commune_account(&cast.admin.token, "mairie@roubaix.fr", "59512")
        .await;
    let accounts: Vec<(String, Role)> = vec![
        (cast.applicant.id.clone(), Role::Applicant),
        (cast.other_applicant.id.clone(), Role::Applicant),
        (cast.staff.id.clone(), Role::Staff),
        (cast.admin.id.clone(), Role::Admin),
        (commune.id.clone(), Role::Commune),
        ("0190a1b2-0000-7000-8000-000000000000".into(), Role::Staff),
    ];
    let ids: Vec<String> = vec![
        mine["id"].as_str().unwrap().to_owned(),
        draft["id"].as_str().unwrap().to_owned(),
        "0190a1b2-0000-7000-8000-000000000001".into(),
    ];
    app.db
        .run(move |conn| {
            use essor::db::applications::{find_visible, find_with_account};
            for (user_id, role) in &accounts {
                for id in &ids {
                    let (user_id, id) = (
                        UserId::parse(user_id).unwrap(),
                        ApplicationId::parse(id).unwrap(),
                    );
                    let joined = find_with_account(conn, &user_id, &id)?;
                    let account = essor::db::users::find_for_check(conn, user_id.as_str())?;
                    let actor = CurrentUser {
                        id: user_id.clone(),
                        role: *role,
                        email_verified: true,
                    };
                    let v = essor::services::applications::visibility(&actor);
                    let twins = account.map(|a| (a, find_visible(conn, &id, &v).unwrap()));
                    assert_eq!(
                        format!("{joined:?}"),
                        format!("{twins:?}"),
                        "{role:?} {user_id} reading {id}"
                    );
                }
            }
            Ok(())
        })
        .await
        .unwrap();
}

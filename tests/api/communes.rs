//! A commune's account (DESIGN.md §16): invited with its commune, it reads the submitted
//! applications taking place there — what a commune needs of them — and nothing else: not a
//! draft, not another commune's application, not the full view, documents, history or
//! eligibility report of any.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{TestApp, assert_problem, sample_application};

both_backends!(
    a_commune_is_invited_with_one_of_the_95_communes,
    a_commune_reads_its_submitted_applications_and_nothing_else,
);

async fn invite(app: &TestApp, admin: &str, body: Value) -> reqwest::Response {
    app.post_json(Some(admin), "/api/v1/users/invitations", &body)
        .await
}

async fn a_commune_is_invited_with_one_of_the_95_communes(app: TestApp) {
    let cast = app.cast().await;
    let admin = &cast.admin.token;
    let users_before = app.count("users").await;
    for (body, field, words) in [
        (
            json!({"email": "a@roubaix.fr", "full_name": "A", "role": "commune"}),
            "commune_insee",
            "indiquez la commune",
        ),
        (
            json!({"email": "a@arras.fr", "full_name": "A", "role": "commune", "commune_insee": "62041"}),
            "commune_insee",
            "95 communes",
        ),
        (
            json!({"email": "a@exemple.fr", "full_name": "A", "role": "reviewer", "commune_insee": "59512"}),
            "commune_insee",
            "seul un compte de commune",
        ),
    ] {
        let problem = assert_problem(invite(&app, admin, body.clone()).await, 422).await;
        let messages = problem["errors"][field].to_string();
        assert!(messages.contains(words), "{body}: {problem}");
    }
    assert_eq!(app.count("users").await, users_before, "nothing created");

    // Lomme counts as Lille: the account is Lille's.
    let resp = invite(
        &app,
        admin,
        json!({"email": "agent@mairie-lomme.fr", "full_name": "Agent de Lomme",
               "role": "commune", "commune_insee": "59355"}),
    )
    .await;
    let status = resp.status();
    let user: Value = resp.json().await.unwrap();
    assert_eq!(status, 201, "{user}");
    assert_eq!(user["role"], "commune");
    assert_eq!(user["commune_insee"], "59350");
    let (link, text) = app
        .account_mail("agent@mairie-lomme.fr", "account_invitation")
        .await;
    assert!(link.contains("/compte/invitation?token="), "{link}");
    assert!(text.contains("en tant qu'agent de commune."), "{text}");
    // Other roles carry no commune at all.
    let me: Value = app
        .get_as(&cast.staff.token, "/api/v1/me")
        .await
        .json()
        .await
        .unwrap();
    assert!(me.get("commune_insee").is_none(), "{me}");

    // A commune account keeps its role, and no account becomes one by a role change.
    let id = user["id"].as_str().unwrap();
    let resp = app
        .client
        .patch(app.url(&format!("/api/v1/users/{id}")))
        .bearer_auth(admin)
        .json(&json!({"role": "staff"}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(resp, 422).await;
    assert!(
        problem["errors"]["role"]
            .to_string()
            .contains("s'invite avec sa commune")
    );
    let resp = app
        .client
        .patch(app.url(&format!("/api/v1/users/{}", cast.reviewer.id)))
        .bearer_auth(admin)
        .json(&json!({"role": "commune"}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 422).await;
}

/// Files an application active in `communes`; submits it unless `draft`.
async fn filed(
    app: &TestApp,
    applicant: &str,
    call_id: &str,
    communes: &[&str],
    draft: bool,
) -> String {
    let mut body = sample_application();
    body["project"]["activity_communes"] = json!(communes);
    body["organisation"]["name"] = json!(format!("Structure de {}", communes.join(" et ")));
    let a = app.draft_application(applicant, call_id, &body).await;
    let id = a["id"].as_str().unwrap().to_owned();
    if !draft {
        submit(app, applicant, &id).await;
    }
    id
}

async fn submit(app: &TestApp, applicant: &str, id: &str) {
    app.attach_required(applicant, id).await;
    let resp = app
        .post_json(
            Some(applicant),
            &format!("/api/v1/applications/{id}/submit"),
            &json!({}),
        )
        .await;
    assert_eq!(resp.status(), 200, "submit");
}

async fn list(app: &TestApp, token: &str) -> Value {
    let resp = app.get_as(token, "/api/v1/commune/applications").await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

fn ids(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn a_commune_reads_its_submitted_applications_and_nothing_else(app: TestApp) {
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    let applicant = &cast.applicant.token;
    let roubaix = app
        .commune_account(&cast.admin.token, "agent@ville-roubaix.fr", "59512")
        .await;
    let tourcoing = app
        .commune_account(&cast.admin.token, "agent@ville-tourcoing.fr", "59599")
        .await;
    let call = app.published_call(staff, json!({})).await;
    let call_id = call["id"].as_str().unwrap();
    let a = filed(&app, applicant, call_id, &["59512", "59350"], false).await;
    let b = filed(&app, applicant, call_id, &["59512"], true).await;
    let c = filed(&app, applicant, call_id, &["59599"], false).await;

    // Each submission told its communes' accounts, linking to their own page: A to
    // Roubaix's (Lille has no account), C to Tourcoing's; B, a draft, to no one.
    let commune_mails = |to: &str| {
        app.sent_mails()
            .into_iter()
            .filter(|m| {
                m.to == to
                    && m.subject
                        .starts_with("Nouvelle candidature dans votre commune")
            })
            .collect::<Vec<_>>()
    };
    app.wait_for_mails(1).await;
    for _ in 0..200 {
        if commune_mails(&roubaix.email).len() == 1 && commune_mails(&tourcoing.email).len() == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let to_roubaix = commune_mails(&roubaix.email);
    assert_eq!(to_roubaix.len(), 1);
    assert!(
        to_roubaix[0]
            .text
            .contains(&format!("/commune/candidatures/{a}")),
        "{}",
        to_roubaix[0].text
    );
    let to_tourcoing = commune_mails(&tourcoing.email);
    assert_eq!(to_tourcoing.len(), 1);
    assert!(
        to_tourcoing[0]
            .text
            .contains(&format!("/commune/candidatures/{c}"))
    );

    // Roubaix: A only (B is a draft, C is Tourcoing's).
    let mine = list(&app, &roubaix.token).await;
    assert_eq!(mine["commune_insee"], "59512");
    assert_eq!(mine["commune_name"], "Roubaix");
    assert_eq!(ids(&mine), [a.as_str()]);
    let item = &mine["items"][0];
    let keys: BTreeSet<&str> = item
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from([
            "id",
            "reference",
            "call_id",
            "state",
            "organisation_name",
            "siret",
            "rna",
            "organisation_commune_insee",
            "organisation_commune_name",
            "project_title",
            "project_summary",
            "activity_communes",
            "requested_cents",
            "submitted_at",
        ]),
        "what a commune reads, and nothing more: {item}"
    );
    assert_eq!(item["state"], "submitted");
    assert_eq!(item["organisation_commune_name"], "Villeneuve-d'Ascq");
    assert_eq!(item["requested_cents"], 2_000_000);
    let one = app
        .get_as(&roubaix.token, &format!("/api/v1/commune/applications/{a}"))
        .await;
    assert_eq!(one.status(), 200);
    let one: Value = one.json().await.unwrap();
    assert_eq!(&one, item);

    // The same 404 for a draft, another commune's, and an unknown id.
    let mut details = Vec::new();
    for id in [
        b.as_str(),
        c.as_str(),
        "0193a0b0-0000-7000-8000-000000000000",
    ] {
        let resp = app
            .get_as(
                &roubaix.token,
                &format!("/api/v1/commune/applications/{id}"),
            )
            .await;
        details.push(assert_problem(resp, 404).await["detail"].clone());
    }
    assert!(details.windows(2).all(|w| w[0] == w[1]), "{details:?}");

    // Not the full view, its documents, history or eligibility — not even in its commune.
    for path in [
        format!("/api/v1/applications/{a}"),
        format!("/api/v1/applications/{a}/documents"),
        format!("/api/v1/applications/{a}/history"),
        format!("/api/v1/applications/{a}/eligibility"),
    ] {
        let resp = app.get_as(&roubaix.token, &path).await;
        assert_problem(resp, 404).await;
    }
    let all: Value = app
        .get_as(&roubaix.token, "/api/v1/applications")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        all["items"],
        json!([]),
        "the applicants' list reaches nothing"
    );
    for path in ["/api/v1/grants", "/api/v1/territory", "/api/v1/assignments"] {
        let resp = app.get_as(&roubaix.token, path).await;
        assert_problem(resp, 403).await;
    }

    // Tourcoing reads C only; once B is submitted, Roubaix reads it too, newest first.
    assert_eq!(ids(&list(&app, &tourcoing.token).await), [c.as_str()]);
    submit(&app, applicant, &b).await;
    assert_eq!(
        ids(&list(&app, &roubaix.token).await),
        [b.clone(), a.clone()]
    );

    // Only a commune's accounts read this.
    for token in [applicant, staff, &cast.reviewer.token] {
        let resp = app.get_as(token, "/api/v1/commune/applications").await;
        assert_problem(resp, 403).await;
    }
    // A deactivated commune account reads nothing from then on.
    let resp = app
        .client
        .patch(app.url(&format!("/api/v1/users/{}", roubaix.id)))
        .bearer_auth(&cast.admin.token)
        .json(&json!({"active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = app
        .get_as(&roubaix.token, "/api/v1/commune/applications")
        .await;
    assert_eq!(resp.status(), 401);
}

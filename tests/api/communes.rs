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
    a_commune_recommends_a_holder_whose_application_carries_it,
);

crate::both_backends_clocked!(a_commune_gives_its_opinion_until_the_deadline_or_the_decision);

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
    let a = app
        .filed_in(applicant, call_id, &["59512", "59350"], false)
        .await;
    let b = app.filed_in(applicant, call_id, &["59512"], true).await;
    let c = app.filed_in(applicant, call_id, &["59599"], false).await;

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
            "opinion",
            "opinion_window",
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
    app.submit_with_documents(applicant, &b).await;
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

async fn put_opinion(app: &TestApp, token: &str, id: &str, body: Value) -> reqwest::Response {
    app.client
        .put(app.url(&format!("/api/v1/applications/{id}/commune-opinion")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn opinions(app: &TestApp, token: &str, id: &str) -> reqwest::Response {
    app.get_as(
        token,
        &format!("/api/v1/applications/{id}/commune-opinions"),
    )
    .await
}

async fn a_commune_gives_its_opinion_until_the_deadline_or_the_decision(app: TestApp) {
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    let applicant = &cast.applicant.token;
    let roubaix = app
        .commune_account(&cast.admin.token, "agent@ville-roubaix.fr", "59512")
        .await;
    let lille = app
        .commune_account(&cast.admin.token, "agent@lille.fr", "59350")
        .await;
    let call = app
        .published_call(staff, json!({"commune_opinion_days": 10}))
        .await;
    let call_id = call["id"].as_str().unwrap();
    assert_eq!(call["commune_opinion_days"], 10);
    assert_eq!(call["reviewers_see_commune_opinions"], false);
    let a = app
        .filed_in(applicant, call_id, &["59512", "59350"], false)
        .await;
    let b = app.filed_in(applicant, call_id, &["59512"], false).await;
    let c = app.filed_in(applicant, call_id, &["59599"], false).await;

    // The window is open, until the end of the Paris day ten days after the submission.
    let one: Value = app
        .get_as(&roubaix.token, &format!("/api/v1/commune/applications/{a}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one["opinion"], Value::Null);
    assert_eq!(one["opinion_window"]["open"], true, "{one}");
    let submitted: chrono::DateTime<chrono::Utc> =
        one["submitted_at"].as_str().unwrap().parse().unwrap();
    let deadline: chrono::DateTime<chrono::Utc> = one["opinion_window"]["deadline"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        deadline,
        essor::domain::commune_opinion::deadline(submitted, 10)
    );
    let paris = |t: chrono::DateTime<chrono::Utc>| t.with_timezone(&chrono_tz::Europe::Paris);
    assert_eq!(
        (paris(deadline).date_naive() - paris(submitted).date_naive()).num_days(),
        10
    );
    assert_eq!(paris(deadline).format("%H:%M:%S").to_string(), "23:59:59");

    // Bad input: a clear answer, nothing written.
    for (body, field, words) in [
        (json!({"opinion": "neutre"}), "opinion", "neutre"),
        (json!({"comment": "Sans avis"}), "opinion", "opinion"),
        (
            json!({"opinion": "reserved"}),
            "comment",
            "réservé ou défavorable",
        ),
        (
            json!({"opinion": "unfavorable", "comment": "   "}),
            "comment",
            "réservé ou défavorable",
        ),
        (
            json!({"opinion": "favorable", "comment": "ok", "note": 3}),
            "note",
            "",
        ),
    ] {
        let problem = assert_problem(
            put_opinion(&app, &roubaix.token, &a, body.clone()).await,
            422,
        )
        .await;
        assert!(
            problem["errors"][field].to_string().contains(words),
            "{body}: {problem}"
        );
    }
    // Only a commune's accounts give one; another commune's application, or an unknown id,
    // is not found.
    for token in [staff, applicant, &cast.reviewer.token] {
        let resp = put_opinion(&app, token, &a, json!({"opinion": "favorable"})).await;
        assert_problem(resp, 403).await;
    }
    for id in [c.as_str(), "0193a0b0-0000-7000-8000-000000000000"] {
        let resp = put_opinion(&app, &roubaix.token, id, json!({"opinion": "favorable"})).await;
        assert_problem(resp, 404).await;
    }
    assert_eq!(app.count("commune_opinions").await, 0, "nothing written");

    // Given, then changed: one opinion, two audit events.
    let resp = put_opinion(
        &app,
        &roubaix.token,
        &a,
        json!({"opinion": "favorable", "comment": "Projet attendu au Pile."}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let given: Value = resp.json().await.unwrap();
    assert_eq!(given["opinion"]["opinion"], "favorable");
    app.clock.advance(chrono::Duration::hours(2));
    let resp = put_opinion(
        &app,
        &roubaix.token,
        &a,
        json!({"opinion": "reserved", "comment": "  Le local n'est pas encore trouvé.  "}),
    )
    .await;
    let changed: Value = resp.json().await.unwrap();
    assert_eq!(changed["opinion"]["opinion"], "reserved", "{changed}");
    assert_eq!(
        changed["opinion"]["comment"],
        "Le local n'est pas encore trouvé."
    );
    let resp = put_opinion(
        &app,
        &lille.token,
        &a,
        json!({"opinion": "unfavorable", "comment": "Doublon d'une action municipale."}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(app.count("commune_opinions").await, 2);

    // Staff read what each commune said, who, when, and the deadline.
    let resp = opinions(&app, staff, &a).await;
    assert_eq!(resp.status(), 200);
    let read: Value = resp.json().await.unwrap();
    let said = read["opinions"].as_array().unwrap();
    assert_eq!(said.len(), 2, "{read}");
    assert_eq!(said[0]["commune_name"], "Lille");
    assert_eq!(said[0]["opinion"], "unfavorable");
    assert_eq!(said[1]["commune_name"], "Roubaix");
    assert_eq!(said[1]["opinion"], "reserved");
    assert_eq!(said[1]["author_name"], "Agent de la commune");
    assert_ne!(said[1]["given_at"], said[1]["updated_at"]);
    assert_eq!(read["deadline"], one["opinion_window"]["deadline"]);
    let history: Value = app
        .get_as(staff, &format!("/api/v1/applications/{a}/history"))
        .await
        .json()
        .await
        .unwrap();
    let events: Vec<&Value> = history["items"]
        .as_array()
        .or(history.as_array())
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "commune-opinion")
        .collect();
    assert_eq!(events.len(), 3, "{history}");
    assert_eq!(
        events
            .iter()
            .filter(|e| e["payload"]["commune_insee"] == "59512")
            .count(),
        2
    );

    // The applicant reads that Lille and Roubaix were consulted, not what they said, and
    // nothing of it in their history.
    let read: Value = opinions(&app, applicant, &a).await.json().await.unwrap();
    assert_eq!(
        read,
        json!({"consulted": [
            {"commune_insee": "59350", "commune_name": "Lille"},
            {"commune_insee": "59512", "commune_name": "Roubaix"},
        ]})
    );
    let history = app
        .get_as(applicant, &format!("/api/v1/applications/{a}/history"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!history.contains("commune-opinion"), "{history}");
    assert!(!history.contains("Doublon"), "{history}");
    // Another applicant, or a commune, does not reach it.
    assert_problem(opinions(&app, &cast.other_applicant.token, &a).await, 404).await;
    assert_problem(opinions(&app, &roubaix.token, &a).await, 404).await;

    // An assigned reviewer reads them only when the call says so.
    let assignments = app.start_review(staff, &a, &[&cast.reviewer]).await;
    app.review(&cast.reviewer, &assignments[0], [4, 4, 4, 4, 4])
        .await;
    assert_problem(opinions(&app, &cast.reviewer.token, &a).await, 403).await;
    let current: Value = app
        .get_as(staff, &format!("/api/v1/calls/{call_id}"))
        .await
        .json()
        .await
        .unwrap();
    let version = format!("\"{}\"", current["version"]);
    let resp = app
        .patch_json(
            staff,
            &format!("/api/v1/calls/{call_id}"),
            Some(&version),
            &json!({"reviewers_see_commune_opinions": true}),
        )
        .await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let read: Value = opinions(&app, &cast.reviewer.token, &a)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["opinions"].as_array().map(Vec::len), Some(2), "{read}");
    assert!(read.get("deadline").is_none());

    // The ranking board and the exports carry them.
    let ranking: Value = app
        .get_as(staff, &format!("/api/v1/calls/{call_id}/ranking"))
        .await
        .json()
        .await
        .unwrap();
    let line = ranking["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["application_id"] == a.as_str())
        .expect("ranked");
    assert_eq!(
        line["commune_opinions"],
        json!([
            {"commune_insee": "59350", "commune_name": "Lille", "opinion": "unfavorable"},
            {"commune_insee": "59512", "commune_name": "Roubaix", "opinion": "reserved"},
        ])
    );
    let csv = app
        .get_as(staff, &format!("/api/v1/calls/{call_id}/export?format=csv"))
        .await
        .text()
        .await
        .unwrap();
    let header = csv.lines().next().unwrap();
    assert!(
        header.ends_with(",commune_opinions,registry_status,registry_flags"),
        "{header}"
    );
    assert!(
        csv.contains("\"59350:unfavorable, 59512:reserved\""),
        "{csv}"
    );

    // A decision closes the window: B declared ineligible.
    let resp = app
        .post_json(
            Some(staff),
            &format!("/api/v1/applications/{b}/declare-ineligible"),
            &json!({"motivation": "Hors du champ de l'ESS."}),
        )
        .await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let problem = assert_problem(
        put_opinion(&app, &roubaix.token, &b, json!({"opinion": "favorable"})).await,
        409,
    )
    .await;
    assert!(
        problem["detail"].to_string().contains("décidée"),
        "{problem}"
    );

    // Past the deadline: refused, and the page says it is closed.
    assert!(app.clock.move_to(deadline + chrono::Duration::seconds(1)));
    let problem = assert_problem(
        put_opinion(&app, &lille.token, &a, json!({"opinion": "favorable"})).await,
        409,
    )
    .await;
    assert!(problem["detail"].to_string().contains("délai"), "{problem}");
    assert_eq!(problem["deadline"], one["opinion_window"]["deadline"]);
    let one: Value = app
        .get_as(&lille.token, &format!("/api/v1/commune/applications/{a}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one["opinion_window"]["open"], false);
    assert_eq!(one["opinion"]["opinion"], "unfavorable", "kept as given");
    assert_eq!(app.count("commune_opinions").await, 2);
}

async fn refer(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.post_json(Some(token), "/api/v1/commune/referrals", &body)
        .await
}

async fn a_commune_recommends_a_holder_whose_application_carries_it(app: TestApp) {
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    let applicant = &cast.applicant.token;
    let roubaix = app
        .commune_account(&cast.admin.token, "agent@ville-roubaix.fr", "59512")
        .await;
    // No call open yet: nothing to recommend.
    let problem = assert_problem(
        refer(
            &app,
            &roubaix.token,
            json!({"organisation_name": "Le Café des Parents", "email": "contact@cafe.fr"}),
        )
        .await,
        409,
    )
    .await;
    assert!(
        problem["detail"].to_string().contains("Aucun appel"),
        "{problem}"
    );
    let call = app.published_call(staff, json!({})).await;
    let call_id = call["id"].as_str().unwrap();
    let other = app
        .published_call(staff, json!({"title": "Un autre appel"}))
        .await;
    let other_id = other["id"].as_str().unwrap();

    // Bad input: each field named, nothing written, nothing mailed.
    let mails_before = app.count("outbox").await;
    for (body, field, words) in [
        (
            json!({"email": "contact@cafe.fr"}),
            "organisation_name",
            "organisation_name",
        ),
        (
            json!({"organisation_name": "  ", "email": "contact@cafe.fr"}),
            "organisation_name",
            "obligatoire",
        ),
        (
            json!({"organisation_name": "Le Café", "email": "pas-une-adresse"}),
            "email",
            "n'est pas valide",
        ),
        (
            json!({"organisation_name": "Le Café", "email": "contact@cafe.fr",
                   "call_id": "0193a0b0-0000-7000-8000-000000000000"}),
            "call_id",
            "n'est pas ouvert",
        ),
        (
            json!({"organisation_name": "Le Café", "email": "contact@cafe.fr",
                   "message": "x".repeat(2001)}),
            "message",
            "2 000",
        ),
    ] {
        let problem = assert_problem(refer(&app, &roubaix.token, body.clone()).await, 422).await;
        assert!(
            problem["errors"][field].to_string().contains(words),
            "{body}: {problem}"
        );
    }
    for token in [staff, applicant] {
        let resp = refer(
            &app,
            token,
            json!({"organisation_name": "Le Café", "email": "contact@cafe.fr"}),
        )
        .await;
        assert_problem(resp, 403).await;
    }
    assert_eq!(app.count("referrals").await, 0);
    assert_eq!(app.count("outbox").await, mails_before);

    // Recommended to the call named: the holder is mailed its page and the code.
    let sent_before = app.sent_mails().len();
    let resp = refer(
        &app,
        &roubaix.token,
        json!({"organisation_name": "Le Café des Parents", "email": "Contact@Cafe-des-Parents.fr",
               "message": "Vu au forum des associations.", "call_id": call_id}),
    )
    .await;
    assert_eq!(resp.status(), 201);
    let at = resp.headers()["location"].to_str().unwrap().to_owned();
    let referral: Value = resp.json().await.unwrap();
    let read: Value = app.get_as(&roubaix.token, &at).await.json().await.unwrap();
    assert_eq!(read, referral);
    let code = referral["code"].as_str().unwrap().to_owned();
    assert!(code.starts_with("REC-") && code.len() == 12, "{code}");
    assert_eq!(referral["commune_insee"], "59512");
    assert_eq!(referral["call_id"], call_id);
    let mails = app.wait_for_mails(sent_before + 1).await;
    let mail = mails
        .iter()
        .find(|m| m.subject.contains("vous recommande"))
        .expect("the referral's mail");
    assert_eq!(mail.to, referral["email"].as_str().unwrap());
    assert!(
        mail.subject.contains("commune de Roubaix"),
        "{}",
        mail.subject
    );
    assert!(
        mail.text
            .contains(&format!("/appels/{call_id}?recommandation={code}")),
        "{}",
        mail.text
    );
    assert!(mail.text.contains("Vu au forum des associations."));
    let listed: Value = app
        .get_as(&roubaix.token, "/api/v1/commune/referrals")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["code"], code.as_str());
    assert_problem(app.get_as(staff, "/api/v1/commune/referrals").await, 403).await;

    // An application started with a wrong code is refused beside the code, and not created.
    let apps_before = app.count("applications").await;
    let mut body = sample_application();
    body["project"]["activity_communes"] = json!(["59512"]);
    for (code_given, words) in [("pas-un-code", "REC-"), ("REC-22222222", "inconnu")] {
        let resp = app
            .post_json(
                Some(applicant),
                &format!("/api/v1/calls/{call_id}/applications?referral_code={code_given}"),
                &body,
            )
            .await;
        let problem = assert_problem(resp, 422).await;
        assert!(
            problem["errors"]["referral_code"]
                .to_string()
                .contains(words),
            "{code_given}: {problem}"
        );
    }
    let resp = app
        .post_json(
            Some(applicant),
            &format!("/api/v1/calls/{other_id}/applications?referral_code={code}"),
            &body,
        )
        .await;
    let problem = assert_problem(resp, 422).await;
    assert!(
        problem["errors"]["referral_code"]
            .to_string()
            .contains("autre appel")
    );
    assert_eq!(app.count("applications").await, apps_before);

    // With the code (typed in lower case): the application carries Roubaix, and counts.
    let resp = app
        .post_json(
            Some(applicant),
            &format!(
                "/api/v1/calls/{call_id}/applications?referral_code={}",
                code.to_lowercase()
            ),
            &body,
        )
        .await;
    assert_eq!(resp.status(), 201);
    let created: Value = resp.json().await.unwrap();
    let id = created["id"].as_str().unwrap();
    app.submit_with_documents(applicant, id).await;
    let history: Value = app
        .get_as(staff, &format!("/api/v1/applications/{id}/history"))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        history
            .to_string()
            .contains("\"referred_by_commune\":\"59512\""),
        "{history}"
    );
    let stats: Value = app
        .get_as(staff, &format!("/api/v1/territory?call_id={call_id}"))
        .await
        .json()
        .await
        .unwrap();
    let roubaix_row = stats["communes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["insee"] == "59512")
        .unwrap();
    assert_eq!(roubaix_row["referrals"], 1, "{roubaix_row}");
    assert_eq!(roubaix_row["referred_applications"], 1);
    assert_eq!(stats["totals"]["referrals"], 1);
    assert_eq!(stats["totals"]["referred_applications"], 1);
    let other_stats: Value = app
        .get_as(staff, &format!("/api/v1/territory?call_id={other_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(other_stats["totals"]["referrals"], 0);
}

//! Personal data (issue 20): each purge of the retention job once the injected clock reaches
//! it (no sleeps), the export of one's data, the correction of one's name, the erasure of an
//! account — on SQLite and PostgreSQL.

use std::sync::Arc;

use chrono::Duration;
use diesel::prelude::*;
use essor::db::schema::{application_documents, applications, audit_events, outbox, users};
use essor::services::retention::{PurgeReport, RetentionJob};
use serde_json::{Value, json};

use crate::helpers::{Account, PASSWORD, PDF, TestApp, assert_problem, sample_application};

crate::both_backends_clocked!(
    each_purge_comes_when_the_clock_reaches_it,
    the_export_holds_the_callers_data_and_nothing_of_others,
    an_erased_applicant_leaves_decisions_readable_without_their_name,
    erasure_is_refused_while_an_application_is_examined,
);

fn job(app: &TestApp, instance: &str) -> RetentionJob {
    RetentionJob {
        db: app.db.clone(),
        settings: Arc::new(app.settings.clone()),
        notifier: app.notifier.clone(),
        clock: app.clock.clone(),
        instance: instance.to_owned(),
    }
}

async fn run(app: &TestApp) -> PurgeReport {
    job(app, "test")
        .run_due()
        .await
        .expect("the job runs")
        .expect("the job was due")
}

async fn sql_count(app: &TestApp, query: String) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    app.db
        .run(move |conn| Ok(diesel::sql_query(query).get_result::<N>(conn)?.n))
        .await
        .unwrap()
}

async fn body_of(app: &TestApp, id: &str) -> Value {
    let id = id.to_owned();
    let body: String = app
        .db
        .run(move |conn| {
            Ok(applications::table
                .find(id)
                .select(applications::body)
                .first(conn)?)
        })
        .await
        .unwrap();
    serde_json::from_str(&body).unwrap()
}

async fn documents_of(app: &TestApp, id: &str) -> i64 {
    let id = id.to_owned();
    app.db
        .run(move |conn| {
            Ok(application_documents::table
                .filter(application_documents::application_id.eq(id))
                .count()
                .get_result(conn)?)
        })
        .await
        .unwrap()
}

/// The count the job's audit event of `kind` recorded last.
async fn audited(app: &TestApp, kind: &str) -> i64 {
    let action = format!("retention.{kind}");
    let payload: Option<String> = app
        .db
        .run(move |conn| {
            Ok(audit_events::table
                .filter(audit_events::action.eq(action))
                .filter(audit_events::actor_id.is_null())
                .order(audit_events::seq.desc())
                .select(audit_events::payload)
                .first(conn)?)
        })
        .await
        .unwrap();
    serde_json::from_str::<Value>(&payload.expect("the job's payloads are kept")).unwrap()["count"]
        .as_i64()
        .unwrap()
}

async fn counts(app: &TestApp) -> (i64, i64, i64, i64) {
    (
        app.count("applications").await,
        app.count("application_documents").await,
        app.count("audit_events").await,
        app.count("outbox").await,
    )
}

/// Waits (10 s at most) until no mail is left to deliver; returns how many were sent.
async fn all_sent(app: &TestApp) -> i64 {
    for _ in 0..100 {
        let left = sql_count(
            app,
            "SELECT COUNT(*) AS n FROM outbox WHERE status <> 'sent'".into(),
        )
        .await;
        if left == 0 {
            return app.count("outbox").await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("mails still undelivered after 10 s");
}

fn other_body() -> Value {
    let mut body = sample_application();
    body["organisation"]["name"] = json!("Coopérative Voisine");
    body["organisation"]["address"] = json!("3 place Voisine");
    body["project"]["title"] = json!("Projet d'à côté");
    body
}

async fn each_purge_comes_when_the_clock_reaches_it(app: TestApp) {
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    let call = app.published_call(staff, json!({})).await;
    let call_id = call["id"].as_str().unwrap();

    // A draft never submitted, with a document.
    let draft = app
        .draft_application(&cast.applicant.token, call_id, &sample_application())
        .await;
    let draft_id = draft["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.upload(&cast.applicant.token, &draft_id, "rib", PDF, "rib.pdf")
            .await
            .status(),
        201
    );
    // Another draft, to which a document will be added later (a change).
    let worked_on = app
        .draft_application(&cast.applicant.token, call_id, &sample_application())
        .await;
    let worked_on_id = worked_on["id"].as_str().unwrap().to_owned();
    // An application declared ineligible (unsuccessful), and one still submitted.
    let ineligible = app
        .submitted_application(&cast.other_applicant.token, call_id)
        .await;
    let ineligible_id = ineligible["id"].as_str().unwrap().to_owned();
    let resp = app
        .post_json(
            Some(staff),
            &format!("/api/v1/applications/{ineligible_id}/declare-ineligible"),
            &json!({"motivation": "Hors territoire."}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let pending = app
        .draft_application(&cast.other_applicant.token, call_id, &other_body())
        .await;
    let pending_id = pending["id"].as_str().unwrap().to_owned();
    app.attach_required(&cast.other_applicant.token, &pending_id)
        .await;
    let resp = app
        .post_json(
            Some(&cast.other_applicant.token),
            &format!("/api/v1/applications/{pending_id}/submit"),
            &json!({}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let pending_before: Value = app
        .get_as(staff, &format!("/api/v1/applications/{pending_id}"))
        .await
        .json()
        .await
        .unwrap();
    // A link (verification of a registration), a failed sign-in, a web session, mail files.
    let resp = app
        .post_json(
            None,
            "/api/v1/auth/register",
            &json!({"email": "nouvelle@exemple.fr", "password": PASSWORD, "full_name": "Nouvelle"}),
        )
        .await;
    assert_eq!(resp.status(), 202);
    let resp = app
        .post_json(
            None,
            "/api/v1/auth/token",
            &json!({"email": cast.applicant.email, "password": "pas le bon"}),
        )
        .await;
    assert_eq!(resp.status(), 401);
    let user_id = cast.applicant.id.clone();
    app.db
        .run(move |conn| {
            use essor::db::schema::web_sessions as s;
            let now = essor::db::now();
            diesel::insert_into(s::table)
                .values((
                    s::id_hash.eq("h"),
                    s::user_id.eq(user_id),
                    s::csrf_token.eq("c"),
                    s::data.eq("{}"),
                    s::generation.eq(0),
                    s::created_at.eq(now),
                    s::last_seen_at.eq(now),
                ))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    let throttled = app.count("throttle_events").await;
    assert!(throttled >= 1);
    // Every mail delivered (submissions, ineligibility, the registration's link).
    let sent = all_sent(&app).await;
    assert!(sent >= 6, "{sent}");
    let mail_dir = app.settings.mail_dir();
    std::fs::create_dir_all(&mail_dir).unwrap();
    std::fs::write(mail_dir.join("old.eml"), "Subject: x\r\n\r\nbody").unwrap();
    std::fs::write(mail_dir.join("notes.txt"), "not a mail").unwrap();
    let users_before = app.count("users").await;

    // Day 0: nothing is due; a second run the same day does not happen.
    assert_eq!(run(&app).await, PurgeReport::default());
    assert!(job(&app, "again").run_due().await.unwrap().is_none());
    // Each run ends with the day's signed checkpoint of the audit trail (issue 32).
    assert_eq!(app.count("audit_checkpoints").await, 1);

    // Day 2: the session, the link and the failed sign-in are gone.
    app.clock.advance(Duration::days(2));
    let r = run(&app).await;
    assert_eq!(app.count("audit_checkpoints").await, 2);
    assert_eq!(
        (r.sessions, r.link_tokens, r.throttle_events as i64),
        (1, 1, throttled),
        "{r:?}"
    );
    assert_eq!((r.mail_bodies, r.mail_files, r.drafts_warned), (0, 0, 0));
    assert_eq!(app.count("web_sessions").await, 0);
    assert_eq!(app.count("account_tokens").await, 0);
    assert_eq!(app.count("throttle_events").await, 0);
    assert_eq!(audited(&app, "link_tokens").await, 1);

    // Day 91: the sent mails lose their bodies (the rows stay); the mail file goes.
    app.clock.advance(Duration::days(89));
    let outbox_rows = app.count("outbox").await;
    let r = run(&app).await;
    assert_eq!(r.mail_bodies as i64, sent, "{r:?}");
    assert_eq!(r.mail_files, 1);
    assert!(!mail_dir.join("old.eml").exists());
    assert!(mail_dir.join("notes.txt").exists());
    assert_eq!(app.count("outbox").await, outbox_rows);
    assert_eq!(
        sql_count(
            &app,
            "SELECT COUNT(*) AS n FROM outbox WHERE status = 'sent' AND body_text = '' \
             AND body_html = '' AND body_purged_at IS NOT NULL AND subject <> ''"
                .into()
        )
        .await,
        sent
    );
    assert_eq!(audited(&app, "mail_bodies").await, sent);
    assert_eq!(r.applications_minimised, 0, "the appeal period is not over");
    assert_eq!(documents_of(&app, &ineligible_id).await, 3);

    // Day 200: past the 2 months of appeal and the margin, the ineligible application is
    // minimised: documents and address gone, the decision and the organisation kept.
    let siret = body_of(&app, &ineligible_id).await["organisation"]["siret"].clone();
    app.clock.advance(Duration::days(109));
    let r = run(&app).await;
    assert_eq!(r.applications_minimised, 1, "{r:?}");
    assert_eq!(documents_of(&app, &ineligible_id).await, 0);
    let body = body_of(&app, &ineligible_id).await;
    assert_eq!(body["organisation"]["address"], "(adresse effacée)");
    assert_eq!(body["organisation"]["siret"], siret);
    let seen: Value = app
        .get_as(staff, &format!("/api/v1/applications/{ineligible_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(seen["state"], "ineligible");
    assert_eq!(
        documents_of(&app, &draft_id).await,
        1,
        "drafts are not minimised"
    );
    assert_eq!(
        app.upload(&cast.applicant.token, &worked_on_id, "rib", PDF, "rib.pdf")
            .await
            .status(),
        201
    );

    // Day 336: the draft's owner is warned (30 days before its 365th day).
    app.clock.advance(Duration::days(136));
    let mails_before = app.count("outbox").await;
    let r = run(&app).await;
    assert_eq!((r.drafts_warned, r.drafts_deleted), (1, 0), "{r:?}");
    assert_eq!(app.count("outbox").await, mails_before + 1);
    let (subject, recipient): (String, String) = app
        .db
        .run(|conn| {
            Ok(outbox::table
                .filter(outbox::event.eq("draft_expiring"))
                .select((outbox::subject, outbox::recipient))
                .first(conn)?)
        })
        .await
        .unwrap();
    assert_eq!(recipient, cast.applicant.email);
    assert!(
        subject.contains(draft["reference"].as_str().unwrap()),
        "{subject}"
    );
    assert_eq!(
        app.get_as(
            &cast.applicant.token,
            &format!("/api/v1/applications/{draft_id}")
        )
        .await
        .status(),
        200
    );

    // Day 366: the notice is over; the draft and its document are deleted.
    app.clock.advance(Duration::days(30));
    let r = run(&app).await;
    assert_eq!((r.drafts_warned, r.drafts_deleted), (0, 1), "{r:?}");
    assert_eq!(audited(&app, "drafts_deleted").await, 1);
    assert_eq!(
        app.get_as(
            &cast.applicant.token,
            &format!("/api/v1/applications/{draft_id}")
        )
        .await
        .status(),
        404
    );
    assert_eq!(documents_of(&app, &draft_id).await, 0);
    // The draft worked on at day 200 stays (its year starts again from the upload).
    assert_eq!(documents_of(&app, &worked_on_id).await, 1);
    // Its audit events stay in the chain (issue 32), their payloads erased; the trail verifies.
    assert_eq!(
        sql_count(
            &app,
            format!(
                "SELECT COUNT(*) AS n FROM audit_events WHERE application_id = '{draft_id}' \
                 AND payload IS NULL AND salt IS NULL"
            )
        )
        .await,
        2
    );
    assert_eq!(
        sql_count(
            &app,
            format!(
                "SELECT COUNT(*) AS n FROM audit_events WHERE application_id = '{draft_id}' \
                 AND payload IS NOT NULL"
            )
        )
        .await,
        0
    );
    let key = essor::services::audit::signing_key(&app.settings)
        .unwrap()
        .verifying_key();
    let verified = app
        .db
        .run(move |conn| essor::services::audit::verify_in(conn, key))
        .await
        .unwrap()
        .expect("the trail verifies after the draft's deletion");
    assert!(verified.erased >= 2, "{verified:?}");

    // Nothing else changed: the submitted application, the accounts.
    let pending_after: Value = app
        .get_as(staff, &format!("/api/v1/applications/{pending_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(pending_before, pending_after);
    assert_eq!(documents_of(&app, &pending_id).await, 3);
    assert_eq!(app.count("users").await, users_before);

    // Two instances at once: one runs the job, the other finds it taken.
    app.clock.advance(Duration::days(1));
    let (a, b) = (job(&app, "instance-a"), job(&app, "instance-b"));
    let (ra, rb) = tokio::join!(a.run_due(), b.run_due());
    let ran = [ra.unwrap(), rb.unwrap()]
        .iter()
        .filter(|r| r.is_some())
        .count();
    assert_eq!(ran, 1);
}

async fn the_export_holds_the_callers_data_and_nothing_of_others(app: TestApp) {
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    let call = app.published_call(staff, json!({"min_reviews": 1})).await;
    let call_id = call["id"].as_str().unwrap();
    let mine = app
        .submitted_application(&cast.applicant.token, call_id)
        .await;
    let mine_id = mine["id"].as_str().unwrap();
    let theirs = app
        .draft_application(&cast.other_applicant.token, call_id, &other_body())
        .await;
    app.upload(
        &cast.other_applicant.token,
        theirs["id"].as_str().unwrap(),
        "rib",
        PDF,
        "rib-voisine.pdf",
    )
    .await;
    let assignments = app.start_review(staff, mine_id, &[&cast.reviewer]).await;
    app.review(&cast.reviewer, &assignments[0], [4, 4, 4, 4, 4])
        .await;
    // A name of one's own, to find it (or not) in the exports.
    let resp = app
        .client
        .patch(app.url("/api/v1/me"))
        .bearer_auth(&cast.applicant.token)
        .json(&json!({"full_name": "Jeanne Exportée"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let me: Value = resp.json().await.unwrap();
    assert_eq!(me["full_name"], "Jeanne Exportée");
    let problem = assert_problem(
        app.client
            .patch(app.url("/api/v1/me"))
            .bearer_auth(&cast.applicant.token)
            .json(&json!({"full_name": " "}))
            .send()
            .await
            .unwrap(),
        422,
    )
    .await;
    assert!(problem["errors"]["full_name"].is_array(), "{problem}");

    let resp = app.get_as(&cast.applicant.token, "/api/v1/me/data").await;
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let data: Value = resp.json().await.unwrap();
    assert_eq!(data["account"]["email"], cast.applicant.email);
    assert_eq!(data["account"]["full_name"], "Jeanne Exportée");
    let apps = data["applications"].as_array().unwrap();
    assert_eq!(apps.len(), 1);
    assert_eq!(apps[0]["id"], mine_id);
    assert_eq!(apps[0]["state"], "under_review");
    assert_eq!(
        apps[0]["body"]["organisation"]["name"],
        "Les Ateliers du Sart"
    );
    let kinds: Vec<&str> = apps[0]["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.len(), 3, "{kinds:?}");
    assert!(
        data["mails"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["event"] == "submitted")
    );
    let events = data["events"].as_array().unwrap();
    assert!(
        events
            .iter()
            .any(|e| e["action"] == "submit" && e["by_you"] == true)
    );
    assert!(events.iter().any(|e| e["action"] == "account.name_changed"));
    assert_eq!(data["reviews"], json!([]));
    let text = data.to_string();
    for other in [
        cast.other_applicant.email.as_str(),
        cast.staff.email.as_str(),
        cast.reviewer.email.as_str(),
        cast.reviewer.id.as_str(),
        cast.staff.id.as_str(),
        "Coopérative Voisine",
        "rib-voisine.pdf",
        "Aucun conflit",
    ] {
        assert!(!text.contains(other), "{other} in the applicant's export");
    }

    // The reviewer's export: the assignment and the review, not the applicant's data.
    let data: Value = app
        .get_as(&cast.reviewer.token, "/api/v1/me/data")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(data["applications"], json!([]));
    assert_eq!(data["assignments"].as_array().unwrap().len(), 1);
    assert_eq!(data["reviews"].as_array().unwrap().len(), 1);
    assert_eq!(data["reviews"][0]["status"], "submitted");
    let text = data.to_string();
    for other in [
        cast.applicant.email.as_str(),
        cast.applicant.id.as_str(),
        "Jeanne Exportée",
        "12 rue de Lannoy",
    ] {
        assert!(!text.contains(other), "{other} in the reviewer's export");
    }
}

async fn an_erased_applicant_leaves_decisions_readable_without_their_name(app: TestApp) {
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    let owner = &cast.applicant.token;
    let call = app.published_call(staff, json!({"min_reviews": 1})).await;
    let call_id = call["id"].as_str().unwrap();
    let resp = app
        .client
        .patch(app.url("/api/v1/me"))
        .bearer_auth(owner)
        .json(&json!({"full_name": "Jeanne Effacée"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // Accepted; withdrawn (with documents); a draft.
    let accepted = app.submitted_application(owner, call_id).await;
    let accepted_id = accepted["id"].as_str().unwrap().to_owned();
    let asg = app
        .start_review(staff, &accepted_id, &[&cast.reviewer])
        .await;
    app.review(&cast.reviewer, &asg[0], [5, 5, 5, 5, 5]).await;
    let resp = app
        .post_json(
            Some(staff),
            &format!("/api/v1/applications/{accepted_id}/decision"),
            &json!({"outcome": "accepted", "awarded_cents": 1_500_000, "motivation": "Projet utile.",
                    "committee_date": "2026-11-02", "decision_reference": "DEL-2026-0007"}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let withdrawn = app.submitted_application(owner, call_id).await;
    let withdrawn_id = withdrawn["id"].as_str().unwrap().to_owned();
    let resp = app
        .post_json(
            Some(owner),
            &format!("/api/v1/applications/{withdrawn_id}/withdraw"),
            &json!({"reason": "Projet reporté."}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let draft = app
        .draft_application(owner, call_id, &sample_application())
        .await;
    let draft_id = draft["id"].as_str().unwrap().to_owned();
    // Someone else's application, which must not change.
    let other = app
        .draft_application(&cast.other_applicant.token, call_id, &other_body())
        .await;
    let other_id = other["id"].as_str().unwrap().to_owned();
    let other_before: Value = app
        .get_as(staff, &format!("/api/v1/applications/{other_id}"))
        .await
        .json()
        .await
        .unwrap();
    all_sent(&app).await;
    let users_before = app.count("users").await;

    // A wrong password: 422, nothing done.
    let problem = assert_problem(
        app.client
            .delete(app.url("/api/v1/me"))
            .bearer_auth(owner)
            .json(&json!({"password": "pas le bon"}))
            .send()
            .await
            .unwrap(),
        422,
    )
    .await;
    assert!(problem["errors"]["password"].is_array(), "{problem}");
    assert_eq!(app.get_as(owner, "/api/v1/me").await.status(), 200);

    let resp = app
        .client
        .delete(app.url("/api/v1/me"))
        .bearer_auth(owner)
        .json(&json!({"password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204, "{}", resp.text().await.unwrap());

    // The account is gone for its owner: token refused, sign-in refused.
    assert_eq!(app.get_as(owner, "/api/v1/me").await.status(), 401);
    let resp = app
        .post_json(
            None,
            "/api/v1/auth/token",
            &json!({"email": cast.applicant.email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(resp.status(), 401);
    // Its row stays, anonymised (the record points to it).
    assert_eq!(app.count("users").await, users_before);
    let id = cast.applicant.id.clone();
    let (email, name, erased): (String, String, Option<chrono::NaiveDateTime>) = app
        .db
        .run(move |conn| {
            Ok(users::table
                .find(id)
                .select((users::email, users::full_name, users::erased_at))
                .first(conn)?)
        })
        .await
        .unwrap();
    assert!(email.ends_with("@essor.invalid"), "{email}");
    assert_eq!(name, "Compte supprimé");
    assert!(erased.is_some());

    // The accepted decision is readable, without the name.
    let seen = app
        .get_as(staff, &format!("/api/v1/applications/{accepted_id}"))
        .await;
    assert_eq!(seen.status(), 200);
    let seen: Value = seen.json().await.unwrap();
    assert_eq!(seen["state"], "accepted");
    assert_eq!(seen["decision"]["awarded_cents"], 1_500_000);
    assert_eq!(seen["decision"]["decision_reference"], "DEL-2026-0007");
    assert_eq!(
        documents_of(&app, &accepted_id).await,
        3,
        "the grant file is kept"
    );
    let history = app
        .get_as(
            staff,
            &format!("/api/v1/applications/{accepted_id}/history"),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(history.contains("Compte supprimé"), "{history}");
    for text in [seen.to_string(), history] {
        assert!(!text.contains("Jeanne Effacée"));
        assert!(!text.contains(&format!("\"{}\"", cast.applicant.email)));
    }
    let listed = app
        .get_as(&cast.admin.token, "/api/v1/users?role=applicant")
        .await
        .text()
        .await
        .unwrap();
    // (Quoted: the other applicant's address ends with this one.)
    assert!(!listed.contains("Jeanne Effacée"), "{listed}");
    assert!(
        !listed.contains(&format!("\"{}\"", cast.applicant.email)),
        "{listed}"
    );
    assert!(listed.contains("Compte supprimé"), "{listed}");

    // The withdrawn application is minimised; the draft is gone.
    assert_eq!(documents_of(&app, &withdrawn_id).await, 0);
    assert_eq!(
        body_of(&app, &withdrawn_id).await["organisation"]["address"],
        "(adresse effacée)"
    );
    assert_eq!(
        app.get_as(staff, &format!("/api/v1/applications/{draft_id}"))
            .await
            .status(),
        404
    );
    // No mail to the address remains; those sent keep no body.
    assert_eq!(
        sql_count(
            &app,
            format!(
                "SELECT COUNT(*) AS n FROM outbox WHERE recipient = '{}' OR body_text LIKE '%Jeanne Effacée%'",
                cast.applicant.email
            )
        )
        .await,
        0
    );
    // The erasure is in the trail, and no client address of the account's own events remains.
    assert_eq!(
        sql_count(
            &app,
            format!(
                "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'account.erased' AND actor_id = '{}'",
                cast.applicant.id
            )
        )
        .await,
        1
    );
    assert_eq!(
        sql_count(
            &app,
            format!(
                "SELECT COUNT(*) AS n FROM audit_events WHERE actor_id = '{}' AND payload LIKE '%client_ip%'",
                cast.applicant.id
            )
        )
        .await,
        0
    );
    // An admin cannot bring it back.
    let resp = app
        .client
        .patch(app.url(&format!("/api/v1/users/{}", cast.applicant.id)))
        .bearer_auth(&cast.admin.token)
        .json(&json!({"active": true}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 409).await;
    // Nothing else changed.
    let other_after: Value = app
        .get_as(staff, &format!("/api/v1/applications/{other_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(other_before, other_after);
    assert_eq!(
        app.get_as(&cast.other_applicant.token, "/api/v1/me")
            .await
            .status(),
        200
    );
}

async fn erasure_is_refused_while_an_application_is_examined(app: TestApp) {
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    let owner = &cast.applicant.token;
    let call = app.published_call(staff, json!({"min_reviews": 1})).await;
    let call_id = call["id"].as_str().unwrap();
    let submitted = app.submitted_application(owner, call_id).await;
    let id = submitted["id"].as_str().unwrap().to_owned();
    let reference = submitted["reference"].as_str().unwrap().to_owned();

    let erase = |account: &Account| {
        app.client
            .delete(app.url("/api/v1/me"))
            .bearer_auth(&account.token)
            .json(&json!({"password": PASSWORD}))
            .send()
    };
    let before = counts(&app).await;
    let me_before: Value = app.get_as(owner, "/api/v1/me").await.json().await.unwrap();
    let problem = assert_problem(erase(&cast.applicant).await.unwrap(), 409).await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains(&reference), "{detail}");
    assert!(detail.contains("instruction"), "{detail}");
    assert_eq!(counts(&app).await, before);

    // Under review: still refused; the reviewer, assigned to it, is refused too.
    app.start_review(staff, &id, &[&cast.reviewer]).await;
    let before = counts(&app).await;
    assert_problem(erase(&cast.applicant).await.unwrap(), 409).await;
    let problem = assert_problem(erase(&cast.reviewer).await.unwrap(), 409).await;
    assert!(
        problem["detail"].as_str().unwrap().contains(&reference),
        "{problem}"
    );
    assert_eq!(counts(&app).await, before);
    let me_after: Value = app.get_as(owner, "/api/v1/me").await.json().await.unwrap();
    assert_eq!(me_before, me_after);
    assert_eq!(
        app.get_as(&cast.reviewer.token, "/api/v1/me")
            .await
            .status(),
        200
    );
}

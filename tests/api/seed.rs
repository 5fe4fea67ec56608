//! `essor seed --demo`: through the services (the demo) or by batches (`--bulk`, for the
//! benchmarks), its rows are what users would have left — every submitted row with its
//! report, the audit trail of each path, nothing dated in the future, reserved addresses that
//! match the names — and production refuses the published password.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use essor::config::Environment;
use essor::db::schema::{
    application_documents, applications, assignments, audit_events, calls, outbox, reviews, users,
};
use essor::seed::{DEMO_PASSWORD, DemoOptions, SeedReport};
use serde_json::Value;

use crate::both_backends;
use crate::helpers::TestApp;

both_backends!(
    demo_seed_fills_every_state_and_is_served,
    demo_seed_rows_are_those_the_services_write,
    bulk_seed_rows_are_consistent,
    production_refuses_the_published_password,
);

async fn demo(app: &TestApp, n: usize) -> SeedReport {
    essor::seed::seed_demo(
        app.db.clone(),
        app.settings.clone(),
        DemoOptions {
            applications: n,
            password: None,
        },
    )
    .await
    .expect("demo seeded")
}

async fn demo_seed_fills_every_state_and_is_served(app: TestApp) {
    let report = demo(&app, 120).await;
    assert_eq!(report.applications, 120);
    let staff_email = &report
        .accounts
        .iter()
        .find(|(r, _, _)| r == "staff")
        .unwrap()
        .1;
    let token = app.token(staff_email, DEMO_PASSWORD).await;
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
    // The reference counter continues after the seeded references of this year.
    let year = Utc::now().format("%Y").to_string();
    let this_year = app
        .db
        .run(move |conn| {
            Ok(applications::table
                .select(applications::reference)
                .load::<String>(conn)?)
        })
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.starts_with(&format!("EA-{year}-")))
        .count();
    let applicant = &report
        .accounts
        .iter()
        .find(|(r, _, _)| r == "applicant")
        .unwrap()
        .1;
    let tok = app.token(applicant, DEMO_PASSWORD).await;
    let draft = app
        .draft_application(
            &tok,
            report.call_id.as_str(),
            &crate::helpers::sample_application(),
        )
        .await;
    assert_eq!(
        draft["reference"],
        format!("EA-{}-{:05}", Utc::now().format("%Y"), this_year + 1)
    );
}

/// An application row: id, reference, state, submitted_at, eligibility report.
type AppRow = (
    String,
    String,
    String,
    Option<NaiveDateTime>,
    Option<String>,
);
/// An audit event: application, action, from, to.
type EventRow = (Option<String>, String, Option<String>, Option<String>);

/// One application as the checks read it.
struct Seeded {
    reference: String,
    state: String,
    submitted: bool,
    report: bool,
    /// Its audit trail in order: (action, from, to).
    trail: Vec<(String, Option<String>, Option<String>)>,
}

async fn seeded(app: &TestApp) -> Vec<Seeded> {
    app.db
        .run(|conn| {
            let rows: Vec<AppRow> = applications::table
                .select((
                    applications::id,
                    applications::reference,
                    applications::state,
                    applications::submitted_at,
                    applications::eligibility,
                ))
                .load(conn)?;
            let events: Vec<EventRow> = audit_events::table
                .filter(audit_events::application_id.is_not_null())
                .order((audit_events::at.asc(), audit_events::id.asc()))
                .select((
                    audit_events::application_id,
                    audit_events::action,
                    audit_events::from_state,
                    audit_events::to_state,
                ))
                .load(conn)?;
            let mut trails: BTreeMap<String, Vec<_>> = BTreeMap::new();
            for (app_id, action, from, to) in events {
                trails
                    .entry(app_id.unwrap())
                    .or_default()
                    .push((action, from, to));
            }
            Ok(rows
                .into_iter()
                .map(|(id, reference, state, submitted_at, report)| Seeded {
                    reference,
                    state,
                    submitted: submitted_at.is_some(),
                    report: report.is_some(),
                    trail: trails.remove(&id).unwrap_or_default(),
                })
                .collect())
        })
        .await
        .unwrap()
}

/// Every application's trail walks from its creation to its state, one move at a time; the
/// submitted ones carry their report; those reviewed have their reviewers' acceptances and
/// reviews, those decided two submitted reviews.
fn check_paths(apps: &[Seeded], documents: bool) {
    let count = |a: &Seeded, action: &str| a.trail.iter().filter(|e| e.0 == action).count();
    for a in apps {
        let moves: Vec<_> = a
            .trail
            .iter()
            .filter(|(_, from, to)| to.is_some() && from != to)
            .collect();
        assert_eq!(moves[0].0, "create", "{}: {:?}", a.reference, a.trail);
        assert_eq!(moves[0].1, None);
        let mut at = moves[0].2.clone();
        for (action, from, to) in &moves[1..] {
            assert_eq!(
                from, &at,
                "{}: {action} does not follow {:?}",
                a.reference, a.trail
            );
            at = to.clone();
        }
        assert_eq!(at.as_deref(), Some(a.state.as_str()), "{}", a.reference);

        let was_submitted = count(a, "submit") > 0;
        assert_eq!(was_submitted, a.submitted, "{}", a.reference);
        if a.submitted {
            assert!(a.report, "{} was submitted without its report", a.reference);
            if documents {
                assert!(count(a, "upload-document") >= 3, "{}", a.reference);
            }
        }
        if matches!(a.state.as_str(), "under_review" | "accepted" | "rejected") {
            assert_eq!(count(a, "start-review"), 1, "{}", a.reference);
            assert_eq!(count(a, "assignment-accept"), 2, "{}", a.reference);
            assert!(count(a, "submit-review") >= 1, "{}", a.reference);
        }
        if matches!(a.state.as_str(), "accepted" | "rejected") {
            assert_eq!(count(a, "submit-review"), 2, "{}", a.reference);
        }
    }
    for state in ["draft", "submitted", "under_review", "accepted", "rejected"] {
        assert!(apps.iter().any(|a| a.state == state), "no {state}");
    }
}

/// Every time stamp the seed wrote is before now, every committee date at most today.
async fn check_nothing_in_the_future(app: &TestApp) {
    let (stamps, committee): (Vec<(&'static str, NaiveDateTime)>, Vec<NaiveDate>) = app
        .db
        .run(|conn| {
            let mut out: Vec<(&'static str, NaiveDateTime)> = Vec::new();
            let mut add = |what: &'static str, v: Vec<Option<NaiveDateTime>>| {
                out.extend(v.into_iter().flatten().map(|t| (what, t)));
            };
            macro_rules! col {
                ($table:ident . $col:ident) => {
                    add(
                        concat!(stringify!($table), ".", stringify!($col)),
                        $table::table
                            .select($table::$col.nullable())
                            .load::<Option<NaiveDateTime>>(conn)?,
                    )
                };
            }
            col!(users.created_at);
            col!(users.email_verified_at);
            col!(calls.created_at);
            col!(calls.updated_at);
            col!(calls.published_at);
            col!(calls.opens_at);
            col!(applications.created_at);
            col!(applications.updated_at);
            col!(applications.submitted_at);
            col!(applications.decided_at);
            col!(application_documents.uploaded_at);
            col!(assignments.assigned_at);
            col!(assignments.responded_at);
            col!(reviews.created_at);
            col!(reviews.updated_at);
            col!(reviews.submitted_at);
            col!(audit_events.at);
            col!(outbox.created_at);
            col!(outbox.next_attempt_at);
            let committee = applications::table
                .select(applications::committee_date)
                .load::<Option<NaiveDate>>(conn)?
                .into_iter()
                .flatten()
                .collect();
            Ok((out, committee))
        })
        .await
        .unwrap();
    let now = Utc::now().naive_utc();
    assert!(stamps.len() > 100);
    for (what, t) in &stamps {
        assert!(t <= &now, "{what} = {t} is after now ({now})");
    }
    let today = Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive();
    assert!(!committee.is_empty());
    for d in committee {
        assert!(d <= today, "committee date {d} after today");
    }
}

/// Every address is under a reserved domain and matches its name (`Porteur n° 5` is
/// `porteur5.…`); the report lists every account with its role.
async fn check_accounts(app: &TestApp, report: &SeedReport) {
    let rows: Vec<(String, String, String)> = app
        .db
        .run(|conn| {
            Ok(users::table
                .select((users::email, users::full_name, users::role))
                .load(conn)?)
        })
        .await
        .unwrap();
    assert_eq!(rows.len(), report.accounts.len());
    for (email, name, role) in &rows {
        let domain = email.rsplit('@').next().unwrap();
        assert!(
            domain == "example.org"
                || domain.ends_with(".example.org")
                || domain.ends_with(".test"),
            "{email} is not under a reserved domain"
        );
        let slug = name
            .to_lowercase()
            .replace("·e", "")
            .replace(" n° ", "")
            .replace(' ', ".");
        assert!(
            email.starts_with(&format!("{slug}.")),
            "{name} does not match {email}"
        );
        assert!(
            report
                .accounts
                .iter()
                .any(|(r, e, n)| r == role && e == email && n == name),
            "{email} ({role}) is not in the report"
        );
    }
    for role in ["staff", "admin", "reviewer", "applicant"] {
        assert!(
            report.accounts.iter().any(|(r, _, _)| r == role),
            "no {role}"
        );
    }
}

async fn demo_seed_rows_are_those_the_services_write(app: TestApp) {
    let report = demo(&app, 60).await;
    let apps = seeded(&app).await;
    assert_eq!(apps.len(), 60);
    check_paths(&apps, true);
    check_nothing_in_the_future(&app).await;
    check_accounts(&app, &report).await;
    // The services queued the mails of each step (to reserved addresses).
    let mails: i64 = app
        .db
        .run(|conn| Ok(outbox::table.count().get_result(conn)?))
        .await
        .unwrap();
    assert!(mails > 60, "{mails} mails queued");
}

async fn bulk_seed_rows_are_consistent(app: TestApp) {
    let (db, settings) = (app.db.clone(), app.settings.clone());
    let report = tokio::task::spawn_blocking(move || {
        essor::seed::seed_bulk(
            &db,
            &settings,
            DemoOptions {
                applications: 120,
                password: None,
            },
        )
    })
    .await
    .unwrap()
    .expect("bulk seeded");
    assert_eq!(report.applications, 120);
    let apps = seeded(&app).await;
    assert_eq!(apps.len(), 120);
    check_paths(&apps, false);
    check_nothing_in_the_future(&app).await;
    check_accounts(&app, &report).await;
    // Each award has its grant and the call's two instalments, which sum to the award, the
    // advance requested (the finance benchmarks read them).
    let accepted = apps.iter().filter(|a| a.state == "accepted").count() as i64;
    assert!(accepted > 0);
    assert_eq!(app.count("grants").await, accepted);
    assert_eq!(app.count("instalments").await, 2 * accepted);
    let token = app
        .account(essor::domain::account::Role::Staff, "bulk-agent@mel.fr")
        .await
        .token;
    let grants: serde_json::Value = app
        .get_as(&token, "/api/v1/grants?state=running")
        .await
        .json()
        .await
        .unwrap();
    for g in grants.as_array().unwrap() {
        let i = g["instalments"].as_array().unwrap();
        assert_eq!(i[0]["state"], "requested", "{g}");
        assert_eq!(i[1]["state"], "planned", "{g}");
        assert_eq!(
            i[0]["amount_cents"].as_i64().unwrap() + i[1]["amount_cents"].as_i64().unwrap(),
            g["awarded_cents"].as_i64().unwrap()
        );
    }
    assert_eq!(grants.as_array().unwrap().len() as i64, accepted);
}

async fn production_refuses_the_published_password(app: TestApp) {
    let before = count(&app).await;
    let mut settings = app.settings.clone();
    settings.env = Environment::Production;
    for password in [None, Some(DEMO_PASSWORD.to_owned())] {
        let err = essor::seed::seed_demo(
            app.db.clone(),
            settings.clone(),
            DemoOptions {
                applications: 5,
                password: password.clone(),
            },
        )
        .await
        .err()
        .expect("refused");
        assert!(err.to_string().contains("production"), "{err}");
        let (db, s) = (app.db.clone(), settings.clone());
        let bulk = tokio::task::spawn_blocking(move || {
            essor::seed::seed_bulk(
                &db,
                &s,
                DemoOptions {
                    applications: 5,
                    password,
                },
            )
        })
        .await
        .unwrap();
        assert!(bulk.is_err());
    }
    assert_eq!(count(&app).await, before, "no account created");
    // With a password of its own, production gets its demo.
    let report = essor::seed::seed_demo(
        app.db.clone(),
        settings,
        DemoOptions {
            applications: 5,
            password: Some("un-mot-de-passe-choisi-2026".into()),
        },
    )
    .await
    .expect("seeded with the given password");
    let staff = &report.accounts[0].1;
    app.token(staff, "un-mot-de-passe-choisi-2026").await;
    assert_eq!(count(&app).await, before + report.accounts.len() as i64);
}

async fn count(app: &TestApp) -> i64 {
    app.db
        .run(|conn| Ok(users::table.count().get_result::<i64>(conn)?))
        .await
        .unwrap()
}

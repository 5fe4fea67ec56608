//! The counters of applications per call and state (issue 33) that the lists' totals and a
//! call's dashboard read instead of a `COUNT(*)`: kept by the database's triggers, they must
//! equal a count of the rows after every kind of write — a draft created, a transition through
//! the runner, a withdrawal, rows written straight to the table (the bulk seed's way), the
//! retention's deletion — and the totals the API gives must be the rows it pages through.

use essor::domain::ids::{ApplicationId, CallId, UserId};
use essor::domain::money::Cents;
use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{TestApp, sample_application};

both_backends!(the_counters_are_the_counts_after_every_kind_of_write);

/// (call, state) -> rows, counted over the table.
async fn counted_rows(app: &TestApp) -> BTreeMap<(String, String), i64> {
    app.db
        .run(|conn| {
            use diesel::prelude::*;
            use essor::db::schema::applications as a;
            let rows: Vec<(String, String, i64)> = a::table
                .group_by((a::call_id, a::state))
                .select((a::call_id, a::state, diesel::dsl::count_star()))
                .load(conn)?;
            Ok(rows.into_iter().map(|(c, s, n)| ((c, s), n)).collect())
        })
        .await
        .unwrap()
}

/// (call, state) -> the counter, the zeros left out (a state emptied keeps its row at 0).
async fn counters(app: &TestApp) -> BTreeMap<(String, String), i64> {
    app.db
        .run(|conn| {
            use diesel::prelude::*;
            use essor::db::schema::application_counts as c;
            let rows: Vec<(String, String, i64)> =
                c::table.select((c::call_id, c::state, c::n)).load(conn)?;
            Ok(rows
                .into_iter()
                .filter(|(_, _, n)| *n != 0)
                .map(|(c, s, n)| ((c, s), n))
                .collect())
        })
        .await
        .unwrap()
}

async fn assert_exact(app: &TestApp, after: &str) -> BTreeMap<(String, String), i64> {
    let rows = counted_rows(app).await;
    assert_eq!(counters(app).await, rows, "after {after}");
    rows
}

/// The staff list's `total` for a call and some states, and the ids its pages hold.
async fn listed(app: &TestApp, staff: &str, call_id: &str, states: &str) -> (i64, usize) {
    let mut seen = 0;
    let mut total = None;
    for page in 1.. {
        let list: Value = app
            .get_as(
                staff,
                &format!(
                    "/api/v1/applications?call_id={call_id}&state={states}&per_page=2&page={page}"
                ),
            )
            .await
            .json()
            .await
            .unwrap();
        total.get_or_insert(list["total"].as_i64().unwrap());
        let items = list["items"].as_array().unwrap();
        if items.is_empty() {
            break;
        }
        seen += items.len();
    }
    (total.unwrap(), seen)
}

async fn the_counters_are_the_counts_after_every_kind_of_write(app: TestApp) {
    let cast = app.cast().await;
    let staff = cast.staff.token.as_str();
    let call = app.published_call(staff, json!({})).await;
    let call_id = call["id"].as_str().unwrap().to_owned();
    let other_call = app
        .published_call(staff, json!({"title": "Autre appel"}))
        .await;
    let other_call_id = other_call["id"].as_str().unwrap().to_owned();
    assert_exact(&app, "two calls and no application").await;

    // Drafts, in both calls and by two applicants.
    let mut drafts = Vec::new();
    for (applicant, call) in [
        (&cast.applicant, &call_id),
        (&cast.other_applicant, &call_id),
        (&cast.applicant, &other_call_id),
    ] {
        let mut body = sample_application();
        body["organisation"]["siret"] = json!(crate::helpers::distinct_siret());
        let draft = app.draft_application(&applicant.token, call, &body).await;
        drafts.push(draft["id"].as_str().unwrap().to_owned());
    }
    let rows = assert_exact(&app, "three drafts").await;
    assert_eq!(rows[&(call_id.clone(), "draft".into())], 2);

    // Submitted, put under review, withdrawn: transitions through the runner.
    app.submit_with_documents(&cast.applicant.token, &drafts[0])
        .await;
    app.submit_with_documents(&cast.other_applicant.token, &drafts[1])
        .await;
    assert_exact(&app, "two submissions").await;
    let resp = app
        .post_json(
            Some(staff),
            &format!("/api/v1/applications/{}/start-review", drafts[0]),
            &json!({"reviewer_ids": [cast.reviewer.id]}),
        )
        .await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let resp = app
        .post_json(
            Some(&cast.other_applicant.token),
            &format!("/api/v1/applications/{}/withdraw", drafts[1]),
            &json!({"reason": "Projet reporté à l'an prochain."}),
        )
        .await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let rows = assert_exact(&app, "a review started and a withdrawal").await;
    assert_eq!(rows[&(call_id.clone(), "under_review".into())], 1);
    assert_eq!(rows[&(call_id.clone(), "withdrawn".into())], 1);
    assert!(!rows.contains_key(&(call_id.clone(), "submitted".into())));

    // Rows written straight to the table, as the bulk seed does, and one moved between
    // calls and states by hand: the triggers see them too.
    let (c1, c2) = (call_id.clone(), other_call_id.clone());
    let applicant = cast.applicant.id.clone();
    let written: Vec<String> = app
        .db
        .run(move |conn| {
            use diesel::prelude::*;
            use essor::db::applications::{ApplicationRow, insert};
            use essor::db::schema::applications as a;
            let now = chrono::Utc::now().naive_utc();
            let mut ids = Vec::new();
            for i in 0..7 {
                let id = uuid::Uuid::now_v7().to_string();
                insert(
                    conn,
                    &ApplicationRow {
                        id: ApplicationId::parse(&id).unwrap(),
                        reference: format!("EA-2026-{:05}", 800 + i),
                        call_id: CallId::parse(if i < 5 { &c1 } else { &c2 }).unwrap(),
                        applicant_id: UserId::parse(&applicant).unwrap(),
                        state: if i % 2 == 0 { "submitted" } else { "draft" }
                            .parse()
                            .unwrap(),
                        version: 1,
                        body: "{}".into(),
                        organisation_name: "Écume".into(),
                        project_title: "Recyclerie".into(),
                        requested_cents: Cents::new(100_000).unwrap(),
                        eligibility: None,
                        eligibility_verdict: None,
                        awarded_cents: None,
                        decision_motivation: None,
                        committee_date: None,
                        decision_reference: None,
                        created_at: now,
                        updated_at: now,
                        submitted_at: (i % 2 == 0).then_some(now),
                        decided_at: None,
                        org_key: None,
                        search_text: Some("ecume recyclerie".into()),
                        commune_insee: Some("59350".into()),
                    },
                )?;
                ids.push(id);
            }
            diesel::update(a::table.find(&ids[0]))
                .set((a::call_id.eq(&c2), a::state.eq("rejected")))
                .execute(conn)?;
            // A write that changes neither the call nor the state leaves the counters alone.
            diesel::update(a::table.find(&ids[1]))
                .set(a::project_title.eq("Ressourcerie"))
                .execute(conn)?;
            Ok(ids)
        })
        .await
        .unwrap();
    assert_exact(&app, "rows written straight to the table").await;

    // What the API says: the totals from the counters are the rows the pages hold, for one
    // state, several, every state, and with a search (counted over the rows instead).
    for states in [
        "submitted",
        "submitted,draft",
        "",
        "under_review,withdrawn,rejected",
    ] {
        let (total, seen) = listed(&app, staff, &call_id, states).await;
        assert_eq!(total as usize, seen, "state={states}");
    }
    let rows = counted_rows(&app).await;
    let (total, _) = listed(&app, staff, &call_id, "submitted,draft").await;
    assert_eq!(
        total,
        rows.get(&(call_id.clone(), "submitted".into()))
            .copied()
            .unwrap_or(0)
            + rows
                .get(&(call_id.clone(), "draft".into()))
                .copied()
                .unwrap_or(0)
    );
    let searched: Value = app
        .get_as(
            staff,
            &format!("/api/v1/applications?call_id={call_id}&q=ecume&per_page=100"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        searched["total"].as_i64().unwrap(),
        searched["items"].as_array().unwrap().len() as i64
    );

    // The dashboard's figures per state are the counters.
    let c = call_id.clone();
    let by_state: BTreeMap<String, i64> = app
        .db
        .run(move |conn| {
            Ok(essor::db::applications::counts_by_state(
                conn,
                &CallId::parse(&c).unwrap(),
            )?)
        })
        .await
        .unwrap()
        .into_iter()
        .map(|(state, n)| (state.as_str().to_owned(), n))
        .collect();
    let expected: BTreeMap<String, i64> = rows
        .iter()
        .filter(|((c, _), _)| *c == call_id)
        .map(|((_, s), n)| (s.clone(), *n))
        .collect();
    assert_eq!(by_state, expected);

    // The retention's deletion of drafts.
    let mut gone: Vec<ApplicationId> = written
        .iter()
        .skip(1)
        .step_by(2)
        .map(|id| ApplicationId::parse(id).unwrap())
        .collect();
    gone.push(ApplicationId::parse(&drafts[2]).unwrap());
    app.db
        .run(move |conn| essor::services::retention::delete_applications(conn, &gone))
        .await
        .unwrap();
    let rows = assert_exact(&app, "the retention's deletion").await;
    assert!(!rows.contains_key(&(other_call_id.clone(), "draft".into())));
}

//! Keyset paging (issue 19): `next_cursor` / `prev_cursor` and the `Link` header lead through a
//! list without reading the rows skipped; the pages they give are the pages `page=` gives.

use std::collections::HashSet;

use chrono::{Duration, NaiveDateTime};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Cast, TestApp, assert_problem};

both_backends!(
    every_order_walks_the_same_rows_by_cursor_as_by_page,
    cursors_never_reach_rows_the_caller_may_not_see,
    garbled_or_foreign_cursors_are_refused_in_french,
    the_other_lists_follow_cursors_too,
);

const ORDERS: [&str; 10] = [
    "-created_at",
    "created_at",
    "reference",
    "-reference",
    "organisation_name",
    "-organisation_name",
    "requested_cents",
    "-requested_cents",
    "submitted_at",
    "-submitted_at",
];

/// Rows written straight to the database, so that sort keys tie: created three per instant
/// (to the microsecond), four names, three amounts, submission dates shared by several and
/// missing (drafts) for a quarter. Rows of another call, withdrawn ones and the other
/// applicant's are there too.
async fn seed(app: &TestApp, cast: &Cast, call_id: &str, other_call_id: &str) -> Vec<String> {
    let applicant = cast.applicant.id.clone();
    let other = cast.other_applicant.id.clone();
    let (call_id, other_call_id) = (call_id.to_owned(), other_call_id.to_owned());
    app.db
        .run(move |conn| {
            use essor::db::applications::{ApplicationRow, insert};
            let base: NaiveDateTime = "2026-03-02T09:15:00.123456".parse().unwrap();
            let names = ["Alpha", "Beta", "Gamma", "Delta"];
            let mut ids = Vec::new();
            for i in 0..47i64 {
                let id = uuid::Uuid::now_v7().to_string();
                let (call, state) = match i % 12 {
                    7 => (other_call_id.clone(), "submitted"),
                    11 => (call_id.clone(), "withdrawn"),
                    _ if i % 4 == 0 => (call_id.clone(), "draft"),
                    _ => (call_id.clone(), "submitted"),
                };
                let owner = if i % 5 == 3 { &other } else { &applicant };
                let created = base + Duration::seconds(i / 3);
                let submitted = (state != "draft").then(|| base + Duration::minutes(10 + (i % 5)));
                let row = ApplicationRow {
                    id: essor::domain::ids::ApplicationId::parse(&id).unwrap(),
                    reference: format!("EA-2026-{:05}", 900 + (i * 7) % 47),
                    call_id: essor::domain::ids::CallId::parse(&call).unwrap(),
                    applicant_id: essor::domain::ids::UserId::parse(owner).unwrap(),
                    state: state.parse().unwrap(),
                    version: 1,
                    body: "{}".into(),
                    organisation_name: names[(i % 4) as usize].into(),
                    project_title: "Recyclerie".into(),
                    requested_cents: essor::domain::money::Cents::new(
                        [100_000, 250_000, 2_000_000][(i % 3) as usize],
                    )
                    .unwrap(),
                    eligibility: None,
                    eligibility_verdict: None,
                    awarded_cents: None,
                    decision_motivation: None,
                    committee_date: None,
                    decision_reference: None,
                    created_at: created,
                    updated_at: created,
                    submitted_at: submitted,
                    decided_at: None,
                    org_key: Some(format!("siret:{i:014}")),
                    search_text: Some(format!("recyclerie {}", names[(i % 4) as usize])),
                    commune_insee: Some("59009".into()),
                };
                insert(conn, &row)?;
                ids.push(id);
            }
            Ok(ids)
        })
        .await
        .unwrap()
}

struct Answer {
    page: Value,
    link: Option<String>,
}

async fn get_page(app: &TestApp, token: &str, path: &str) -> Answer {
    let resp = app.get_as(token, path).await;
    assert_eq!(resp.status(), 200, "{path}");
    let link = resp
        .headers()
        .get("link")
        .map(|v| v.to_str().unwrap().to_owned());
    Answer {
        page: resp.json().await.unwrap(),
        link,
    }
}

fn ids_of(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The URL of `rel` in a `Link` header.
fn link_of(link: Option<&str>, rel: &str) -> Option<String> {
    link?.split(", ").find_map(|part| {
        let (url, params) = part.split_once(">; ")?;
        (params == format!("rel=\"{rel}\"")).then(|| url.trim_start_matches('<').to_owned())
    })
}

fn query_pairs(url: &str) -> Vec<(String, String)> {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

/// Checks a page's `Link` against its cursors: the request's own path and parameters, `page`
/// gone, `cursor` set.
fn check_links(request: &str, answer: &Answer) {
    let path = request.split('?').next().unwrap();
    let kept: Vec<(String, String)> = query_pairs(request)
        .into_iter()
        .filter(|(k, _)| k != "page" && k != "cursor")
        .collect();
    for (rel, field) in [("next", "next_cursor"), ("prev", "prev_cursor")] {
        let url = link_of(answer.link.as_deref(), rel);
        match answer.page[field].as_str() {
            None => assert!(url.is_none(), "{request}: {rel} without {field}"),
            Some(cursor) => {
                let url = url.unwrap_or_else(|| panic!("{request}: no rel={rel}"));
                assert!(url.starts_with(&format!("{path}?")), "{url}");
                let mut expected = kept.clone();
                expected.push(("cursor".into(), cursor.to_owned()));
                assert_eq!(query_pairs(&url), expected, "{rel} of {request}");
            }
        }
    }
}

/// Every page by number, then by following `next_cursor` (through the `Link` header) from the
/// first, then back by `prev_cursor` from the last: the same rows in the same pages.
async fn walk(app: &TestApp, token: &str, list: &str, query: &str, per_page: u32) -> Vec<String> {
    let first = get_page(app, token, &format!("{list}?{query}&per_page={per_page}")).await;
    let total = first.page["total"].as_i64().unwrap();
    let last = ((total + i64::from(per_page) - 1) / i64::from(per_page)).max(1);
    let mut by_number = Vec::new();
    for n in 1..=last {
        let path = format!("{list}?{query}&per_page={per_page}&page={n}");
        let answer = get_page(app, token, &path).await;
        check_links(&path, &answer);
        assert_eq!(answer.page["page"], n);
        assert_eq!(answer.page["total"], total);
        assert_eq!(
            answer.page.get("next_cursor").is_some(),
            n < last,
            "{path}: next_cursor only before the last page"
        );
        assert_eq!(answer.page.get("prev_cursor").is_some(), n > 1 && total > 0);
        by_number.push(ids_of(&answer.page));
    }
    let mut by_cursor = Vec::new();
    let mut path = format!("{list}?{query}&per_page={per_page}");
    let last_page;
    loop {
        let answer = get_page(app, token, &path).await;
        check_links(&path, &answer);
        assert_eq!(answer.page["page"], by_cursor.len() + 1, "{path}");
        assert_eq!(answer.page["total"], total);
        by_cursor.push(ids_of(&answer.page));
        match link_of(answer.link.as_deref(), "next") {
            Some(next) => path = next,
            None => {
                last_page = answer;
                break;
            }
        }
        assert!(
            by_cursor.len() <= by_number.len(),
            "{list}?{query}: endless"
        );
    }
    assert_eq!(by_cursor, by_number, "{list}?{query}: pages by cursor");
    // Backwards from the last page.
    let mut backwards = vec![ids_of(&last_page.page)];
    let mut answer = last_page;
    while let Some(prev) = answer.page["prev_cursor"].as_str() {
        let path = format!("{list}?{query}&per_page={per_page}&cursor={prev}");
        answer = get_page(app, token, &path).await;
        assert_eq!(answer.page["page"], by_number.len() - backwards.len());
        backwards.push(ids_of(&answer.page));
        assert!(
            backwards.len() <= by_number.len(),
            "{list}?{query}: endless"
        );
    }
    backwards.reverse();
    assert_eq!(backwards, by_number, "{list}?{query}: pages by prev_cursor");
    let all: Vec<String> = by_number.concat();
    assert_eq!(all.len() as i64, total, "{list}?{query}");
    assert_eq!(
        all.iter().collect::<HashSet<_>>().len(),
        all.len(),
        "{list}?{query}: a row twice"
    );
    all
}

async fn every_order_walks_the_same_rows_by_cursor_as_by_page(app: TestApp) {
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    let call = app.published_call(staff, json!({})).await;
    let other_call = app.published_call(staff, json!({})).await;
    let call_id = call["id"].as_str().unwrap();
    let ids = seed(&app, &cast, call_id, other_call["id"].as_str().unwrap()).await;
    let expected: HashSet<&String> = ids
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 12 != 7 && i % 12 != 11)
        .map(|(_, id)| id)
        .collect();
    for order in ORDERS {
        let query = format!("call_id={call_id}&state=draft,submitted&sort={order}");
        let all = walk(&app, staff, "/api/v1/applications", &query, 4).await;
        assert_eq!(
            all.iter().collect::<HashSet<_>>(),
            expected,
            "sort={order}: every row once"
        );
        // The keys really are in order (numbers and dates; names depend on the collation).
        let page = get_page(
            &app,
            staff,
            &format!("/api/v1/applications?{query}&per_page=100"),
        )
        .await
        .page;
        let items = page["items"].as_array().unwrap();
        assert_eq!(
            items
                .iter()
                .map(|i| i["id"].as_str().unwrap())
                .collect::<Vec<_>>(),
            all,
            "sort={order}: one page of 100"
        );
        let field = order.trim_start_matches('-');
        if field == "requested_cents" || field == "created_at" || field == "submitted_at" {
            let keys: Vec<(bool, String)> = items
                .iter()
                .map(|i| (i[field].is_null(), i[field].to_string()))
                .collect();
            let mut sorted = keys.clone();
            sorted.sort_by(|a, b| {
                a.0.cmp(&b.0).then_with(|| {
                    let by = a.1.len().cmp(&b.1.len()).then(a.1.cmp(&b.1));
                    if order.starts_with('-') {
                        by.reverse()
                    } else {
                        by
                    }
                })
            });
            assert_eq!(keys, sorted, "sort={order}");
        }
        // The last page by number is the last page by cursor (read from the end).
        let total = page["total"].as_i64().unwrap();
        let last = (total + 3) / 4;
        let by_number = get_page(
            &app,
            staff,
            &format!("/api/v1/applications?{query}&per_page=4&page={last}"),
        )
        .await
        .page;
        assert_eq!(
            ids_of(&by_number),
            all[((last - 1) * 4) as usize..].to_vec(),
            "sort={order}: last page"
        );
    }
    // Past the end: an empty page, no cursor.
    let past = get_page(
        &app,
        staff,
        &format!("/api/v1/applications?call_id={call_id}&per_page=4&page=99"),
    )
    .await;
    assert!(ids_of(&past.page).is_empty());
    assert!(past.page.get("next_cursor").is_none() && past.link.is_none());
}

async fn cursors_never_reach_rows_the_caller_may_not_see(app: TestApp) {
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    let call = app.published_call(staff, json!({})).await;
    let other_call = app.published_call(staff, json!({})).await;
    let call_id = call["id"].as_str().unwrap();
    let ids = seed(&app, &cast, call_id, other_call["id"].as_str().unwrap()).await;
    let own: HashSet<&String> = ids
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 5 != 3)
        .map(|(_, id)| id)
        .collect();
    for order in ["-created_at", "organisation_name", "-submitted_at"] {
        let all = walk(
            &app,
            &cast.applicant.token,
            "/api/v1/applications",
            &format!("sort={order}"),
            5,
        )
        .await;
        assert_eq!(all.iter().collect::<HashSet<_>>(), own, "sort={order}");
        // A cursor staff were given, naming another applicant's row: the applicant still
        // reads only their own rows from there.
        let staff_page = get_page(
            &app,
            staff,
            &format!("/api/v1/applications?sort={order}&per_page=4"),
        )
        .await
        .page;
        let cursor = staff_page["next_cursor"].as_str().unwrap();
        let mut path = format!("/api/v1/applications?sort={order}&per_page=4&cursor={cursor}");
        loop {
            let answer = get_page(&app, &cast.applicant.token, &path).await;
            for id in ids_of(&answer.page) {
                assert!(
                    own.contains(&id),
                    "sort={order}: {id} is not the applicant's"
                );
            }
            match link_of(answer.link.as_deref(), "next") {
                Some(next) => path = next,
                None => break,
            }
        }
    }
    // The other applicant's walk is theirs only.
    let theirs = walk(
        &app,
        &cast.other_applicant.token,
        "/api/v1/applications",
        "sort=-requested_cents",
        3,
    )
    .await;
    assert!(theirs.iter().all(|id| !own.contains(id)));
    assert_eq!(theirs.len(), ids.len() - own.len());
}

async fn garbled_or_foreign_cursors_are_refused_in_french(app: TestApp) {
    use base64::Engine;
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    let call = app.published_call(staff, json!({})).await;
    let other_call = app.published_call(staff, json!({})).await;
    let call_id = call["id"].as_str().unwrap();
    seed(&app, &cast, call_id, other_call["id"].as_str().unwrap()).await;
    let next = |page: Value| page["next_cursor"].as_str().unwrap().to_owned();
    let by_reference = next(
        get_page(
            &app,
            staff,
            "/api/v1/applications?sort=reference&per_page=3",
        )
        .await
        .page,
    );
    let of_users = next(
        get_page(&app, &cast.admin.token, "/api/v1/users?per_page=2")
            .await
            .page,
    );
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let before = app.count("applications").await;
    let cases: Vec<(String, &str)> = vec![
        ("cursor=abc$".into(), "« cursor »"),
        ("cursor=bm90IGpzb24".into(), "« cursor »"),
        (
            format!("cursor={}", &by_reference[..by_reference.len() - 5]),
            "« cursor »",
        ),
        (
            format!(
                "cursor={}",
                b64(r#"{"s":"applications:-created_at","p":2,"d":"after","k":42,"i":"x"}"#)
            ),
            "« cursor »",
        ),
        (
            format!(
                "cursor={}",
                b64(r#"{"s":"applications:-created_at","p":0,"d":"after","k":null,"i":"x"}"#)
            ),
            "« cursor »",
        ),
        // Another order's, another list's.
        (format!("sort=-created_at&cursor={by_reference}"), "autre"),
        (format!("cursor={of_users}"), "autre"),
        // A page and a cursor.
        (
            format!("sort=reference&page=2&cursor={by_reference}"),
            "« page » et « cursor »",
        ),
        // per_page still checked.
        (
            format!("sort=reference&per_page=500&cursor={by_reference}"),
            "« per_page »",
        ),
    ];
    for (query, said) in cases {
        let problem = assert_problem(
            app.get_as(staff, &format!("/api/v1/applications?{query}"))
                .await,
            400,
        )
        .await;
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains(said), "{query}: {detail}");
        assert!(detail.contains("Paramètre"), "{query}: in French: {detail}");
    }
    // The same on the other lists.
    for (token, list) in [
        (&cast.admin.token, "/api/v1/users"),
        (staff, "/api/v1/admin/outbox"),
        (staff, "/api/v1/assignments"),
        (staff, "/api/v1/calls"),
    ] {
        for query in ["cursor=%21%21".to_owned(), format!("cursor={by_reference}")] {
            let problem =
                assert_problem(app.get_as(token, &format!("{list}?{query}")).await, 400).await;
            assert!(problem["detail"].as_str().unwrap().contains("« cursor »"));
        }
    }
    // The ranking is numbered only.
    let ranking = app
        .get_as(
            staff,
            &format!("/api/v1/calls/{call_id}/ranking?per_page=2"),
        )
        .await;
    assert_eq!(ranking.status(), 200);
    let ranking: Value = ranking.json().await.unwrap();
    assert!(ranking.get("next_cursor").is_none());
    assert_eq!(app.count("applications").await, before, "nothing changed");
}

async fn the_other_lists_follow_cursors_too(app: TestApp) {
    use essor::domain::account::Role;
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    for i in 0..5 {
        app.account(Role::Reviewer, &format!("expert{i}@exemple.fr"))
            .await;
    }
    for _ in 0..4 {
        app.published_call(staff, json!({})).await;
    }
    let call = app.published_call(staff, json!({})).await;
    let other_call = app.draft_call(staff, json!({})).await;
    let ids = seed(
        &app,
        &cast,
        call["id"].as_str().unwrap(),
        other_call["id"].as_str().unwrap(),
    )
    .await;
    // Assignments written straight too, several at the same instant.
    let reviewers = [cast.reviewer.id.clone(), cast.spare_reviewer.id.clone()];
    let staff_id = cast.staff.id.clone();
    app.db
        .run(move |conn| {
            use essor::db::assignments::{AssignmentRow, insert};
            let at: NaiveDateTime = "2026-03-05T10:00:00.5".parse().unwrap();
            for (i, application_id) in ids.iter().enumerate().take(23) {
                insert(
                    conn,
                    &AssignmentRow {
                        id: essor::domain::ids::AssignmentId::new(),
                        application_id: essor::domain::ids::ApplicationId::parse(application_id)
                            .unwrap(),
                        reviewer_id: essor::domain::ids::UserId::parse(&reviewers[i % 2]).unwrap(),
                        status: essor::domain::assignment::AssignmentStatus::Pending,
                        statement: None,
                        recusal_reason: None,
                        assigned_by: staff_id.clone(),
                        assigned_at: at + Duration::seconds((i / 4) as i64),
                        responded_at: None,
                    },
                )?;
            }
            Ok(())
        })
        .await
        .unwrap();
    let users = walk(&app, &cast.admin.token, "/api/v1/users", "role=reviewer", 2).await;
    assert_eq!(users.len(), 7);
    let all_users = walk(&app, &cast.admin.token, "/api/v1/users", "x=1", 3).await;
    assert_eq!(all_users.len(), 11);
    let calls = walk(&app, staff, "/api/v1/calls", "x=1", 2).await;
    assert_eq!(calls.len(), 6);
    let assigned = walk(&app, staff, "/api/v1/assignments", "x=1", 4).await;
    assert_eq!(assigned.len(), 23);
    let mine = walk(&app, &cast.reviewer.token, "/api/v1/assignments", "x=1", 5).await;
    assert_eq!(mine.len(), 12);
    let total_outbox = app.count("outbox").await;
    let outbox = walk(&app, staff, "/api/v1/admin/outbox", "x=1", 2).await;
    assert_eq!(outbox.len() as i64, total_outbox);
}

//! The agents' search (issue 17, « the agents' tools »): `GET /applications?q=` finds a
//! reference, a SIRET, an RNA number or part of a name, case and accents ignored; `state=`
//! takes a comma-separated list; `commune=` and `sort=` narrow and order the list.

use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{TestApp, assert_problem, sample_application};

both_backends!(
    search_finds_references_sirets_rna_and_names_ignoring_case_and_accents,
    state_takes_a_list_and_commune_and_sort_narrow_and_order,
    search_text_of_older_rows_is_filled_at_start_up,
);

/// A SIRET with a valid Luhn key, from a 13-digit stem.
pub fn siret(stem: u64) -> String {
    let base = format!("{stem:013}");
    (0..10)
        .map(|c| format!("{base}{c}"))
        .find(|s| essor::domain::identifiers::Siret::parse(s).is_ok())
        .unwrap()
}

pub struct Filed {
    pub reference: String,
}

/// An application with this organisation, submitted unless `draft`.
pub async fn file(
    app: &TestApp,
    applicant: &str,
    call_id: &str,
    org: Value,
    requested_cents: i64,
    draft: bool,
) -> Filed {
    let mut body = sample_application();
    essor::input::merge_patch(&mut body["organisation"], &org);
    body["project"]["requested_cents"] = json!(requested_cents);
    let created = app.draft_application(applicant, call_id, &body).await;
    let id = created["id"].as_str().unwrap().to_owned();
    if !draft {
        app.attach_required(applicant, &id).await;
        let resp = app
            .post_json(
                Some(applicant),
                &format!("/api/v1/applications/{id}/submit"),
                &json!({}),
            )
            .await;
        assert_eq!(resp.status(), 200, "submit");
    }
    Filed {
        reference: created["reference"].as_str().unwrap().to_owned(),
    }
}

/// Three applications of one call: the Ateliers (Villeneuve-d'Ascq, submitted), « Économie
/// Circulaire Roubaisienne » (Roubaix, no RNA, submitted), « Café Solidaire » (Lille, draft).
pub async fn three(app: &TestApp, applicant: &str, call_id: &str) -> [Filed; 3] {
    let a = file(
        app,
        applicant,
        call_id,
        json!({"name": "Les Ateliers du Sart", "siret": siret(7_328_293_200_007), "rna": "W595012345", "commune_insee": "59009", "postal_code": "59650"}),
        2_000_000,
        false,
    )
    .await;
    let b = file(
        app,
        applicant,
        call_id,
        json!({"name": "Économie Circulaire Roubaisienne", "siret": siret(4_420_000_100_001), "rna": null, "commune_insee": "59512", "postal_code": "59100"}),
        1_500_000,
        false,
    )
    .await;
    let c = file(
        app,
        applicant,
        call_id,
        json!({"name": "Café Solidaire", "siret": siret(5_510_000_200_002), "rna": "W591111111", "commune_insee": "59350", "postal_code": "59000"}),
        900_000,
        true,
    )
    .await;
    [a, b, c]
}

async fn refs(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    let resp = app
        .get_as(token, &format!("/api/v1/applications?{query}"))
        .await;
    assert_eq!(resp.status(), 200, "{query}");
    let page: Value = resp.json().await.unwrap();
    let items = page["items"].as_array().unwrap();
    assert_eq!(page["total"], items.len(), "{query}: one page");
    items
        .iter()
        .map(|i| i["reference"].as_str().unwrap().to_owned())
        .collect()
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn search_finds_references_sirets_rna_and_names_ignoring_case_and_accents(app: TestApp) {
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    let call = app.published_call(staff, json!({})).await;
    let call_id = call["id"].as_str().unwrap();
    let [a, b, c] = three(&app, &cast.applicant.token, call_id).await;
    let b_siret = siret(4_420_000_100_001);
    let spaced = format!(
        "{} {} {} {}",
        &b_siret[..3],
        &b_siret[3..6],
        &b_siret[6..9],
        &b_siret[9..]
    );
    let cases: Vec<(String, Vec<&str>)> = vec![
        ("ateliers".into(), vec![a.reference.as_str()]),
        ("ATELIERS DU SART".into(), vec![a.reference.as_str()]),
        ("economie circulaire".into(), vec![b.reference.as_str()]),
        ("ÉCONOMIE".into(), vec![b.reference.as_str()]),
        ("cafe".into(), vec![c.reference.as_str()]),
        (b_siret.clone(), vec![b.reference.as_str()]),
        (spaced, vec![b.reference.as_str()]),
        (b_siret[..9].to_owned(), vec![b.reference.as_str()]),
        ("w595012345".into(), vec![a.reference.as_str()]),
        ("W591111111".into(), vec![c.reference.as_str()]),
        (c.reference.to_lowercase(), vec![c.reference.as_str()]),
        // The project's title is searched too (all three share the sample's).
        (
            "recyclerie".into(),
            vec![
                c.reference.as_str(),
                b.reference.as_str(),
                a.reference.as_str(),
            ],
        ),
        // LIKE's wildcards are plain characters here.
        ("%".into(), vec![]),
        ("_".into(), vec![]),
        ("nulle part".into(), vec![]),
        // Blank: no filter.
        (
            "  ".into(),
            vec![
                c.reference.as_str(),
                b.reference.as_str(),
                a.reference.as_str(),
            ],
        ),
    ];
    for (q, expected) in cases {
        let found = refs(&app, staff, &format!("q={}&call_id={call_id}", enc(&q))).await;
        assert_eq!(found, expected, "q={q:?}");
    }
    // An applicant's search stays inside their own applications.
    assert!(
        refs(&app, &cast.other_applicant.token, "q=ateliers")
            .await
            .is_empty()
    );
    assert_eq!(
        refs(&app, &cast.applicant.token, "q=ateliers").await,
        vec![a.reference.clone()]
    );
    let long = "a".repeat(101);
    let problem = assert_problem(
        app.get_as(staff, &format!("/api/v1/applications?q={long}"))
            .await,
        400,
    )
    .await;
    assert!(problem["detail"].as_str().unwrap().contains("« q »"));
}

async fn state_takes_a_list_and_commune_and_sort_narrow_and_order(app: TestApp) {
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    let call = app.published_call(staff, json!({})).await;
    let call_id = call["id"].as_str().unwrap();
    let [a, b, c] = three(&app, &cast.applicant.token, call_id).await;
    let q = |s: &str| format!("call_id={call_id}&{s}");
    assert_eq!(
        refs(&app, staff, &q("state=submitted")).await,
        [b.reference.as_str(), a.reference.as_str()]
    );
    assert_eq!(
        refs(&app, staff, &q("state=submitted,draft")).await,
        [
            c.reference.as_str(),
            b.reference.as_str(),
            a.reference.as_str()
        ]
    );
    assert_eq!(
        refs(&app, staff, &q("state=draft,%20draft")).await,
        [c.reference.as_str()]
    );
    assert_eq!(
        refs(&app, staff, &q("state=under_review,accepted")).await,
        Vec::<&str>::new()
    );
    assert_eq!(
        refs(&app, staff, &q("commune=59512")).await,
        [b.reference.as_str()]
    );
    assert_eq!(
        refs(&app, staff, &q("commune=59512&q=ateliers")).await,
        Vec::<&str>::new()
    );
    assert_eq!(
        refs(&app, staff, &q("sort=-requested_cents")).await,
        [
            a.reference.as_str(),
            b.reference.as_str(),
            c.reference.as_str()
        ]
    );
    assert_eq!(
        refs(&app, staff, &q("sort=requested_cents")).await,
        [
            c.reference.as_str(),
            b.reference.as_str(),
            a.reference.as_str()
        ]
    );
    // Names as typed: « Café » first; where « Économie » falls depends on the collation.
    let by_name = refs(&app, staff, &q("sort=organisation_name")).await;
    assert_eq!(by_name[0], c.reference);
    let mut reversed = refs(&app, staff, &q("sort=-organisation_name")).await;
    reversed.reverse();
    assert_eq!(by_name, reversed);
    assert_eq!(
        refs(&app, staff, &q("sort=reference")).await,
        [
            a.reference.as_str(),
            b.reference.as_str(),
            c.reference.as_str()
        ]
    );
    // Drafts (never submitted) come last whichever way.
    assert_eq!(
        refs(&app, staff, &q("sort=-submitted_at")).await,
        [
            b.reference.as_str(),
            a.reference.as_str(),
            c.reference.as_str()
        ]
    );
    assert_eq!(
        refs(&app, staff, &q("sort=submitted_at")).await,
        [
            a.reference.as_str(),
            b.reference.as_str(),
            c.reference.as_str()
        ]
    );
    for (bad, field) in [
        ("state=submitted,bogus", "« state »"),
        ("commune=Lille", "« commune »"),
        ("sort=score", "« sort »"),
    ] {
        let problem = assert_problem(
            app.get_as(staff, &format!("/api/v1/applications?{bad}"))
                .await,
            400,
        )
        .await;
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains(field), "{bad}: {detail}");
    }
}

/// Rows written before the search columns existed are filled when essor starts (the same
/// function runs after the migrations).
async fn search_text_of_older_rows_is_filled_at_start_up(app: TestApp) {
    use diesel::RunQueryDsl;
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    let call = app.published_call(staff, json!({})).await;
    let call_id = call["id"].as_str().unwrap();
    let [a, _, _] = three(&app, &cast.applicant.token, call_id).await;
    app.db
        .run(|conn| {
            diesel::sql_query("UPDATE applications SET search_text = NULL, commune_insee = NULL")
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    assert!(refs(&app, staff, "q=ateliers").await.is_empty());
    let filled = app
        .db
        .run(|conn| Ok(essor::db::applications::backfill_search(conn)?))
        .await
        .unwrap();
    assert_eq!(filled, 3);
    assert_eq!(
        refs(&app, staff, "q=ateliers").await,
        [a.reference.as_str()]
    );
    assert_eq!(
        refs(&app, staff, "commune=59009").await,
        [a.reference.as_str()]
    );
}

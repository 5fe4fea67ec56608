//! `GET /api/v1/calls/{id}/export`: CSV (both dialects), XLSX read back with calamine, JSON,
//! the SCDL file checked against the schema's own constraints, filters and refusals.
//!
//! Everything is seeded through the API (submission, review, decision) by the one [`Seed`]
//! helper, but for two direct writes: the instant a decision was recorded (the service stamps
//! the current time; the date filters need known instants) and the thousands of copies the
//! paging test needs.

use std::collections::HashMap;
use std::io::Cursor;

use calamine::{Data, DataType, Reader, Xlsx};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use essor::db::schema::applications;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Account, Cast, TestApp, assert_problem, sample_application};

both_backends!(
    csv_has_a_line_per_application_with_scores_and_decisions,
    excel_fr_dialect_suits_french_excel,
    json_is_an_array_with_the_csv_fields,
    xlsx_has_an_applications_sheet_and_a_reviews_sheet,
    scdl_file_meets_the_schema,
    filters_select_by_state_and_decision_day,
    exports_page_through_more_than_a_chunk,
    an_empty_call_exports_headers_only,
    only_staff_export_and_bad_requests_are_refused,
);

// ---------------------------------------------------------------------------------------------
// Seeding

/// The applications of [`Seed::world`].
struct World {
    cast: Cast,
    call_id: String,
    /// Accepted, two reviews (favorable 82, reserved 58), 15 000,50 € awarded.
    accepted: Value,
    /// Rejected, no SIRET, a title full of separators, a formula-like name; reviews 20 and 100.
    rejected: Value,
    /// Under review: one submitted review (60) and one draft.
    under_review: Value,
    /// Submitted, no review.
    submitted: Value,
    /// Draft.
    draft: Value,
}

/// Everything the tests put in the database themselves, in one place.
struct Seed<'a> {
    app: &'a TestApp,
}

fn dt(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

impl<'a> Seed<'a> {
    /// A submitted application with `tweak` applied to the sample body.
    async fn submitted(&self, applicant: &str, call_id: &str, tweak: impl Fn(&mut Value)) -> Value {
        let mut body = sample_application();
        tweak(&mut body);
        let draft = self.app.draft_application(applicant, call_id, &body).await;
        let id = draft["id"].as_str().unwrap();
        self.app.attach_required(applicant, id).await;
        let resp = self
            .app
            .post_json(
                Some(applicant),
                &format!("/api/v1/applications/{id}/submit"),
                &json!({}),
            )
            .await;
        assert_eq!(resp.status(), 200, "submit: {}", resp.text().await.unwrap());
        resp.json().await.unwrap()
    }

    /// Starts the review; returns each reviewer's assignment id.
    async fn start_review(&self, staff: &str, id: &str, reviewers: &[&Account]) -> Vec<String> {
        self.app.start_review(staff, id, reviewers).await
    }

    /// A review on the default grid (social_utility, territorial_anchoring, governance,
    /// economic_viability, jobs; each out of 5): the reviewer accepts the assignment, saves the
    /// review and, if `submitted`, submits it.
    async fn review(
        &self,
        reviewer: &Account,
        assignment_id: &str,
        points: [i64; 5],
        recommendation: &str,
        submitted: bool,
    ) {
        let app = self.app;
        let resp = app
            .post_json(
                Some(&reviewer.token),
                &format!("/api/v1/assignments/{assignment_id}/accept"),
                &json!({"statement": "Aucun conflit d'intérêts."}),
            )
            .await;
        assert_eq!(resp.status(), 200, "accept: {}", resp.text().await.unwrap());
        let mut body = crate::helpers::review_body(points, recommendation);
        body["comment"] = "Projet ancré dans le quartier, modèle à consolider.".into();
        let resp = app
            .client
            .put(app.url(&format!("/api/v1/assignments/{assignment_id}/review")))
            .bearer_auth(&reviewer.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.status(),
            200,
            "save review: {}",
            resp.text().await.unwrap()
        );
        if submitted {
            let resp = app
                .post_json(
                    Some(&reviewer.token),
                    &format!("/api/v1/assignments/{assignment_id}/review/submit"),
                    &json!({}),
                )
                .await;
            assert_eq!(
                resp.status(),
                200,
                "submit review: {}",
                resp.text().await.unwrap()
            );
        }
    }

    /// Two submitted, favorable reviews (the call's `min_reviews`).
    async fn reviewed_twice(&self, cast: &Cast, id: &str) {
        let (r1, r2) = (&cast.reviewer, &cast.spare_reviewer);
        let assignments = self.start_review(&cast.staff.token, id, &[r1, r2]).await;
        for (reviewer, assignment) in [r1, r2].into_iter().zip(&assignments) {
            self.review(reviewer, assignment, [4, 4, 4, 4, 4], "favorable", true)
                .await;
        }
    }

    /// The committee's decision through the API, then its recorded instant set to
    /// `decided_at_utc` (the service stamps the current time).
    #[allow(clippy::too_many_arguments)]
    async fn decide(
        &self,
        staff: &str,
        id: &str,
        outcome: &str,
        awarded_cents: Option<i64>,
        committee_date: &str,
        decision_reference: Option<&str>,
        motivation: &str,
        decided_at_utc: &str,
    ) {
        let resp = self
            .app
            .post_json(
                Some(staff),
                &format!("/api/v1/applications/{id}/decision"),
                &json!({
                    "outcome": outcome, "awarded_cents": awarded_cents,
                    "motivation": motivation, "committee_date": committee_date,
                    "decision_reference": decision_reference,
                }),
            )
            .await;
        assert_eq!(
            resp.status(),
            200,
            "decision: {}",
            resp.text().await.unwrap()
        );
        let id = id.to_owned();
        let decided = dt(decided_at_utc);
        let n = self
            .app
            .db
            .run(move |conn| {
                Ok(diesel::update(applications::table.find(&id))
                    .set(applications::decided_at.eq(Some(decided)))
                    .execute(conn)?)
            })
            .await
            .unwrap();
        assert_eq!(n, 1);
    }

    /// `n` copies of application `template_id`, in the database directly, `per_instant` of
    /// them sharing each creation instant (so paging must break ties on the id).
    async fn copies(&self, template_id: &str, n: usize, per_instant: usize) {
        let template_id = template_id.to_owned();
        self.app
            .db
            .run(move |conn| {
                let template = essor::db::applications::find_visible(
                    conn,
                    &essor::domain::ids::ApplicationId::parse(&template_id).unwrap(),
                    &essor::db::applications::Visibility::All,
                )?
                .expect("template");
                conn.transaction::<_, diesel::result::Error, _>(|conn| {
                    for i in 0..n {
                        let mut row = template.clone();
                        row.id = essor::domain::ids::ApplicationId::new();
                        row.reference = format!("EA-2099-{i:05}");
                        row.organisation_name = format!("Structure n° {i}");
                        // One application per structure and call: each copy its own.
                        row.org_key = Some(format!("siret:copy-{i}"));
                        row.created_at = dt("2030-01-01 00:00:00")
                            + chrono::Duration::seconds((i / per_instant) as i64);
                        essor::db::applications::insert(conn, &row)?;
                    }
                    Ok(())
                })?;
                Ok(())
            })
            .await
            .unwrap();
    }

    /// A call titled « Entreprendre autrement 2026 » holding one application in each state
    /// an export shows (and a draft).
    async fn world(&self) -> World {
        let app = self.app;
        let cast = app.cast().await;
        let staff = cast.staff.token.clone();
        let call = app
            .published_call(&staff, json!({"title": "Entreprendre autrement 2026"}))
            .await;
        let call_id = call["id"].as_str().unwrap().to_owned();
        let owner = cast.applicant.token.clone();

        // One structure per application to a call: the sample's SIRET for the accepted one
        // (the exports are checked against it), the others a SIRET or an RNA of their own.
        let accepted = self
            .submitted(&owner, &call_id, |b| {
                b["organisation"]["siret"] = "73282932000074".into();
            })
            .await;
        let rejected = self
            .submitted(&owner, &call_id, |b| {
                b["organisation"]["name"] = "=SOMME(A1:A9) Collectif".into();
                b["organisation"]["siret"] = Value::Null;
                b["organisation"]["rna"] = "W593000001".into();
                b["organisation"]["commune_insee"] = "59350".into();
                b["organisation"]["postal_code"] = "59000".into();
                b["project"]["title"] = "Cantine \"solidaire\", épicerie; ateliers".into();
                b["project"]["requested_cents"] = 1_234_567.into();
            })
            .await;
        let under_review = self
            .submitted(&owner, &call_id, |b| {
                b["organisation"]["name"] = "Coopérative Œuvre commune".into();
                b["organisation"]["legal_form"] = "cooperative".into();
                b["organisation"]["rna"] = Value::Null;
            })
            .await;
        let submitted = self
            .submitted(&owner, &call_id, |b| {
                b["organisation"]["name"] = "Fondation des Quatre Cantons".into();
                b["organisation"]["legal_form"] = "foundation".into();
            })
            .await;
        let draft = app
            .draft_application(&owner, &call_id, &sample_application())
            .await;

        let id = |v: &Value| v["id"].as_str().unwrap().to_owned();
        let (r1, r2) = (&cast.reviewer, &cast.spare_reviewer);
        let mut assignments = Vec::new();
        for v in [&accepted, &rejected, &under_review] {
            assignments.push(self.start_review(&staff, &id(v), &[r1, r2]).await);
        }
        // (application, reviewer's assignment, reviewer, points, recommendation, submitted)
        type Review<'r> = (usize, usize, &'r Account, [i64; 5], &'static str, bool);
        let reviews: [Review; 6] = [
            (0, 0, r1, [5, 4, 4, 4, 2], "favorable", true),
            (0, 1, r2, [4, 3, 3, 2, 1], "reserved", true),
            (1, 0, r1, [1, 1, 1, 1, 1], "unfavorable", true),
            (1, 1, r2, [5, 5, 5, 5, 5], "favorable", true),
            (2, 0, r1, [3, 3, 3, 3, 3], "reserved", true),
            (2, 1, r2, [0, 0, 0, 0, 0], "unfavorable", false),
        ];
        for (app_index, reviewer_index, reviewer, points, recommendation, submitted) in reviews {
            let assignment = &assignments[app_index][reviewer_index];
            self.review(reviewer, assignment, points, recommendation, submitted)
                .await;
        }
        self.decide(
            &staff,
            &id(&accepted),
            "accepted",
            Some(1_500_050),
            "2026-03-12",
            Some("DEL-2026-031"),
            "Projet solide, ancrage local avéré.",
            "2026-03-13 09:00:00",
        )
        .await;
        // 22:30 UTC on 31 March is 00:30 on 1 April in Paris (summer time).
        self.decide(
            &staff,
            &id(&rejected),
            "rejected",
            None,
            "2026-03-31",
            None,
            "-Modèle économique fragile.",
            "2026-03-31 22:30:00",
        )
        .await;
        World {
            cast,
            call_id,
            accepted,
            rejected,
            under_review,
            submitted,
            draft,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reading the answers

struct Download {
    content_type: String,
    disposition: String,
    body: Vec<u8>,
}

async fn download(app: &TestApp, token: &str, call_id: &str, query: &str) -> Download {
    let resp = app
        .get_as(token, &format!("/api/v1/calls/{call_id}/export?{query}"))
        .await;
    let status = resp.status();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let (content_type, disposition) = (header("content-type"), header("content-disposition"));
    let body = resp.bytes().await.unwrap().to_vec();
    assert_eq!(status, 200, "{query}: {}", String::from_utf8_lossy(&body));
    Download {
        content_type,
        disposition,
        body,
    }
}

/// Parses a CSV into (header, rows as column -> value).
fn parse_csv(bytes: &[u8], delimiter: u8) -> (Vec<String>, Vec<HashMap<String, String>>) {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .from_reader(bytes);
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = reader
        .records()
        .map(|r| {
            let r = r.expect("a well-formed CSV record");
            assert_eq!(r.len(), header.len(), "every record has every field");
            header
                .iter()
                .cloned()
                .zip(r.iter().map(str::to_owned))
                .collect()
        })
        .collect();
    (header, rows)
}

fn by_reference<'r>(
    rows: &'r [HashMap<String, String>],
    key: &str,
    application: &Value,
) -> &'r HashMap<String, String> {
    let reference = application["reference"].as_str().unwrap();
    rows.iter()
        .find(|r| r[key] == reference)
        .unwrap_or_else(|| panic!("{reference} is in the export"))
}

fn paris_day_of(instant: &Value) -> String {
    let t: chrono::DateTime<chrono::Utc> = instant.as_str().unwrap().parse().unwrap();
    t.with_timezone(&chrono_tz::Europe::Paris)
        .date_naive()
        .to_string()
}

fn references(rows: &[HashMap<String, String>], key: &str) -> Vec<String> {
    rows.iter().map(|r| r[key].clone()).collect()
}

fn reference(v: &Value) -> String {
    v["reference"].as_str().unwrap().to_owned()
}

// ---------------------------------------------------------------------------------------------
// Tests

async fn csv_has_a_line_per_application_with_scores_and_decisions(app: TestApp) {
    let w = Seed { app: &app }.world().await;
    let d = download(&app, &w.cast.staff.token, &w.call_id, "format=csv").await;
    assert_eq!(d.content_type, "text/csv; charset=utf-8");
    assert_eq!(
        d.disposition,
        "attachment; filename=\"entreprendre-autrement-2026-candidatures.csv\""
    );
    let text = String::from_utf8(d.body.clone()).expect("UTF-8");
    assert!(
        !text.starts_with('\u{feff}'),
        "no BOM in the RFC 4180 dialect"
    );
    assert!(text.ends_with("\r\n"), "CRLF line ends");
    // The title with `"`, `,` and `;` is quoted as RFC 4180 says.
    assert!(
        text.contains(",\"Cantine \"\"solidaire\"\", épicerie; ateliers\","),
        "{text}"
    );

    let (header, rows) = parse_csv(&d.body, b',');
    assert_eq!(
        header,
        [
            "reference",
            "organisation_name",
            "legal_form",
            "siret",
            "rna",
            "commune_insee",
            "commune_name",
            "project_title",
            "stage",
            "requested_eur",
            "awarded_eur",
            "state",
            "eligibility_verdict",
            "score",
            "spread",
            "review_count",
            "favorable_count",
            "reserved_count",
            "unfavorable_count",
            "committee_date",
            "decision_reference",
            "decision_motivation",
            "submitted_on",
            "decided_on",
            "commune_opinions",
            "registry_status",
            "registry_flags",
        ]
    );
    // Every application but the draft, in creation order.
    assert_eq!(
        references(&rows, "reference"),
        [&w.accepted, &w.rejected, &w.under_review, &w.submitted].map(reference)
    );
    assert!(!references(&rows, "reference").contains(&reference(&w.draft)));

    let a = by_reference(&rows, "reference", &w.accepted);
    let expect = |row: &HashMap<String, String>, pairs: &[(&str, &str)]| {
        for (k, v) in pairs {
            assert_eq!(row[*k], *v, "{k} of {}", row["reference"]);
        }
    };
    expect(
        a,
        &[
            ("organisation_name", "Les Ateliers du Sart"),
            ("legal_form", "association"),
            ("siret", "73282932000074"),
            ("rna", "W595012345"),
            ("commune_insee", "59009"),
            ("commune_name", "Villeneuve-d'Ascq"),
            ("project_title", "Recyclerie de quartier"),
            ("stage", "startup"),
            ("requested_eur", "20000.00"),
            ("awarded_eur", "15000.50"),
            ("state", "accepted"),
            ("eligibility_verdict", "eligible"),
            ("score", "70.00"),
            ("spread", "24.00"),
            ("review_count", "2"),
            ("favorable_count", "1"),
            ("reserved_count", "1"),
            ("unfavorable_count", "0"),
            ("committee_date", "2026-03-12"),
            ("decision_reference", "DEL-2026-031"),
            ("decision_motivation", "Projet solide, ancrage local avéré."),
            ("decided_on", "2026-03-13"),
        ],
    );
    assert_eq!(a["submitted_on"], paris_day_of(&w.accepted["submitted_at"]));

    let r = by_reference(&rows, "reference", &w.rejected);
    expect(
        r,
        &[
            ("organisation_name", "'=SOMME(A1:A9) Collectif"),
            ("siret", ""),
            ("commune_name", "Lille"),
            ("project_title", "Cantine \"solidaire\", épicerie; ateliers"),
            ("requested_eur", "12345.67"),
            ("awarded_eur", ""),
            ("state", "rejected"),
            ("score", "60.00"),
            ("spread", "80.00"),
            ("favorable_count", "1"),
            ("unfavorable_count", "1"),
            ("decision_reference", ""),
            ("decision_motivation", "'-Modèle économique fragile."),
            // Decided at 22:30 UTC on 31 March: 1 April in Paris.
            ("decided_on", "2026-04-01"),
        ],
    );

    // The draft review does not count.
    let u = by_reference(&rows, "reference", &w.under_review);
    expect(
        u,
        &[
            ("legal_form", "cooperative"),
            ("rna", ""),
            ("state", "under_review"),
            ("score", "60.00"),
            ("spread", "0.00"),
            ("review_count", "1"),
            ("reserved_count", "1"),
            ("unfavorable_count", "0"),
            ("committee_date", ""),
            ("decided_on", ""),
        ],
    );
    let s = by_reference(&rows, "reference", &w.submitted);
    expect(
        s,
        &[
            ("state", "submitted"),
            ("score", ""),
            ("spread", ""),
            ("review_count", "0"),
        ],
    );

    // No format: CSV.
    let d = download(&app, &w.cast.admin.token, &w.call_id, "").await;
    assert_eq!(d.content_type, "text/csv; charset=utf-8");
    assert_eq!(parse_csv(&d.body, b',').1.len(), 4);
}

async fn excel_fr_dialect_suits_french_excel(app: TestApp) {
    let w = Seed { app: &app }.world().await;
    let d = download(
        &app,
        &w.cast.staff.token,
        &w.call_id,
        "format=csv&dialect=excel-fr",
    )
    .await;
    assert_eq!(d.content_type, "text/csv; charset=utf-8");
    // Not the name of the programs' CSV: both can sit in one downloads folder.
    assert_eq!(
        d.disposition,
        "attachment; filename=\"entreprendre-autrement-2026-candidatures-excel.csv\""
    );
    assert!(d.body.starts_with(b"\xEF\xBB\xBF"), "UTF-8 BOM first");
    let body = &d.body[3..];
    // French headers, as in the workbook.
    assert!(
        std::str::from_utf8(body)
            .unwrap()
            .starts_with("Référence;Structure;Forme juridique;SIRET;"),
        "{}",
        String::from_utf8_lossy(&body[..80])
    );
    let (header, rows) = parse_csv(body, b';');
    assert_eq!(header.len(), 27);
    let a = by_reference(&rows, "Référence", &w.accepted);
    assert_eq!(a["Montant attribué"], "15000,50");
    assert_eq!(a["Montant demandé"], "20000,00");
    assert_eq!(a["Note /100"], "70,00");
    assert_eq!(
        a["Date du comité"], "12/03/2026",
        "jj/mm/aaaa for French Excel"
    );
    assert_eq!(a["Structure"], "Les Ateliers du Sart");
    // French values, as in the workbook, not the API's codes.
    assert_eq!(a["État"], "acceptée");
    assert_eq!(a["Forme juridique"], "association");
    assert_eq!(a["Phase"], "démarrage");
    // Excel keeps a SIRET as 14 digits of text only when told: ="…".
    let siret = a["SIRET"].as_str();
    assert!(
        siret.len() == 17 && siret.starts_with("=\"") && siret.ends_with('"'),
        "{siret}"
    );
    // What Excel would run as a formula is defused.
    let r = by_reference(&rows, "Référence", &w.rejected);
    assert_eq!(r["État"], "refusée");
    assert_eq!(r["Structure"], "'=SOMME(A1:A9) Collectif");
    assert_eq!(r["Motivation"], "'-Modèle économique fragile.");
    assert_eq!(r["Projet"], "Cantine \"solidaire\", épicerie; ateliers");
}

async fn json_is_an_array_with_the_csv_fields(app: TestApp) {
    let w = Seed { app: &app }.world().await;
    let d = download(&app, &w.cast.staff.token, &w.call_id, "format=json").await;
    assert_eq!(d.content_type, "application/json");
    assert_eq!(
        d.disposition,
        "attachment; filename=\"entreprendre-autrement-2026-candidatures.json\""
    );
    let items: Vec<Value> = serde_json::from_slice(&d.body).expect("a JSON array");
    assert_eq!(items.len(), 4);
    let csv = download(&app, &w.cast.staff.token, &w.call_id, "format=csv").await;
    let (header, rows) = parse_csv(&csv.body, b',');
    for (item, row) in items.iter().zip(&rows) {
        let keys: Vec<String> = item.as_object().unwrap().keys().cloned().collect();
        let mut expected: Vec<String> =
            header.iter().map(|h| h.replace("_eur", "_cents")).collect();
        expected.sort();
        let mut keys = keys;
        keys.sort();
        assert_eq!(keys, expected);
        assert_eq!(item["reference"], row["reference"].as_str());
    }
    let a = items
        .iter()
        .find(|i| i["reference"] == w.accepted["reference"])
        .unwrap();
    assert_eq!(a["awarded_cents"], 1_500_050);
    assert_eq!(a["requested_cents"], 2_000_000);
    assert_eq!(a["score"], 70.0);
    assert_eq!(a["spread"], 24.0);
    assert_eq!(a["state"], "accepted");
    assert_eq!(a["legal_form"], "association");
    assert_eq!(a["commune_name"], "Villeneuve-d'Ascq");
    assert_eq!(a["committee_date"], "2026-03-12");
    assert_eq!(a["decided_on"], "2026-03-13");
    assert_eq!(a["review_count"], 2);
    let s = items
        .iter()
        .find(|i| i["reference"] == w.submitted["reference"])
        .unwrap();
    assert_eq!(s["score"], Value::Null);
    assert_eq!(s["awarded_cents"], Value::Null);
}

async fn xlsx_has_an_applications_sheet_and_a_reviews_sheet(app: TestApp) {
    let w = Seed { app: &app }.world().await;
    let d = download(&app, &w.cast.staff.token, &w.call_id, "format=xlsx").await;
    assert_eq!(
        d.content_type,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert_eq!(
        d.disposition,
        "attachment; filename=\"entreprendre-autrement-2026-candidatures.xlsx\""
    );
    // Frozen header rows, filters, column widths and the euro format, in the sheets' XML.
    let mut zip = zip::ZipArchive::new(Cursor::new(d.body.clone())).expect("a zip");
    let mut part = |name: &str| {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut zip.by_name(name).unwrap(), &mut text).unwrap();
        text
    };
    let (apps_xml, reviews_xml) = (
        part("xl/worksheets/sheet1.xml"),
        part("xl/worksheets/sheet2.xml"),
    );
    for xml in [&apps_xml, &reviews_xml] {
        assert!(
            xml.contains(r#"ySplit="1""#) && xml.contains(r#"state="frozen""#),
            "{xml}"
        );
        assert!(xml.contains("<cols><col "), "column widths");
    }
    assert!(
        apps_xml.contains(r#"<autoFilter ref="A1:AA5"/>"#),
        "{apps_xml}"
    );
    assert!(
        reviews_xml.contains(r#"<autoFilter ref="A1:M26"/>"#),
        "{reviews_xml}"
    );
    assert!(part("xl/styles.xml").contains(r##"formatCode="#,##0.00 &quot;€&quot;""##));

    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(d.body)).expect("xlsx");
    assert_eq!(book.sheet_names(), ["Candidatures", "Évaluations"]);

    let sheet = book.worksheet_range("Candidatures").unwrap();
    let rows: Vec<&[Data]> = sheet.rows().collect();
    assert_eq!(rows.len(), 5, "a header and four applications");
    let header: Vec<String> = rows[0].iter().map(|c| c.to_string()).collect();
    assert_eq!(header[0], "Référence");
    assert_eq!(header[9], "Montant demandé");
    assert_eq!(header[24], "Avis des communes");
    assert_eq!(header[25], "Registre des entreprises");
    assert_eq!(header[26], "Alertes du registre");
    assert_eq!(header.len(), 27);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let a = rows
        .iter()
        .find(|r| r[0].to_string() == reference(&w.accepted))
        .unwrap();
    assert_eq!(
        a[col("Structure")].get_string(),
        Some("Les Ateliers du Sart")
    );
    assert_eq!(a[col("Forme juridique")].get_string(), Some("association"));
    assert_eq!(a[col("SIRET")].get_string(), Some("73282932000074"));
    assert_eq!(a[col("Phase")].get_string(), Some("démarrage"));
    assert_eq!(a[col("État")].get_string(), Some("acceptée"));
    assert_eq!(a[col("Éligibilité")].get_string(), Some("éligible"));
    // Amounts are numbers, dates are dates.
    assert_eq!(a[col("Montant demandé")].get_float(), Some(20000.0));
    assert_eq!(a[col("Montant attribué")].get_float(), Some(15000.5));
    assert_eq!(a[col("Note /100")].get_float(), Some(70.0));
    assert_eq!(a[col("Évaluations")].as_f64(), Some(2.0));
    assert!(a[col("Date du comité")].is_datetime());
    assert_eq!(a[col("Date du comité")].as_date(), Some(day("2026-03-12")));
    assert_eq!(a[col("Décidé le")].as_date(), Some(day("2026-03-13")));
    assert_eq!(
        a[col("Déposé le")].as_date().map(|d| d.to_string()),
        Some(paris_day_of(&w.accepted["submitted_at"]))
    );
    let s = rows
        .iter()
        .find(|r| r[0].to_string() == reference(&w.submitted))
        .unwrap();
    assert!(s[col("Montant attribué")].is_empty());
    assert!(s[col("Note /100")].is_empty());

    let sheet = book.worksheet_range("Évaluations").unwrap();
    let rows: Vec<&[Data]> = sheet.rows().collect();
    // Five submitted reviews (the draft is left out), five criteria each.
    assert_eq!(rows.len(), 1 + 5 * 5);
    let header: Vec<String> = rows[0].iter().map(|c| c.to_string()).collect();
    assert_eq!(
        header,
        [
            "Référence",
            "Structure",
            "Projet",
            "Évaluateur",
            "Avis",
            "Note de l'évaluation /100",
            "Évaluée le",
            "Critère",
            "Libellé du critère",
            "Pondération",
            "Note",
            "Note maximale",
            "Commentaire",
        ]
    );
    let of_accepted: Vec<&&[Data]> = rows
        .iter()
        .filter(|r| r[0].to_string() == reference(&w.accepted))
        .collect();
    assert_eq!(of_accepted.len(), 10);
    let first = of_accepted[0];
    assert_eq!(first[3].get_string(), Some("Personne de Test"));
    assert_eq!(first[4].get_string(), Some("favorable"));
    assert_eq!(first[5].get_float(), Some(82.0));
    assert!(first[6].is_datetime());
    assert_eq!(first[7].get_string(), Some("social_utility"));
    assert_eq!(first[9].as_f64(), Some(3.0));
    assert_eq!(first[10].as_f64(), Some(5.0));
    assert_eq!(first[11].as_f64(), Some(5.0));
    let points: Vec<f64> = of_accepted
        .iter()
        .map(|r| r[10].as_f64().unwrap())
        .collect();
    assert_eq!(points, [5.0, 4.0, 4.0, 4.0, 2.0, 4.0, 3.0, 3.0, 2.0, 1.0]);
    assert!(
        rows.iter()
            .all(|r| r[0].to_string() != reference(&w.submitted)),
        "no review, no row"
    );
}

/// The SCDL « subventions » 2.1.1 table schema: from the shared folder when it is there,
/// otherwise the copy kept in `data/scdl/` (the two must then be equal).
fn scdl_schema() -> Value {
    let committed = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/scdl/scdl-subventions-2.1.1.schema.json"
    );
    let shared = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/data/scdl-subventions-2.1.1.schema.json"
    );
    let copy: Value = serde_json::from_str(&std::fs::read_to_string(committed).unwrap()).unwrap();
    if let Ok(text) = std::fs::read_to_string(shared) {
        let upstream: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(copy, upstream, "{committed} drifted from {shared}");
    }
    copy
}

/// Checks a CSV against a Frictionless table schema's field list: header names and order,
/// `required`, `pattern`, `maxLength`, `enum`, `minimum`/`maximum`, and the `date`, `number`
/// and `boolean` (`trueValues`/`falseValues`) types. Returns the rows.
fn check_against_table_schema(schema: &Value, bytes: &[u8]) -> Vec<HashMap<String, String>> {
    let fields = schema["fields"].as_array().unwrap();
    let names: Vec<&str> = fields.iter().map(|f| f["name"].as_str().unwrap()).collect();
    let (header, rows) = parse_csv(bytes, b',');
    assert_eq!(header, names, "the schema's fields, in its order");
    for (i, row) in rows.iter().enumerate() {
        for field in fields {
            let name = field["name"].as_str().unwrap();
            let value = row[name].as_str();
            let at = format!("line {}, {name} = {value:?}", i + 2);
            let c = &field["constraints"];
            if value.is_empty() {
                assert!(c["required"] != true, "{at}: required");
                continue;
            }
            match field["type"].as_str().unwrap() {
                "string" => {}
                "date" => {
                    assert!(
                        NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok() && value.len() == 10,
                        "{at}: not a date"
                    );
                }
                "number" => {
                    let n: f64 = value
                        .parse()
                        .unwrap_or_else(|_| panic!("{at}: not a number"));
                    if let Some(min) = c["minimum"].as_f64() {
                        assert!(n >= min, "{at}: below {min}");
                    }
                    if let Some(max) = c["maximum"].as_f64() {
                        assert!(n <= max, "{at}: above {max}");
                    }
                }
                "boolean" => {
                    let allowed: Vec<&str> = ["trueValues", "falseValues"]
                        .iter()
                        .flat_map(|k| field[*k].as_array().unwrap())
                        .map(|v| v.as_str().unwrap())
                        .collect();
                    assert!(allowed.contains(&value), "{at}: not one of {allowed:?}");
                }
                other => panic!("{at}: type {other} not handled by this check"),
            }
            if let Some(p) = c["pattern"].as_str() {
                let re = regex::Regex::new(p).unwrap();
                assert!(re.is_match(value), "{at}: does not match {p}");
            }
            if let Some(max) = c["maxLength"].as_u64() {
                assert!(
                    value.chars().count() as u64 <= max,
                    "{at}: longer than {max}"
                );
            }
            if let Some(allowed) = c["enum"].as_array() {
                assert!(
                    allowed.iter().any(|a| a == value),
                    "{at}: not one of {allowed:?}"
                );
            }
        }
    }
    rows
}

async fn scdl_file_meets_the_schema(app: TestApp) {
    let w = Seed { app: &app }.world().await;
    // A second accepted application: an association known by its RNA only.
    let seed = Seed { app: &app };
    let rna_only = seed
        .submitted(&w.cast.applicant.token, &w.call_id, |b| {
            b["organisation"]["siret"] = Value::Null;
            b["organisation"]["name"] = "Association « Les Jardins, partagés »".into();
            b["project"]["title"] = "Jardin \"nourricier\" au cœur du quartier".into();
        })
        .await;
    let id = rna_only["id"].as_str().unwrap();
    seed.reviewed_twice(&w.cast, id).await;
    seed.decide(
        &w.cast.staff.token,
        id,
        "accepted",
        Some(800_000),
        "2026-06-18",
        Some("DEL-2026-077"),
        "Accord.",
        "2026-06-19 08:00:00",
    )
    .await;

    let d = download(&app, &w.cast.staff.token, &w.call_id, "format=scdl").await;
    assert_eq!(d.content_type, "text/csv; charset=utf-8");
    assert_eq!(
        d.disposition,
        "attachment; filename=\"entreprendre-autrement-2026-subventions.csv\""
    );
    assert!(!d.body.starts_with(b"\xEF\xBB\xBF"));
    let rows = check_against_table_schema(&scdl_schema(), &d.body);
    assert_eq!(rows.len(), 2, "one line per accepted application");
    let a = &rows[0];
    let expect = |row: &HashMap<String, String>, pairs: &[(&str, &str)]| {
        for (k, v) in pairs {
            assert_eq!(row[*k], *v, "{k}");
        }
    };
    expect(
        a,
        &[
            ("nomAttribuant", "Métropole Européenne de Lille"),
            ("idAttribuant", "20009320100016"),
            ("dateConvention", "2026-03-12"),
            ("referenceDecision", "DEL-2026-031"),
            ("nomBeneficiaire", "Les Ateliers du Sart"),
            ("idBeneficiaire", "73282932000074"),
            ("rnaBeneficiaire", "W595012345"),
            ("objet", "Recyclerie de quartier"),
            ("montant", "15000.50"),
            ("nature", "aide en numéraire"),
            // The default schedule pays in two instalments (80 % and 20 %).
            ("conditionsVersement", "échelonné"),
            ("datesPeriodeVersement", "2026-03-13"),
            ("idRAE", ""),
            ("notificationUE", "non"),
            ("pourcentageSubvention", "1.00"),
            ("dispositifAide", "Entreprendre autrement"),
        ],
    );
    expect(
        &rows[1],
        &[
            ("nomBeneficiaire", "Association « Les Jardins, partagés »"),
            ("idBeneficiaire", ""),
            ("rnaBeneficiaire", "W595012345"),
            ("objet", "Jardin \"nourricier\" au cœur du quartier"),
            ("montant", "8000.00"),
            ("dateConvention", "2026-06-18"),
        ],
    );
    // `state=accepted` is what scdl holds anyway; decision days filter it too.
    let d = download(
        &app,
        &w.cast.staff.token,
        &w.call_id,
        "format=scdl&state=accepted&decided_from=2026-06-01",
    )
    .await;
    let rows = check_against_table_schema(&scdl_schema(), &d.body);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["referenceDecision"], "DEL-2026-077");
}

async fn filters_select_by_state_and_decision_day(app: TestApp) {
    let w = Seed { app: &app }.world().await;
    let staff = &w.cast.staff.token;
    let refs = |body: &[u8]| references(&parse_csv(body, b',').1, "reference");
    let cases: Vec<(&str, Vec<&Value>, &str)> = vec![
        ("state=accepted", vec![&w.accepted], "decisions"),
        (
            "state=accepted,rejected",
            vec![&w.accepted, &w.rejected],
            "decisions",
        ),
        (
            "state=submitted,under_review",
            vec![&w.under_review, &w.submitted],
            "candidatures",
        ),
        ("state=draft", vec![&w.draft], "candidatures"),
        // Paris days: the rejection, at 22:30 UTC on 31 March, was on 1 April.
        ("decided_to=2026-03-31", vec![&w.accepted], "decisions"),
        ("decided_from=2026-04-01", vec![&w.rejected], "decisions"),
        (
            "decided_from=2026-03-13&decided_to=2026-03-13",
            vec![&w.accepted],
            "decisions",
        ),
        (
            "decided_from=2026-03-14&decided_to=2026-03-31",
            vec![],
            "decisions",
        ),
        (
            "decided_from=2026-03-01&decided_to=2026-04-30",
            vec![&w.accepted, &w.rejected],
            "decisions",
        ),
        ("state=rejected&decided_to=2026-03-31", vec![], "decisions"),
    ];
    for (query, expected, kind) in cases {
        let d = download(&app, staff, &w.call_id, &format!("format=csv&{query}")).await;
        let expected: Vec<String> = expected.into_iter().map(reference).collect();
        assert_eq!(refs(&d.body), expected, "{query}");
        assert_eq!(
            d.disposition,
            format!("attachment; filename=\"entreprendre-autrement-2026-{kind}.csv\""),
            "{query}"
        );
    }
    // The same filters hold in every format.
    let d = download(
        &app,
        staff,
        &w.call_id,
        "format=json&decided_from=2026-04-01",
    )
    .await;
    let items: Vec<Value> = serde_json::from_slice(&d.body).unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["reference"], w.rejected["reference"]);
    let d = download(&app, staff, &w.call_id, "format=xlsx&state=accepted").await;
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(d.body)).unwrap();
    assert_eq!(book.worksheet_range("Candidatures").unwrap().height(), 2);
    assert_eq!(book.worksheet_range("Évaluations").unwrap().height(), 11);
}

async fn exports_page_through_more_than_a_chunk(app: TestApp) {
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    let call = app
        .published_call(staff, json!({"title": "Grand appel"}))
        .await;
    let call_id = call["id"].as_str().unwrap();
    let template = app
        .submitted_application(&cast.applicant.token, call_id)
        .await;
    // 2 345 more, up to 700 of them created at the same instant: keyset pages must break
    // ties on the id, or rows would be lost or repeated at page boundaries.
    let n = 2_345;
    Seed { app: &app }
        .copies(template["id"].as_str().unwrap(), n, 700)
        .await;
    let d = download(&app, staff, call_id, "format=csv").await;
    let (_, rows) = parse_csv(&d.body, b',');
    assert_eq!(rows.len(), n + 1);
    let mut refs = references(&rows, "reference");
    assert_eq!(refs[0], reference(&template));
    refs.sort();
    refs.dedup();
    assert_eq!(refs.len(), n + 1, "no application twice");

    let d = download(&app, staff, call_id, "format=json").await;
    let items: Vec<Value> = serde_json::from_slice(&d.body).unwrap();
    assert_eq!(items.len(), n + 1);
    let d = download(&app, staff, call_id, "format=xlsx").await;
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(d.body)).unwrap();
    assert_eq!(
        book.worksheet_range("Candidatures").unwrap().height(),
        n + 2
    );
}

async fn an_empty_call_exports_headers_only(app: TestApp) {
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    let call = app.draft_call(staff, json!({"title": "Appel vide"})).await;
    let call_id = call["id"].as_str().unwrap();
    let d = download(&app, staff, call_id, "format=csv").await;
    let (header, rows) = parse_csv(&d.body, b',');
    assert_eq!((header.len(), rows.len()), (27, 0));
    assert_eq!(
        d.disposition,
        "attachment; filename=\"appel-vide-candidatures.csv\""
    );
    let d = download(&app, staff, call_id, "format=json").await;
    assert_eq!(serde_json::from_slice::<Value>(&d.body).unwrap(), json!([]));
    let d = download(&app, staff, call_id, "format=scdl").await;
    let rows = check_against_table_schema(&scdl_schema(), &d.body);
    assert!(rows.is_empty());
    let d = download(&app, staff, call_id, "format=xlsx").await;
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(d.body)).unwrap();
    assert_eq!(book.worksheet_range("Candidatures").unwrap().height(), 1);
    assert_eq!(book.worksheet_range("Évaluations").unwrap().height(), 1);
}

async fn only_staff_export_and_bad_requests_are_refused(app: TestApp) {
    let cast = app.cast().await;
    let call = app.published_call(&cast.staff.token, json!({})).await;
    let call_id = call["id"].as_str().unwrap();
    let path = format!("/api/v1/calls/{call_id}/export?format=csv");
    assert_problem(app.get(&path).await, 401).await;
    for who in [&cast.applicant, &cast.other_applicant, &cast.reviewer] {
        assert_problem(app.get_as(&who.token, &path).await, 403).await;
        // Even with a bad query, the role is refused first.
        let bad = format!("/api/v1/calls/{call_id}/export?format=pdf");
        assert_problem(app.get_as(&who.token, &bad).await, 403).await;
    }
    let unknown = "/api/v1/calls/01936f4e-5a7b-7c3d-9e2f-0a1b2c3d4e5f/export?format=csv";
    let body = assert_problem(app.get_as(&cast.staff.token, unknown).await, 404).await;
    assert!(body["detail"].as_str().unwrap().contains("ppel"), "{body}");

    let cases = [
        ("format=pdf", "Format d'export inconnu : « pdf »"),
        ("format=csv&dialect=excel", "Dialecte CSV inconnu"),
        (
            "format=json&dialect=excel-fr",
            "ne s'applique qu'au format csv",
        ),
        (
            "state=accepted,gagne",
            "État inconnu dans « state » : « gagne »",
        ),
        (
            "decided_from=2026-02-30",
            "Date invalide pour « decided_from »",
        ),
        ("decided_to=demain", "Date invalide pour « decided_to »"),
        (
            "decided_from=2026-05-01&decided_to=2026-04-01",
            "est postérieure à « decided_to »",
        ),
        ("fromat=csv", "champ « fromat » inconnu"),
        ("format=scdl&state=rejected", "subventions attribuées"),
    ];
    for (query, needle) in cases {
        let resp = app
            .get_as(
                &cast.staff.token,
                &format!("/api/v1/calls/{call_id}/export?{query}"),
            )
            .await;
        let body = assert_problem(resp, 400).await;
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains(needle), "{query}: {detail}");
    }
}

/// Writes an SCDL file to `$ESSOR_SCDL_OUT` for `.ci/run`, which validates it with the
/// `frictionless` validator. `cargo test --test api -- --ignored scdl_file_for_ci`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by .ci/run with ESSOR_SCDL_OUT set"]
async fn scdl_file_for_ci() {
    let out = std::env::var("ESSOR_SCDL_OUT").expect("ESSOR_SCDL_OUT names the file to write");
    let app = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite)
        .await
        .unwrap();
    let w = Seed { app: &app }.world().await;
    let seed = Seed { app: &app };
    let extra = seed
        .submitted(&w.cast.applicant.token, &w.call_id, |b| {
            b["organisation"]["siret"] = Value::Null;
            b["organisation"]["name"] = "Association « Les Jardins, partagés »".into();
            // Quotes, a comma and a semicolon to quote (a title holds no line break: one-line rule).
            b["project"]["title"] = "Jardin \"nourricier\", au cœur du quartier; ouvert".into();
        })
        .await;
    let id = extra["id"].as_str().unwrap();
    seed.reviewed_twice(&w.cast, id).await;
    seed.decide(
        &w.cast.staff.token,
        id,
        "accepted",
        Some(800_000),
        "2026-06-18",
        Some("DEL-2026-078"),
        "Accord.",
        "2026-06-19 08:00:00",
    )
    .await;
    let d = download(&app, &w.cast.staff.token, &w.call_id, "format=scdl").await;
    let rows = check_against_table_schema(&scdl_schema(), &d.body);
    assert_eq!(rows.len(), 2);
    std::fs::write(&out, &d.body).unwrap();
    eprintln!("SCDL file with {} line(s) written to {out}", rows.len());
}

// ---------------------------------------------------------------------------------------------
// data.gouv.fr (DESIGN.md §17)

/// Runs `test` on a server pointed at a fresh fake data.gouv.fr, with `key` as its API key.
async fn with_data_gouv<F, Fut>(backend: crate::helpers::Backend, key: &str, test: F)
where
    F: FnOnce(TestApp, crate::fakes::FakeDataGouv) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let fake = crate::fakes::data_gouv().await;
    let mut settings = crate::fakes::data_gouv_settings(&fake);
    settings.retain(|(k, _)| *k != "APP__OPEN_DATA__API_KEY");
    settings.push(("APP__OPEN_DATA__API_KEY", key.to_owned()));
    let extra: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let Some(app) = crate::helpers::spawn_app_with(backend, &extra).await else {
        return;
    };
    test(app, fake).await;
}

macro_rules! with_data_gouv {
    ($key:expr => $($name:ident),* $(,)?) => {$(
        mod $name {
            use crate::helpers::Backend;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::with_data_gouv(Backend::Sqlite, $key, super::$name).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::with_data_gouv(Backend::Postgres, $key, super::$name).await;
            }
        }
    )*};
}

with_data_gouv!(crate::fakes::DATA_GOUV_KEY => the_scdl_file_is_published_on_data_gouv);
with_data_gouv!("une-cle-revoquee" => a_refused_key_publishes_nothing);
both_backends!(without_data_gouv_nothing_is_published);

async fn publish(app: &TestApp, token: &str, call_id: &str, body: Value) -> reqwest::Response {
    app.post_json(
        Some(token),
        &format!("/api/v1/calls/{call_id}/open-data"),
        &body,
    )
    .await
}

async fn audited_publications(app: &TestApp) -> Vec<Value> {
    app.db
        .run(|conn| {
            use essor::db::schema::audit_events as a;
            Ok(a::table
                .filter(a::action.eq("open_data_published"))
                .select(a::payload)
                .load::<Option<String>>(conn)?)
        })
        .await
        .unwrap()
        .into_iter()
        .map(|p| serde_json::from_str(&p.unwrap_or_default()).unwrap())
        .collect()
}

async fn the_scdl_file_is_published_on_data_gouv(app: TestApp, fake: crate::fakes::FakeDataGouv) {
    let w = Seed { app: &app }.world().await;
    let staff = &w.cast.staff.token;
    let file = download(&app, staff, &w.call_id, "format=scdl").await;

    // A dry run says what would be sent and sends nothing.
    let resp = publish(&app, staff, &w.call_id, json!({"dry_run": true})).await;
    assert_eq!(resp.status(), 200);
    let dry: Value = resp.json().await.unwrap();
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["lines"], 1, "one accepted application in the world");
    assert_eq!(dry["bytes"], file.body.len());
    assert_eq!(dry["published_at"], Value::Null);
    assert!(fake.uploads.lock().unwrap().is_empty());
    assert!(audited_publications(&app).await.is_empty());

    // Bad input changes nothing.
    let bad = assert_problem(
        publish(&app, staff, &w.call_id, json!({"dryrun": true})).await,
        422,
    )
    .await;
    assert!(bad["detail"].as_str().unwrap().contains("dryrun"), "{bad}");
    assert_problem(
        publish(&app, &w.cast.applicant.token, &w.call_id, json!({})).await,
        403,
    )
    .await;
    let unknown = uuid::Uuid::now_v7().to_string();
    assert_problem(publish(&app, staff, &unknown, json!({})).await, 404).await;
    assert!(fake.uploads.lock().unwrap().is_empty());

    let resp = publish(&app, staff, &w.call_id, json!({})).await;
    assert_eq!(resp.status(), 200);
    let done: Value = resp.json().await.unwrap();
    assert_eq!(done["dry_run"], false);
    assert!(done["published_at"].is_string());
    let uploads = fake.uploads.lock().unwrap().clone();
    assert_eq!(uploads.len(), 1);
    let sent = &uploads[0];
    assert_eq!(
        sent.path,
        format!(
            "/api/1/datasets/{}/resources/{}/upload/",
            crate::fakes::DATASET,
            crate::fakes::RESOURCE
        )
    );
    assert_eq!(sent.api_key.as_deref(), Some(crate::fakes::DATA_GOUV_KEY));
    assert_eq!(
        sent.bytes, file.body,
        "the file sent is the one the exports page downloads"
    );
    assert_eq!(
        sent.file_name.as_deref(),
        Some(done["file_name"].as_str().unwrap())
    );
    let digest: String = <sha2::Sha256 as sha2::Digest>::digest(&sent.bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(done["sha256"], digest);
    assert!(
        done["url"]
            .as_str()
            .unwrap()
            .starts_with("https://static.data.gouv.fr/")
    );

    let audited = audited_publications(&app).await;
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0]["sha256"], digest);
    assert_eq!(audited[0]["lines"], 1);

    // data.gouv.fr down: a clear error, nothing more recorded as published.
    fake.down.store(true, std::sync::atomic::Ordering::SeqCst);
    let p = assert_problem(publish(&app, staff, &w.call_id, json!({})).await, 502).await;
    assert_eq!(p["type"], "urn:essor:problem:upstream");
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("rien n'a été publié"),
        "{p}"
    );
    assert_eq!(audited_publications(&app).await.len(), 1);
}

async fn a_refused_key_publishes_nothing(app: TestApp, fake: crate::fakes::FakeDataGouv) {
    let cast = app.cast().await;
    let call = app.published_call(&cast.staff.token, json!({})).await;
    let call_id = call["id"].as_str().unwrap();
    let p = assert_problem(
        publish(&app, &cast.staff.token, call_id, json!({})).await,
        502,
    )
    .await;
    let detail = p["detail"].as_str().unwrap();
    assert!(
        detail.contains("refuse la clé d'API") && detail.contains("APP__OPEN_DATA__API_KEY"),
        "{detail}"
    );
    assert!(
        !detail.contains("une-cle-revoquee"),
        "the key is never said"
    );
    assert_eq!(
        fake.uploads.lock().unwrap().len(),
        1,
        "one attempt reached data.gouv.fr"
    );
    assert!(audited_publications(&app).await.is_empty());
}

async fn without_data_gouv_nothing_is_published(app: TestApp) {
    let cast = app.cast().await;
    let call = app.published_call(&cast.staff.token, json!({})).await;
    let p = assert_problem(
        publish(
            &app,
            &cast.staff.token,
            call["id"].as_str().unwrap(),
            json!({"dry_run": true}),
        )
        .await,
        404,
    )
    .await;
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("n'est pas configurée"),
        "{p}"
    );
}

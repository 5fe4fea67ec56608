//! The final report (compte rendu financier, DESIGN.md §15): a draft the beneficiary saves as
//! often as they like, a submission that must be complete, staff's request for changes and
//! approval — which fires the balance — and the grant closed once everything is paid; the SCDL
//! file then says how and when the grant was paid.

use serde_json::{Value, json};

use crate::both_backends;
use crate::finance::{audited, awarded, call_without_convention, get_grant, import, states};
use crate::grants::mail_about;
use crate::helpers::{PDF, TestApp, assert_problem};

both_backends!(
    a_report_is_drafted_submitted_corrected_approved_and_the_grant_closes,
    bad_reports_are_refused_field_by_field_and_change_nothing,
    the_report_s_annexes_are_the_beneficiary_s_to_add_and_never_a_reviewer_s_to_read,
);

async fn put_report(app: &TestApp, token: &str, grant: &str, body: &Value) -> reqwest::Response {
    app.client
        .put(app.url(&format!("/api/v1/grants/{grant}/report")))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn post(app: &TestApp, token: &str, path: String, body: Value) -> reqwest::Response {
    app.post_json(Some(token), &path, &body).await
}

/// A complete report of an 18 500 € grant: purchases 20 % over plan (explained).
fn complete() -> Value {
    json!({
        "budget": [
            {"category": "purchases", "planned_cents": 1_000_000, "actual_cents": 1_200_000},
            {"category": "staff_costs", "planned_cents": 3_000_000, "actual_cents": 3_100_000},
            {"category": "sales", "planned_cents": 2_150_000, "actual_cents": 2_450_000},
            {"category": "this_grant", "planned_cents": 1_850_000, "actual_cents": 1_850_000}
        ],
        "gaps_explanation": "Le bois a coûté plus cher que prévu.",
        "narrative": "La recyclerie a ouvert en mars ; 800 personnes sont venues.",
        "indicators": {"jobs_created": 2, "volunteers": 12, "people_reached": 800}
    })
}

async fn a_report_is_drafted_submitted_corrected_approved_and_the_grant_closes(app: TestApp) {
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    let applicant = &cast.applicant.token;
    let call_id = call_without_convention(&app, staff).await;
    let grant = awarded(
        &app,
        &cast,
        &call_id,
        "Les Ateliers du Sart",
        1_850_000,
        true,
    )
    .await;
    let grant_id = grant["id"].as_str().unwrap();
    let application_id = grant["application_id"].as_str().unwrap();
    let report_path = format!("/api/v1/grants/{grant_id}/report");

    // Before the first save: every category, this grant planned at the award.
    let resp = app.get_as(applicant, &report_path).await;
    assert_eq!(resp.status(), 200);
    let r: Value = resp.json().await.unwrap();
    assert_eq!(r["report"]["budget"].as_array().unwrap().len(), 16, "{r}");
    let this_grant = r["report"]["budget"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["category"] == "this_grant")
        .unwrap();
    assert_eq!(this_grant["planned_cents"], 1_850_000);
    assert_eq!(r["editable"], true);
    assert_eq!(r["allowed_actions"], json!(["submit-report"]));
    assert_eq!(r["grant_state"], "running");
    // Staff read it too; a reviewer and another applicant do not even see it.
    assert_eq!(app.get_as(staff, &report_path).await.status(), 200);
    assert_problem(app.get_as(&cast.reviewer.token, &report_path).await, 404).await;
    assert_problem(
        app.get_as(&cast.other_applicant.token, &report_path).await,
        404,
    )
    .await;

    // A draft, incomplete: saved; submitting it names what is missing.
    let draft = json!({"budget": [{"category": "purchases", "planned_cents": 1_000_000, "actual_cents": 1_200_000}],
                       "narrative": "En cours."});
    let resp = put_report(&app, applicant, grant_id, &draft).await;
    assert_eq!(resp.status(), 200);
    let r: Value = resp.json().await.unwrap();
    assert_eq!(r["gaps"], json!(["purchases"]));
    let body = assert_problem(
        post(
            &app,
            applicant,
            format!("/api/v1/grants/{grant_id}/report/submit"),
            json!({}),
        )
        .await,
        422,
    )
    .await;
    let errors = body["errors"].as_object().unwrap();
    for field in [
        "gaps_explanation",
        "indicators.jobs_created",
        "indicators.volunteers",
        "indicators.people_reached",
    ] {
        assert!(errors.contains_key(field), "{field}: {body}");
    }
    assert!(
        body["errors"]["gaps_explanation"][0]
            .as_str()
            .unwrap()
            .contains("60 – Achats"),
        "{body}"
    );
    assert_eq!(get_grant(&app, staff, grant_id).await["state"], "running");

    // Complete: submitted, staff told (their link opens the staff page).
    assert_eq!(
        put_report(&app, applicant, grant_id, &complete())
            .await
            .status(),
        200
    );
    let resp = post(
        &app,
        applicant,
        format!("/api/v1/grants/{grant_id}/report/submit"),
        json!({}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["state"],
        "report_submitted"
    );
    let mail = mail_about(
        &app,
        "ess@lillemetropole.fr",
        "Compte rendu financier à examiner",
    )
    .await;
    assert!(
        mail.text
            .contains(&format!("/gestion/candidatures/{application_id}")),
        "{}",
        mail.text
    );
    // Submitted, it no longer changes; twice is 409.
    assert_problem(
        put_report(&app, applicant, grant_id, &complete()).await,
        409,
    )
    .await;
    assert_problem(
        post(
            &app,
            applicant,
            format!("/api/v1/grants/{grant_id}/report/submit"),
            json!({}),
        )
        .await,
        409,
    )
    .await;

    // Staff ask for changes: a message is needed; the beneficiary's mail opens the form.
    let changes = format!("/api/v1/grants/{grant_id}/report/request-changes");
    let body = assert_problem(
        post(&app, staff, changes.clone(), json!({"message": " "})).await,
        422,
    )
    .await;
    assert!(body["errors"]["message"].is_array(), "{body}");
    assert_problem(
        post(&app, applicant, changes.clone(), json!({"message": "x"})).await,
        403,
    )
    .await;
    let resp = post(
        &app,
        staff,
        changes.clone(),
        json!({"message": "Joignez les factures du bois."}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["state"],
        "report_changes_requested"
    );
    let mail = mail_about(
        &app,
        &cast.applicant.email,
        "des corrections sont demandées",
    )
    .await;
    assert!(
        mail.text.contains("Joignez les factures du bois."),
        "{}",
        mail.text
    );
    assert!(
        mail.text
            .contains(&format!("/candidatures/{application_id}/compte-rendu")),
        "{}",
        mail.text
    );
    let r: Value = app
        .get_as(applicant, &report_path)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["changes_message"], "Joignez les factures du bois.");
    assert_eq!(r["editable"], true);
    // Corrected and submitted again.
    let mut corrected = complete();
    corrected["gaps_explanation"] =
        json!("Le bois a coûté plus cher que prévu : factures jointes au dossier.");
    assert_eq!(
        put_report(&app, applicant, grant_id, &corrected)
            .await
            .status(),
        200
    );
    let resp = post(
        &app,
        applicant,
        format!("/api/v1/grants/{grant_id}/report/submit"),
        json!({}),
    )
    .await;
    assert_eq!(resp.status(), 200);

    // The advance is paid; approving fires the balance, which is requested at once.
    let csv = format!(
        "instalment_id;mandate_reference;paid_on\r\n{};M-1;2026-12-01\r\n",
        grant["instalments"][0]["id"].as_str().unwrap()
    );
    assert_eq!(
        import(&app, staff, &call_id, &csv, false).await.status(),
        200
    );
    let approve = format!("/api/v1/grants/{grant_id}/report/approve");
    assert_problem(post(&app, applicant, approve.clone(), json!({})).await, 403).await;
    let resp = post(&app, staff, approve.clone(), json!({})).await;
    assert_eq!(resp.status(), 200);
    let g: Value = resp.json().await.unwrap();
    assert_eq!(g["state"], "report_approved");
    assert_eq!(states(&g), ["paid", "requested"]);
    mail_about(
        &app,
        &cast.applicant.email,
        "Compte rendu financier approuvé",
    )
    .await;
    assert_problem(post(&app, staff, approve, json!({})).await, 409).await;

    // The last payment closes the grant.
    let csv = format!(
        "instalment_id;mandate_reference;paid_on\r\n{};M-2;2026-12-04\r\n",
        grant["instalments"][1]["id"].as_str().unwrap()
    );
    assert_eq!(
        import(&app, staff, &call_id, &csv, false).await.status(),
        200
    );
    let g = get_grant(&app, staff, grant_id).await;
    assert_eq!(g["state"], "closed", "{g}");
    assert_eq!(g["paid_cents"], 1_850_000);
    assert_eq!(audited(&app, staff, application_id, "grant-close").await, 1);

    // The open-data file: paid in two instalments, from the first payment to the last.
    let resp = app
        .get_as(
            staff,
            &format!("/api/v1/calls/{call_id}/export?format=scdl"),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let scdl = resp.text().await.unwrap();
    let line = scdl.lines().nth(1).unwrap();
    assert!(line.contains(",échelonné,2026-12-01/2026-12-04,"), "{line}");

    // The grants export: one line per instalment, the report approved, both payments.
    let export = |format: &'static str, token: String| {
        let app = &app;
        let call_id = call_id.clone();
        async move {
            app.get_as(
                &token,
                &format!("/api/v1/calls/{call_id}/grants/export?format={format}"),
            )
            .await
        }
    };
    let resp = export("csv", staff.clone()).await;
    assert_eq!(resp.status(), 200);
    let csv = resp.text().await.unwrap();
    let rows: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(rows.len(), 3, "{csv}");
    for row in &rows[1..] {
        assert!(
            row.starts_with(grant["reference"].as_str().unwrap()),
            "{row}"
        );
        assert!(row.contains(";18500,00;18500,00;clos;"), "{row}");
        assert!(row.contains(";approuvé;"), "{row}");
    }
    assert!(
        rows[1].ends_with(";Avance;80;14800,00;payé;M-1;01/12/2026"),
        "{}",
        rows[1]
    );
    assert!(
        rows[2].ends_with(";Solde;20;3700,00;payé;M-2;04/12/2026"),
        "{}",
        rows[2]
    );
    let resp = export("xlsx", staff.clone()).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.bytes().await.unwrap().starts_with(b"PK"));
    assert_problem(export("ods", staff.clone()).await, 400).await;
    assert_problem(export("csv", applicant.clone()).await, 403).await;
    assert_problem(export("csv", cast.reviewer.token.clone()).await, 403).await;
}

async fn bad_reports_are_refused_field_by_field_and_change_nothing(app: TestApp) {
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    let applicant = &cast.applicant.token;
    let call_id = call_without_convention(&app, staff).await;
    let grant = awarded(
        &app,
        &cast,
        &call_id,
        "Les Ateliers du Sart",
        1_850_000,
        false,
    )
    .await;
    let grant_id = grant["id"].as_str().unwrap();
    assert_eq!(
        put_report(&app, applicant, grant_id, &complete())
            .await
            .status(),
        200
    );
    let before: Value = app
        .get_as(applicant, &format!("/api/v1/grants/{grant_id}/report"))
        .await
        .json()
        .await
        .unwrap();

    let cases = [
        (
            json!({"budget": [{"category": "purchases", "planned_cents": -1}]}),
            "budget[0].planned_cents",
        ),
        (
            json!({"budget": [{"category": "purchases", "planned_cents": 1},
                              {"category": "purchases", "planned_cents": 2}]}),
            "budget[1].category",
        ),
        (
            json!({"budget": [{"category": "cadeaux", "planned_cents": 1}]}),
            "budget[0].category",
        ),
        (json!({"narrative": "a\u{202e}b"}), "narrative"),
        (
            json!({"indicators": {"volunteers": -3}}),
            "indicators.volunteers",
        ),
        (json!({"iban": "FR76"}), "iban"),
    ];
    for (body, field) in cases {
        let problem = assert_problem(put_report(&app, applicant, grant_id, &body).await, 422).await;
        assert!(problem["errors"][field].is_array(), "{field}: {problem}");
    }
    // Staff do not write the beneficiary's report.
    assert_problem(put_report(&app, staff, grant_id, &complete()).await, 403).await;
    let after: Value = app
        .get_as(applicant, &format!("/api/v1/grants/{grant_id}/report"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(before["report"], after["report"], "nothing changed");
    // Staff may not approve a report never submitted.
    assert_problem(
        post(
            &app,
            staff,
            format!("/api/v1/grants/{grant_id}/report/approve"),
            json!({}),
        )
        .await,
        409,
    )
    .await;
}

async fn annex(
    app: &TestApp,
    token: &str,
    grant: &str,
    kind: &str,
    bytes: &[u8],
    name: &str,
) -> reqwest::Response {
    let form = reqwest::multipart::Form::new()
        .text("kind", kind.to_owned())
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_owned()),
        );
    app.client
        .post(app.url(&format!("/api/v1/grants/{grant}/report/annexes")))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

async fn the_report_s_annexes_are_the_beneficiary_s_to_add_and_never_a_reviewer_s_to_read(
    app: TestApp,
) {
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    let applicant = &cast.applicant.token;
    let reviewer = &cast.reviewer.token;
    let call_id = call_without_convention(&app, staff).await;
    let grant = awarded(
        &app,
        &cast,
        &call_id,
        "Les Ateliers du Sart",
        1_850_000,
        true,
    )
    .await;
    let grant_id = grant["id"].as_str().unwrap();
    let application_id = grant["application_id"].as_str().unwrap();

    // The beneficiary adds an invoice; its Location is the download.
    let resp = annex(
        &app,
        applicant,
        grant_id,
        "report_annex",
        PDF,
        "facture bois.pdf",
    )
    .await;
    assert_eq!(resp.status(), 201);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let doc: Value = resp.json().await.unwrap();
    assert_eq!(doc["kind"], "report_annex");
    assert_eq!(
        location,
        format!(
            "/api/v1/applications/{application_id}/documents/{}",
            doc["id"].as_str().unwrap()
        )
    );
    let r: Value = app
        .get_as(applicant, &format!("/api/v1/grants/{grant_id}/report"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["annexes"][0]["filename"], "facture bois.pdf", "{r}");
    // Staff read it; the reviewer who scored the application neither lists nor reads it.
    assert_eq!(app.get_as(staff, &location).await.status(), 200);
    assert_problem(app.get_as(reviewer, &location).await, 404).await;
    let listed: Value = app
        .get_as(
            reviewer,
            &format!("/api/v1/applications/{application_id}/documents"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["kind"] != "report_annex"),
        "{listed}"
    );

    // Bad uploads: another kind, a file that is not one of the types, staff, someone else.
    let body = assert_problem(
        annex(&app, applicant, grant_id, "statuts", PDF, "s.pdf").await,
        422,
    )
    .await;
    assert!(
        body["errors"]["kind"][0]
            .as_str()
            .unwrap()
            .contains("report_annex"),
        "{body}"
    );
    assert_problem(
        annex(
            &app,
            applicant,
            grant_id,
            "report_annex",
            b"bonjour",
            "a.txt",
        )
        .await,
        415,
    )
    .await;
    assert_problem(
        annex(&app, staff, grant_id, "report_annex", PDF, "a.pdf").await,
        403,
    )
    .await;
    assert_problem(
        annex(
            &app,
            &cast.other_applicant.token,
            grant_id,
            "report_annex",
            PDF,
            "a.pdf",
        )
        .await,
        404,
    )
    .await;

    // A second annex, removed; once the report is submitted, the annexes no longer change.
    let resp = annex(&app, applicant, grant_id, "report_annex", PDF, "photo.pdf").await;
    let second: Value = resp.json().await.unwrap();
    let delete = |token: String, doc: String| {
        let app = &app;
        async move {
            app.client
                .delete(app.url(&format!("/api/v1/grants/{grant_id}/report/annexes/{doc}")))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
        }
    };
    assert_problem(
        delete(staff.clone(), second["id"].as_str().unwrap().to_owned()).await,
        403,
    )
    .await;
    assert_eq!(
        delete(applicant.clone(), second["id"].as_str().unwrap().to_owned())
            .await
            .status(),
        204
    );
    assert_problem(
        delete(applicant.clone(), second["id"].as_str().unwrap().to_owned()).await,
        404,
    )
    .await;
    assert_eq!(
        put_report(&app, applicant, grant_id, &complete())
            .await
            .status(),
        200
    );
    let resp = post(
        &app,
        applicant,
        format!("/api/v1/grants/{grant_id}/report/submit"),
        json!({}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_problem(
        annex(&app, applicant, grant_id, "report_annex", PDF, "tard.pdf").await,
        409,
    )
    .await;
    assert_problem(
        delete(applicant.clone(), doc["id"].as_str().unwrap().to_owned()).await,
        409,
    )
    .await;
}

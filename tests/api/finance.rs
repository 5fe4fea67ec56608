//! The finance service's list and its file back, and recovery (DESIGN.md §15): essor lists the
//! instalments to pay, the finance software's file comes back with mandates and payment dates,
//! every line judged before anything is written, and a payment recorded once whatever happens.

use serde_json::{Value, json};

use crate::both_backends;
use crate::grants::{decide, mail_about, pdf_text};
use crate::helpers::{Account, Cast, TestApp, assert_problem, distinct_siret, sample_application};

both_backends!(
    the_finance_list_holds_the_requested_instalments_with_their_bank_details,
    an_import_orders_then_pays_and_the_same_file_twice_pays_nothing_twice,
    an_import_with_one_bad_line_writes_nothing_and_names_it,
    two_imports_at_once_pay_once,
    a_recovery_asks_back_no_more_than_was_paid_with_its_letter,
);

pub(crate) const IBAN: &str = "FR7630006000011234567890189";

/// A call without convention whose grants run at the award (the advance, 80 %, falls due then).
pub(crate) async fn call_without_convention(app: &TestApp, staff: &str) -> String {
    let call = app
        .published_call(
            staff,
            json!({"min_reviews": 1, "budget_cents": 10_000_000, "convention": "never"}),
        )
        .await;
    call["id"].as_str().unwrap().to_owned()
}

/// An application of `organisation` to the call, awarded `awarded` cents; with `bank`, the
/// beneficiary gives the bank details (the advance is then requested). Returns the grant.
pub(crate) async fn awarded(
    app: &TestApp,
    cast: &Cast,
    call_id: &str,
    organisation: &str,
    awarded: i64,
    bank: bool,
) -> Value {
    let staff = &cast.staff.token;
    let applicant = &cast.applicant.token;
    let mut body = sample_application();
    body["organisation"]["name"] = json!(organisation);
    body["organisation"]["siret"] = json!(distinct_siret());
    let a = app.draft_application(applicant, call_id, &body).await;
    let id = a["id"].as_str().unwrap();
    app.attach_required(applicant, id).await;
    let resp = app
        .post_json(
            Some(applicant),
            &format!("/api/v1/applications/{id}/submit"),
            &json!({}),
        )
        .await;
    assert_eq!(resp.status(), 200, "submit");
    let asg = app.start_review(staff, id, &[&cast.reviewer]).await;
    app.review(&cast.reviewer, &asg[0], [5, 4, 4, 4, 4]).await;
    decide(
        app,
        staff,
        id,
        json!({"outcome": "accepted", "awarded_cents": awarded,
               "motivation": "Projet utile au quartier.",
               "committee_date": "2026-11-02", "decision_reference": "DEL-2026-0042"}),
    )
    .await;
    let grants: Value = app
        .get_as(staff, &format!("/api/v1/grants?call_id={call_id}"))
        .await
        .json()
        .await
        .unwrap();
    let grant = grants
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["application_id"] == id)
        .unwrap()
        .clone();
    assert_eq!(grant["state"], "running", "{grant}");
    if bank {
        let resp = app
            .client
            .put(app.url(&format!(
                "/api/v1/grants/{}/bank-details",
                grant["id"].as_str().unwrap()
            )))
            .bearer_auth(applicant)
            .json(&json!({"iban": IBAN, "bic": "AGRIFRPP867", "holder": organisation}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
    get_grant(app, staff, grant["id"].as_str().unwrap()).await
}

pub(crate) async fn get_grant(app: &TestApp, token: &str, id: &str) -> Value {
    let resp = app.get_as(token, &format!("/api/v1/grants/{id}")).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

pub(crate) fn states(g: &Value) -> Vec<String> {
    g["instalments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["state"].as_str().unwrap().to_owned())
        .collect()
}

async fn finance_list(app: &TestApp, token: &str, call_id: &str, query: &str) -> reqwest::Response {
    app.get_as(
        token,
        &format!("/api/v1/calls/{call_id}/instalments/export{query}"),
    )
    .await
}

/// The file as text, without its BOM.
async fn list_text(app: &TestApp, staff: &str, call_id: &str) -> String {
    let resp = finance_list(app, staff, call_id, "").await;
    assert_eq!(resp.status(), 200);
    let bytes = resp.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "a UTF-8 BOM for Excel");
    String::from_utf8(bytes[3..].to_vec()).unwrap()
}

pub(crate) async fn import(
    app: &TestApp,
    token: &str,
    call_id: &str,
    csv: &str,
    dry_run: bool,
) -> reqwest::Response {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(csv.as_bytes().to_vec())
            .file_name("retour-finances.csv")
            .mime_str("text/csv")
            .unwrap(),
    );
    app.client
        .post(app.url(&format!(
            "/api/v1/calls/{call_id}/instalments/import?dry_run={dry_run}"
        )))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

pub(crate) async fn audited(
    app: &TestApp,
    staff: &str,
    application_id: &str,
    action: &str,
) -> usize {
    let history: Value = app
        .get_as(
            staff,
            &format!("/api/v1/applications/{application_id}/history"),
        )
        .await
        .json()
        .await
        .unwrap();
    history
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == action)
        .count()
}

async fn the_finance_list_holds_the_requested_instalments_with_their_bank_details(app: TestApp) {
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    let call_id = call_without_convention(&app, staff).await;
    let with_bank = awarded(
        &app,
        &cast,
        &call_id,
        "=HYPERLINK(\"http://x\";\"clic\")",
        1_850_000,
        true,
    )
    .await;
    let without = awarded(
        &app,
        &cast,
        &call_id,
        "Les Jardins de Fives",
        1_000_000,
        false,
    )
    .await;
    assert_eq!(states(&with_bank), ["requested", "planned"]);
    assert_eq!(states(&without), ["planned", "planned"]);

    let text = list_text(&app, staff, &call_id).await;
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines[0],
        "Référence;Structure;SIRET;IBAN;BIC;Titulaire du compte;Montant (€);Versement;État;instalment_id;mandate_reference;paid_on"
    );
    // Only the requested one: the other has no bank details yet.
    assert_eq!(lines.len(), 2, "{text}");
    let cells: Vec<&str> = lines[1].split(';').collect();
    let advance = &with_bank["instalments"][0];
    assert_eq!(cells[0], with_bank["reference"].as_str().unwrap());
    // Free text a spreadsheet would run is defused; the SIRET stays 14 digits of text.
    assert!(cells[1].starts_with("\"'=HYPERLINK"), "{}", lines[1]);
    assert!(lines[1].contains(";\"=\"\"4400"), "{}", lines[1]);
    assert!(
        lines[1].contains(&format!(";{IBAN};AGRIFRPP867;")),
        "{}",
        lines[1]
    );
    assert!(
        lines[1].contains(";14800,00;Avance;demandé au service financier;"),
        "{}",
        lines[1]
    );
    assert!(
        lines[1].ends_with(&format!(";{};;", advance["id"].as_str().unwrap())),
        "{}",
        lines[1]
    );

    // Every state by name; an unknown one is refused.
    let planned = finance_list(&app, staff, &call_id, "?state=planned").await;
    assert_eq!(planned.status(), 200);
    let planned = planned.text().await.unwrap();
    assert_eq!(planned.matches("Solde").count(), 2, "{planned}");
    let body = assert_problem(
        finance_list(&app, staff, &call_id, "?state=versé").await,
        400,
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("versé"), "{body}");

    // Only staff: bank data never reaches anyone else, and an unknown call is not found.
    for who in [&cast.reviewer.token, &cast.applicant.token] {
        assert_problem(finance_list(&app, who, &call_id, "").await, 403).await;
    }
    assert_problem(
        finance_list(&app, staff, "01936f4e-5a7b-7c3d-9e2f-0a1b2c3d4e5f", "").await,
        404,
    )
    .await;
}

async fn an_import_orders_then_pays_and_the_same_file_twice_pays_nothing_twice(app: TestApp) {
    let cast = app.cast().await;
    let staff = &cast.staff.token;
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

    // The finance list comes back filled in: first the mandate alone.
    let list = list_text(&app, staff, &call_id).await;
    let ordered = list.replacen(";;\r\n", ";M-2026-0815;\r\n", 1);
    let dry = import(&app, staff, &call_id, &ordered, true).await;
    assert_eq!(dry.status(), 200);
    let dry: Value = dry.json().await.unwrap();
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["written"], false);
    assert_eq!(dry["lines"][0]["line"], 2);
    assert_eq!(dry["lines"][0]["outcome"], "ordered", "{dry}");
    assert_eq!(dry["lines"][0]["reference"], grant["reference"]);
    assert_eq!(dry["lines"][0]["amount_cents"], 1_480_000);
    assert_eq!(
        states(&get_grant(&app, staff, grant_id).await),
        ["requested", "planned"],
        "a dry run writes nothing"
    );

    let resp = import(&app, staff, &call_id, &ordered, false).await;
    assert_eq!(resp.status(), 200);
    let report: Value = resp.json().await.unwrap();
    assert_eq!(report["written"], true);
    assert_eq!(report["counts"]["ordered"], 1, "{report}");
    let g = get_grant(&app, staff, grant_id).await;
    assert_eq!(states(&g), ["ordered", "planned"]);
    assert_eq!(g["instalments"][0]["mandate_reference"], "M-2026-0815");
    assert_eq!(g["paid_cents"], 0);

    // Then the payment, as a text/csv body with a French date.
    let paid = format!(
        "instalment_id,mandate_reference,paid_on\n{},M-2026-0815,{}\n",
        g["instalments"][0]["id"].as_str().unwrap(),
        "03/12/2026"
    );
    let send = |body: String| {
        app.client
            .post(app.url(&format!("/api/v1/calls/{call_id}/instalments/import")))
            .bearer_auth(staff)
            .header("content-type", "text/csv; charset=utf-8")
            .body(body)
            .send()
    };
    let resp = send(paid.clone()).await.unwrap();
    assert_eq!(resp.status(), 200);
    let report: Value = resp.json().await.unwrap();
    assert_eq!(report["counts"]["paid"], 1, "{report}");
    let g = get_grant(&app, staff, grant_id).await;
    assert_eq!(states(&g), ["paid", "planned"]);
    assert_eq!(g["instalments"][0]["paid_on"], "2026-12-03");
    assert_eq!(g["paid_cents"], 1_480_000);
    let mail = mail_about(&app, &cast.applicant.email, "Versement payé").await;
    assert!(mail.text.contains("14\u{a0}800,00\u{a0}€"), "{}", mail.text);
    assert!(mail.text.contains("3 décembre 2026"), "{}", mail.text);
    assert!(
        mail.text
            .contains(&format!("/candidatures/{application_id}")),
        "{}",
        mail.text
    );

    // The same file again: already paid, nothing written twice.
    let resp = send(paid).await.unwrap();
    assert_eq!(resp.status(), 200);
    let report: Value = resp.json().await.unwrap();
    assert_eq!(report["counts"]["already_paid"], 1, "{report}");
    assert_eq!(report["counts"]["paid"], 0);
    assert_eq!(report["lines"][0]["message"], "déjà payé : rien ne change");
    let resp = import(&app, staff, &call_id, &ordered, false).await;
    let report: Value = resp.json().await.unwrap();
    assert_eq!(report["counts"]["already_paid"], 1, "{report}");
    assert_eq!(
        audited(&app, staff, application_id, "instalment-pay").await,
        1
    );
    assert_eq!(
        audited(&app, staff, application_id, "instalment-order").await,
        1
    );
    // The requested list no longer holds it.
    let list = list_text(&app, staff, &call_id).await;
    assert_eq!(
        list.split("\r\n").filter(|l| !l.is_empty()).count(),
        1,
        "{list}"
    );

    // Only staff import.
    assert_problem(
        import(&app, &cast.reviewer.token, &call_id, &ordered, false).await,
        403,
    )
    .await;
    assert_problem(
        import(&app, &cast.applicant.token, &call_id, &ordered, false).await,
        403,
    )
    .await;
}

async fn an_import_with_one_bad_line_writes_nothing_and_names_it(app: TestApp) {
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    let call_id = call_without_convention(&app, staff).await;
    let a = awarded(
        &app,
        &cast,
        &call_id,
        "Les Ateliers du Sart",
        1_850_000,
        true,
    )
    .await;
    let b = awarded(
        &app,
        &cast,
        &call_id,
        "Les Jardins de Fives",
        1_000_000,
        true,
    )
    .await;
    let a_id = a["instalments"][0]["id"].as_str().unwrap();
    let b_id = b["instalments"][0]["id"].as_str().unwrap();
    let b_solde = b["instalments"][1]["id"].as_str().unwrap();

    // Two good lines, then an unknown id, a date in the wrong shape, and the balance, which
    // was never requested.
    let csv = format!(
        "instalment_id;mandate_reference;paid_on\r\n{a_id};M-1;2026-12-01\r\n{b_id};M-2;\r\n01936f4e-0000-7000-8000-000000000000;M-3;\r\n{b_id}x;M-4;\r\n{b_solde};M-5;2026-31-12\r\n"
    );
    let events = app.count("audit_events").await;
    let body = assert_problem(import(&app, staff, &call_id, &csv, false).await, 422).await;
    assert_eq!(app.count("audit_events").await, events, "nothing written");
    let errors = &body["errors"];
    assert_eq!(errors.as_object().unwrap().len(), 3, "{body}");
    assert!(
        errors["ligne 4"][0]
            .as_str()
            .unwrap()
            .starts_with("inconnu"),
        "{body}"
    );
    assert!(
        errors["ligne 5"][0]
            .as_str()
            .unwrap()
            .starts_with("inconnu"),
        "{body}"
    );
    assert!(
        errors["ligne 6"][0]
            .as_str()
            .unwrap()
            .contains("2026-31-12"),
        "{body}"
    );
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("rien n'a été enregistré"),
        "{body}"
    );
    assert_eq!(body["report"]["lines"][0]["outcome"], "paid", "{body}");
    assert_eq!(body["report"]["lines"][1]["outcome"], "ordered");
    assert_eq!(body["report"]["written"], false);
    // Nothing moved, not even the good lines.
    assert_eq!(
        states(&get_grant(&app, staff, a["id"].as_str().unwrap()).await),
        ["requested", "planned"]
    );
    assert_eq!(
        states(&get_grant(&app, staff, b["id"].as_str().unwrap()).await),
        ["requested", "planned"]
    );

    // A dry run of the same file reports each line, 200, nothing written.
    let resp = import(&app, staff, &call_id, &csv, true).await;
    assert_eq!(resp.status(), 200);
    let report: Value = resp.json().await.unwrap();
    assert_eq!(report["counts"]["unknown"], 2, "{report}");
    assert_eq!(report["counts"]["invalid"], 1);
    assert_eq!(report["counts"]["paid"], 1);

    // Files that cannot be read at all, refused beside `file`.
    for (csv, says) in [
        (
            "instalment_id;paid_on\r\nx;2026-12-01\r\n",
            "mandate_reference",
        ),
        ("", "vide"),
        ("instalment_id;mandate_reference;paid_on\r\n", "vide"),
    ] {
        let body = assert_problem(import(&app, staff, &call_id, csv, false).await, 422).await;
        assert!(
            body["errors"]["file"][0].as_str().unwrap().contains(says),
            "{body}"
        );
    }
    let resp = app
        .client
        .post(app.url(&format!("/api/v1/calls/{call_id}/instalments/import")))
        .bearer_auth(staff)
        .json(&json!({"instalment_id": a_id}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 415).await;
    assert_eq!(
        audited(
            &app,
            staff,
            a["application_id"].as_str().unwrap(),
            "instalment-pay"
        )
        .await,
        0
    );
}

async fn two_imports_at_once_pay_once(app: TestApp) {
    let cast = app.cast().await;
    let staff = &cast.staff.token;
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
    let csv = format!(
        "instalment_id;mandate_reference;paid_on\r\n{};M-9;2026-12-02\r\n",
        grant["instalments"][0]["id"].as_str().unwrap()
    );
    let (one, two) = tokio::join!(
        import(&app, staff, &call_id, &csv, false),
        import(&app, staff, &call_id, &csv, false)
    );
    assert_eq!(one.status(), 200);
    assert_eq!(two.status(), 200);
    let one: Value = one.json().await.unwrap();
    let two: Value = two.json().await.unwrap();
    let paid = one["counts"]["paid"].as_u64().unwrap() + two["counts"]["paid"].as_u64().unwrap();
    let already = one["counts"]["already_paid"].as_u64().unwrap()
        + two["counts"]["already_paid"].as_u64().unwrap();
    assert_eq!((paid, already), (1, 1), "{one} {two}");
    let application_id = grant["application_id"].as_str().unwrap();
    assert_eq!(
        audited(&app, staff, application_id, "instalment-pay").await,
        1
    );
    let g = get_grant(&app, staff, grant["id"].as_str().unwrap()).await;
    assert_eq!(g["paid_cents"], 1_480_000);
}

async fn recovery(app: &TestApp, who: &Account, grant_id: &str, body: Value) -> reqwest::Response {
    app.post_json(
        Some(&who.token),
        &format!("/api/v1/grants/{grant_id}/recovery"),
        &body,
    )
    .await
}

async fn a_recovery_asks_back_no_more_than_was_paid_with_its_letter(app: TestApp) {
    let cast = app.cast().await;
    let staff = &cast.staff.token;
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
    let motivation = json!("La recyclerie n'a ouvert que trois mois sur douze.");

    // Nothing paid yet: nothing to give back.
    let body = assert_problem(
        recovery(
            &app,
            &cast.staff,
            grant_id,
            json!({"amount_cents": 100, "motivation": motivation}),
        )
        .await,
        409,
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("caduc"), "{body}");

    let csv = format!(
        "instalment_id;mandate_reference;paid_on\r\n{};M-1;2026-12-01\r\n",
        grant["instalments"][0]["id"].as_str().unwrap()
    );
    assert_eq!(
        import(&app, staff, &call_id, &csv, false).await.status(),
        200
    );

    // More than paid, nothing, no motivation: each field named, nothing changes.
    let body = assert_problem(
        recovery(
            &app,
            &cast.staff,
            grant_id,
            json!({"amount_cents": 1_480_001, "motivation": ""}),
        )
        .await,
        422,
    )
    .await;
    assert!(
        body["errors"]["amount_cents"][0]
            .as_str()
            .unwrap()
            .contains("14\u{a0}800,00\u{a0}€"),
        "{body}"
    );
    assert!(body["errors"]["motivation"].is_array(), "{body}");
    assert_problem(
        recovery(
            &app,
            &cast.staff,
            grant_id,
            json!({"amount_cents": 0, "motivation": motivation}),
        )
        .await,
        422,
    )
    .await;
    assert_problem(
        recovery(
            &app,
            &cast.staff,
            grant_id,
            json!({"amount_cents": 100, "motivation": motivation, "iban": "x"}),
        )
        .await,
        422,
    )
    .await;
    // Not theirs: the beneficiary may not, a reviewer does not even see the grant.
    assert_problem(
        recovery(
            &app,
            &cast.applicant,
            grant_id,
            json!({"amount_cents": 100, "motivation": motivation}),
        )
        .await,
        403,
    )
    .await;
    assert_problem(
        recovery(
            &app,
            &cast.reviewer,
            grant_id,
            json!({"amount_cents": 100, "motivation": motivation}),
        )
        .await,
        404,
    )
    .await;
    assert_eq!(get_grant(&app, staff, grant_id).await["state"], "running");

    let resp = recovery(
        &app,
        &cast.staff,
        grant_id,
        json!({"amount_cents": 450_000, "motivation": motivation}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let g: Value = resp.json().await.unwrap();
    assert_eq!(g["state"], "recovery_requested");
    assert_eq!(g["recovery"]["amount_cents"], 450_000);
    assert_eq!(g["recovery"]["motivation"], motivation);
    // The balance will never be paid.
    assert_eq!(states(&g), ["paid", "cancelled"]);
    let letter = g["letters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["kind"] == "recovery")
        .unwrap_or_else(|| panic!("{g}"))
        .clone();
    let pdf = app
        .get_as(
            &cast.applicant.token,
            &format!("/api/v1/letters/{}", letter["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(pdf.status(), 200);
    let pdf = pdf.bytes().await.unwrap();
    if let Some(text) = pdf_text(&pdf) {
        for expected in [
            "Demande de reversement de subvention",
            "4 500,00 €",
            "quatre mille cinq cents euros",
            "14 800,00 €",
            "trois mois sur douze",
            "Télérecours citoyens",
        ] {
            assert!(text.contains(expected), "« {expected} » missing: {text}");
        }
    }
    let mail = mail_about(&app, &cast.applicant.email, "Demande de reversement").await;
    assert!(mail.text.contains("4\u{a0}500,00\u{a0}€"), "{}", mail.text);
    let (name, bytes) = mail.attachment.expect("the letter is attached");
    assert!(name.ends_with(".pdf"), "{name}");
    assert_eq!(bytes, pdf.to_vec());

    // Twice: 409. Then staff close it.
    assert_problem(
        recovery(
            &app,
            &cast.staff,
            grant_id,
            json!({"amount_cents": 100, "motivation": motivation}),
        )
        .await,
        409,
    )
    .await;
    let close_path = format!("/api/v1/grants/{grant_id}/close-recovery");
    let close = |who: String| {
        let path = close_path.clone();
        let app = &app;
        async move { app.post_json(Some(&who), &path, &json!({})).await }
    };
    assert_problem(close(cast.applicant.token.clone()).await, 403).await;
    let resp = close(staff.clone()).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["state"], "closed");
    assert_problem(close(staff.clone()).await, 409).await;
}

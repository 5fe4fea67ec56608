//! After the decision (DESIGN.md §15): the grant created with the award, the letters of each
//! decision as PDFs that say what the law requires, and who may read them.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use essor::domain::account::Role;

use crate::both_backends;
use crate::helpers::{TestApp, assert_problem};

both_backends!(
    an_award_creates_a_running_grant_with_its_letter,
    refusals_and_ineligibilities_get_their_letter,
    a_convention_is_signed_in_essor_then_countersigned,
    a_countersignature_may_carry_the_scanned_paper_and_a_grant_may_lapse,
    bank_details_are_checked_masked_for_the_beneficiary_and_never_shown_to_reviewers,
    instalments_are_requested_once_their_trigger_fired_and_the_bank_details_exist,
    a_call_s_own_schedule_splits_the_award_and_one_not_at_100_is_refused,
);

crate::both_backends_clocked!(
    an_unsigned_convention_is_recalled_at_7_then_21_days_once_each,
    the_report_is_recalled_30_and_7_days_before_and_the_day_after_once_each,
);

/// The text of a PDF by poppler's `pdftotext`, its white space folded. CI installs
/// poppler-utils and sets ESSOR_REQUIRE_PDFTOTEXT=1; elsewhere a missing tool is a loud skip.
pub(crate) fn pdf_text(pdf: &[u8]) -> Option<String> {
    let dir = tempfile_dir();
    let file = dir.join("letter.pdf");
    std::fs::write(&file, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&file)
        .arg("-")
        .output();
    std::fs::remove_dir_all(&dir).ok();
    match out {
        Ok(out) if out.status.success() => Some(
            String::from_utf8(out.stdout)
                .unwrap()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        ),
        other => {
            let why = format!("pdftotext could not run ({other:?}): install poppler-utils");
            if std::env::var("ESSOR_REQUIRE_PDFTOTEXT").is_ok_and(|v| v == "1") {
                panic!("ESSOR_REQUIRE_PDFTOTEXT=1 but {why}");
            }
            eprintln!("WARNING letter text not checked, SKIPPED: {why}");
            None
        }
    }
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("essor-test-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub(crate) async fn decide(app: &TestApp, staff: &str, id: &str, body: Value) -> Value {
    let resp = app
        .post_json(
            Some(staff),
            &format!("/api/v1/applications/{id}/decision"),
            &body,
        )
        .await;
    assert_eq!(resp.status(), 200, "decision");
    resp.json().await.unwrap()
}

/// The applicant's decision mail once the worker has sent it (polled, 10 s at most).
async fn decision_mail(app: &TestApp, to: &str) -> essor::notify::SentMail {
    for _ in 0..200 {
        if let Some(m) = app
            .sent_mails()
            .into_iter()
            .find(|m| m.to == to && m.attachment.is_some())
        {
            return m;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no mail with a letter to {to}: {:?}", app.sent_mails());
}

async fn letter_bytes(app: &TestApp, token: &str, id: &str) -> reqwest::Response {
    app.get_as(token, &format!("/api/v1/letters/{id}")).await
}

async fn an_award_creates_a_running_grant_with_its_letter(app: TestApp) {
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    let call = app
        .published_call(staff, json!({"min_reviews": 1, "budget_cents": 5_000_000}))
        .await;
    let call_id = call["id"].as_str().unwrap();
    let a = app
        .submitted_application(&cast.applicant.token, call_id)
        .await;
    let id = a["id"].as_str().unwrap();
    let reference = a["reference"].as_str().unwrap();
    let asg = app.start_review(staff, id, &[&cast.reviewer]).await;
    app.review(&cast.reviewer, &asg[0], [5, 4, 4, 4, 4]).await;

    // Nothing yet: no grant, no letter.
    let none: Value = app
        .get_as(staff, "/api/v1/grants")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(none, json!([]));

    decide(
        &app,
        staff,
        id,
        json!({"outcome": "accepted", "awarded_cents": 1_850_000,
               "motivation": "Projet structurant pour le quartier.",
               "committee_date": "2026-11-02", "decision_reference": "DEL-2026-0042"}),
    )
    .await;

    // The grant: 18 500 € needs no convention under the default rule (above 23 000 €), so
    // essor starts it at once.
    let list: Value = app
        .get_as(staff, &format!("/api/v1/grants?call_id={call_id}"))
        .await
        .json()
        .await
        .unwrap();
    let grants = list.as_array().unwrap();
    assert_eq!(grants.len(), 1, "{list}");
    let grant = &grants[0];
    assert_eq!(grant["application_id"], id);
    assert_eq!(grant["reference"], reference);
    assert_eq!(grant["awarded_cents"], 1_850_000);
    assert_eq!(grant["state"], "running");
    assert_eq!(grant["convention_required"], false);
    assert!(grant["report_due_on"].is_string());
    let grant_id = grant["id"].as_str().unwrap();
    // Staff may declare it lapsed or ask for a recovery; the beneficiary may report.
    assert_eq!(
        grant["allowed_actions"],
        json!(["lapse", "request-recovery"])
    );
    let mine: Value = app
        .get_as(&cast.applicant.token, &format!("/api/v1/grants/{grant_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["state"], "running");
    assert_eq!(mine["allowed_actions"], json!(["submit-report"]));
    let filtered: Value = app
        .get_as(staff, "/api/v1/grants?state=awaiting_signature")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(filtered, json!([]));
    let bad = assert_problem(app.get_as(staff, "/api/v1/grants?state=signé").await, 400).await;
    assert!(
        bad["detail"]
            .as_str()
            .unwrap()
            .contains("état de financement"),
        "{bad}"
    );

    // The award letter, listed with its digest, downloaded as issued.
    let letters: Value = app
        .get_as(
            &cast.applicant.token,
            &format!("/api/v1/applications/{id}/letters"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(letters.as_array().unwrap().len(), 1, "{letters}");
    let letter = &letters[0];
    assert_eq!(letter["kind"], "award");
    assert_eq!(mine["letters"][0]["id"], letter["id"]);
    let letter_id = letter["id"].as_str().unwrap();
    let resp = letter_bytes(&app, &cast.applicant.token, letter_id).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    let disposition = resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(disposition.contains("arrete-attributif-"), "{disposition}");
    let pdf = resp.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let digest: String = Sha256::digest(&pdf)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(letter["sha256"], digest);
    assert_eq!(letter["size_bytes"], pdf.len());

    // The audit trail recorded the same digest with the decision.
    let history: Value = app
        .get_as(staff, &format!("/api/v1/applications/{id}/history"))
        .await
        .json()
        .await
        .unwrap();
    let events = history.as_array().unwrap();
    let accept = events
        .iter()
        .find(|e| e["action"] == "accept")
        .expect("accept event");
    assert_eq!(accept["payload"]["letter"]["sha256"], digest, "{accept}");
    assert_eq!(accept["payload"]["grant_id"], grant_id);
    let start = events
        .iter()
        .find(|e| e["action"] == "grant-start")
        .expect("grant-start");
    assert_eq!(start["payload"]["to_state"], "running");
    // The beneficiary reads the grant's move in their history too.
    let theirs: Value = app
        .get_as(
            &cast.applicant.token,
            &format!("/api/v1/applications/{id}/history"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(
        theirs
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "grant-start")
    );

    if let Some(text) = pdf_text(&pdf) {
        for expected in [
            "Arrêté attributif de subvention",
            reference,
            "18 500,00 €",
            "dix-huit mille cinq cents euros",
            "DEL-2026-0042",
            "2 novembre 2026",
            "Avance",
            "14 800,00 €",
            "Solde",
            "3 700,00 €",
            "compte rendu financier",
            "tribunal administratif de Lille",
            "Télérecours citoyens",
            "deux mois",
            "Projet structurant pour le quartier.",
        ] {
            assert!(
                text.contains(expected),
                "« {expected} » missing from: {text}"
            );
        }
    }

    // Nobody else: the other applicant, the reviewer, an unknown or malformed id.
    assert_problem(
        letter_bytes(&app, &cast.other_applicant.token, letter_id).await,
        404,
    )
    .await;
    assert_problem(
        letter_bytes(&app, &cast.reviewer.token, letter_id).await,
        404,
    )
    .await;
    assert_problem(
        app.get_as(
            &cast.reviewer.token,
            &format!("/api/v1/applications/{id}/letters"),
        )
        .await,
        404,
    )
    .await;
    assert_problem(
        app.get_as(
            &cast.other_applicant.token,
            &format!("/api/v1/grants/{grant_id}"),
        )
        .await,
        404,
    )
    .await;
    assert_problem(
        app.get_as(&cast.reviewer.token, &format!("/api/v1/grants/{grant_id}"))
            .await,
        404,
    )
    .await;
    assert_problem(
        app.get_as(&cast.reviewer.token, "/api/v1/grants").await,
        403,
    )
    .await;
    let theirs: Value = app
        .get_as(&cast.other_applicant.token, "/api/v1/grants")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(theirs, json!([]));
    assert_problem(letter_bytes(&app, staff, "pas-un-identifiant").await, 404).await;
    assert_problem(
        letter_bytes(&app, staff, &uuid::Uuid::now_v7().to_string()).await,
        404,
    )
    .await;
    assert_problem(app.get_as(staff, "/api/v1/grants/42").await, 404).await;

    // The decision mail carries the letter: the same bytes, named after the reference.
    let mail = decision_mail(&app, &cast.applicant.email).await;
    let (name, attached) = mail.attachment.clone().expect("the award letter attached");
    assert_eq!(name, format!("arrete-attributif-{reference}.pdf"));
    assert_eq!(attached, pdf.to_vec());
    assert!(mail.raw.contains("application/pdf"), "{}", mail.raw);
    assert!(mail.raw.contains("multipart/mixed"));
    assert_eq!(app.count("grants").await, 1);
    assert_eq!(app.count("letters").await, 1);
}

async fn refusals_and_ineligibilities_get_their_letter(app: TestApp) {
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    let call = app.published_call(staff, json!({"min_reviews": 1})).await;
    let call_id = call["id"].as_str().unwrap();
    let refused = app
        .submitted_application(&cast.applicant.token, call_id)
        .await;
    let refused_id = refused["id"].as_str().unwrap();
    let asg = app.start_review(staff, refused_id, &[&cast.reviewer]).await;
    app.review(&cast.reviewer, &asg[0], [2, 2, 2, 2, 2]).await;
    decide(
        &app,
        staff,
        refused_id,
        json!({"outcome": "rejected", "motivation": "Le modèle économique reste à établir.",
               "committee_date": "2026-11-02"}),
    )
    .await;

    let third = app.account(Role::Applicant, "troisieme@exemple.fr").await;
    let ineligible = app.submitted_application(&third.token, call_id).await;
    let ineligible_id = ineligible["id"].as_str().unwrap();
    let resp = app
        .post_json(
            Some(staff),
            &format!("/api/v1/applications/{ineligible_id}/declare-ineligible"),
            &json!({"motivation": "Activité hors métropole ] #set page(width: 1cm)"}),
        )
        .await;
    assert_eq!(resp.status(), 200);

    // No grant for either.
    let grants: Value = app
        .get_as(staff, "/api/v1/grants")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(grants, json!([]));

    for (token, id, kind, words) in [
        (
            &cast.applicant.token,
            refused_id,
            "refusal",
            vec![
                "Notification de refus de subvention",
                "Le modèle économique reste à établir.",
            ],
        ),
        (
            &third.token,
            ineligible_id,
            "ineligibility",
            // Markup-looking motivation printed as typed.
            vec![
                "Notification d'inéligibilité de la candidature",
                "Activité hors métropole ] #set page(width: 1cm)",
            ],
        ),
    ] {
        let letters: Value = app
            .get_as(token, &format!("/api/v1/applications/{id}/letters"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(letters.as_array().unwrap().len(), 1, "{letters}");
        assert_eq!(letters[0]["kind"], kind);
        let resp = letter_bytes(&app, token, letters[0]["id"].as_str().unwrap()).await;
        assert_eq!(resp.status(), 200);
        let pdf = resp.bytes().await.unwrap();
        let email = if kind == "refusal" {
            &cast.applicant.email
        } else {
            &third.email
        };
        let mail = decision_mail(&app, email).await;
        assert_eq!(mail.attachment.unwrap().1, pdf.to_vec(), "{kind}");
        if let Some(text) = pdf_text(&pdf) {
            for expected in words.iter().copied().chain([
                "tribunal administratif de Lille",
                "Télérecours citoyens",
                "deux mois",
            ]) {
                assert!(
                    text.contains(expected),
                    "{kind}: « {expected} » missing: {text}"
                );
            }
            assert!(!text.contains("Article 1"), "{kind}");
        }
    }
}

/// The mail to `to` whose subject contains `subject` once the worker has sent it (10 s at most).
pub(crate) async fn mail_about(app: &TestApp, to: &str, subject: &str) -> essor::notify::SentMail {
    for _ in 0..200 {
        if let Some(m) = app
            .sent_mails()
            .into_iter()
            .find(|m| m.to == to && m.subject.contains(subject))
        {
            return m;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let subjects: Vec<(String, String)> = app
        .sent_mails()
        .into_iter()
        .map(|m| (m.to, m.subject))
        .collect();
    panic!("no mail « {subject} » to {to}: {subjects:?}");
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An application of a call that requires a convention, awarded 18 500 €: its grant waits for
/// the signature. Returns (application, grant).
async fn awarded_with_convention(app: &TestApp, cast: &crate::helpers::Cast) -> (Value, Value) {
    let staff = &cast.staff.token;
    let call = app
        .published_call(
            staff,
            json!({"min_reviews": 1, "budget_cents": 5_000_000, "convention": "always"}),
        )
        .await;
    assert_eq!(call["convention"], "always", "{call}");
    assert_eq!(call["convention_threshold_cents"], 2_300_000);
    assert_eq!(call["report_due_months"], 6);
    let a = app
        .submitted_application(&cast.applicant.token, call["id"].as_str().unwrap())
        .await;
    let id = a["id"].as_str().unwrap();
    let asg = app.start_review(staff, id, &[&cast.reviewer]).await;
    app.review(&cast.reviewer, &asg[0], [5, 4, 4, 4, 4]).await;
    decide(
        app,
        staff,
        id,
        json!({"outcome": "accepted", "awarded_cents": 1_850_000,
               "motivation": "Projet structurant pour le quartier.",
               "committee_date": "2026-11-02", "decision_reference": "DEL-2026-0042"}),
    )
    .await;
    let grants: Value = app
        .get_as(staff, "/api/v1/grants")
        .await
        .json()
        .await
        .unwrap();
    (a, grants[0].clone())
}

async fn a_convention_is_signed_in_essor_then_countersigned(app: TestApp) {
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    let applicant = &cast.applicant.token;
    let (a, grant) = awarded_with_convention(&app, &cast).await;
    let id = a["id"].as_str().unwrap();
    let reference = a["reference"].as_str().unwrap();
    let grant_id = grant["id"].as_str().unwrap();
    let path = |action: &str| format!("/api/v1/grants/{grant_id}/{action}");

    // The call requires a convention: issued with the award, the grant waits for it.
    assert_eq!(grant["state"], "awaiting_signature", "{grant}");
    assert_eq!(grant["convention_required"], true);
    assert_eq!(grant["allowed_actions"], json!(["lapse"]));
    assert_eq!(grant["signature"], Value::Null);
    let kinds: Vec<&str> = grant["letters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["award", "convention"]);
    let mine: Value = app
        .get_as(applicant, &format!("/api/v1/grants/{grant_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["allowed_actions"], json!(["sign"]));
    let convention_id = grant["letters"][1]["id"].as_str().unwrap();
    let unsigned = letter_bytes(&app, applicant, convention_id)
        .await
        .bytes()
        .await
        .unwrap();
    let unsigned_sha = sha256_hex(&unsigned);
    assert_eq!(grant["letters"][1]["sha256"], unsigned_sha);
    if let Some(text) = pdf_text(&unsigned) {
        for expected in [
            "Convention d'attribution de subvention",
            reference,
            "18 500,00 €",
            "dix-huit mille cinq cents euros",
            "à la signature de la convention",
            "Article 5 — Reversement",
        ] {
            assert!(text.contains(expected), "« {expected} » missing: {text}");
        }
        assert!(!text.contains("Page de signature"));
    }
    // The beneficiary is mailed the convention, attached.
    let to_sign = mail_about(&app, &cast.applicant.email, "prête à signer").await;
    let (name, attached) = to_sign.attachment.clone().expect("the convention attached");
    assert_eq!(name, format!("convention-{reference}.pdf"));
    assert_eq!(attached, unsigned.to_vec());
    assert!(
        to_sign.text.contains(&format!("/candidatures/{id}")),
        "{}",
        to_sign.text
    );

    let good = json!({"signatory_name": "Léa Dupont ] #pagebreak()",
                      "signatory_quality": "Présidente", "accept": true});
    let letters_before = app.count("letters").await;
    let audit_before = app.count("audit_events").await;

    // Refusals change nothing: staff may not sign (403), nobody else sees the grant (404), a
    // signature needs a name, a quality and the acceptance (422), a countersignature the
    // signature first (409).
    let p = assert_problem(app.post_json(Some(staff), &path("sign"), &good).await, 403).await;
    assert!(p["detail"].as_str().unwrap().contains("signer"), "{p}");
    for other in [&cast.other_applicant.token, &cast.reviewer.token] {
        assert_problem(app.post_json(Some(other), &path("sign"), &good).await, 404).await;
    }
    assert_problem(
        app.post_json(Some(applicant), "/api/v1/grants/pas-un-id/sign", &good)
            .await,
        404,
    )
    .await;
    let p = assert_problem(
        app.post_json(
            Some(applicant),
            &path("sign"),
            &json!({"signatory_name": " ", "signatory_quality": "Présidente", "accept": false}),
        )
        .await,
        422,
    )
    .await;
    assert!(p["errors"]["signatory_name"].is_array(), "{p}");
    assert!(
        p["errors"]["accept"][0]
            .as_str()
            .unwrap()
            .contains("accepter"),
        "{p}"
    );
    let p = assert_problem(
        app.post_json(
            Some(applicant),
            &path("sign"),
            &json!({"signatory_name": "Léa Dupont"}),
        )
        .await,
        422,
    )
    .await;
    assert!(p["errors"].as_object().unwrap().len() == 1, "{p}");
    let p = assert_problem(
        app.post_json(Some(staff), &path("countersign"), &json!({}))
            .await,
        409,
    )
    .await;
    assert_eq!(p["current_state"], "awaiting_signature", "{p}");
    assert!(
        p["detail"].as_str().unwrap().contains("pas encore signée"),
        "{p}"
    );
    assert_eq!(app.count("letters").await, letters_before);
    assert_eq!(app.count("audit_events").await, audit_before);

    // The signature: the signed convention is issued, with its signature page.
    let resp = app.post_json(Some(applicant), &path("sign"), &good).await;
    assert_eq!(resp.status(), 200);
    let signed: Value = resp.json().await.unwrap();
    assert_eq!(signed["state"], "signed", "{signed}");
    assert_eq!(
        signed["signature"]["signatory_name"],
        "Léa Dupont ] #pagebreak()"
    );
    assert_eq!(signed["signature"]["signatory_quality"], "Présidente");
    assert_eq!(signed["allowed_actions"], json!([]));
    let signed_letter = signed["letters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["kind"] == "signed_convention")
        .expect("the signed convention")
        .clone();
    let signed_pdf = letter_bytes(&app, applicant, signed_letter["id"].as_str().unwrap())
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(signed_letter["sha256"], sha256_hex(&signed_pdf));
    if let Some(text) = pdf_text(&signed_pdf) {
        for expected in [
            "Convention d'attribution de subvention signée",
            "Page de signature",
            "Léa Dupont ] #pagebreak()",
            "Présidente",
            unsigned_sha.as_str(),
            "18 500,00 €",
        ] {
            assert!(text.contains(expected), "« {expected} » missing: {text}");
        }
    }

    // Twice: 409, nothing more written.
    let letters_signed = app.count("letters").await;
    let p = assert_problem(
        app.post_json(Some(applicant), &path("sign"), &good).await,
        409,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("déjà signée"), "{p}");
    assert_eq!(app.count("letters").await, letters_signed);

    // The applicant may not countersign; a scanned copy that is not a PDF is refused (415).
    assert_problem(
        app.post_json(Some(applicant), &path("countersign"), &json!({}))
            .await,
        403,
    )
    .await;
    let png = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec())
            .file_name("convention.pdf"),
    );
    let resp = app
        .client
        .post(app.url(&path("countersign")))
        .bearer_auth(staff)
        .multipart(png)
        .send()
        .await
        .unwrap();
    let p = assert_problem(resp, 415).await;
    assert!(p["detail"].as_str().unwrap().contains("PDF"), "{p}");
    let still: Value = app
        .get_as(staff, &format!("/api/v1/grants/{grant_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(still["state"], "signed");
    assert_eq!(app.count("letters").await, letters_signed);

    // Two agents countersign at the same moment: one wins, the other is told (409).
    let (url, empty) = (path("countersign"), json!({}));
    let (first, second) = tokio::join!(
        app.post_json(Some(staff), &url, &empty),
        app.post_json(Some(&cast.admin.token), &url, &empty),
    );
    let mut statuses = [first.status().as_u16(), second.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409]);
    let running: Value = app
        .get_as(applicant, &format!("/api/v1/grants/{grant_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(running["state"], "running");
    assert!(running["countersigned_at"].is_string(), "{running}");
    assert_eq!(running["allowed_actions"], json!(["submit-report"]));

    // The trail: each move once, with the digests.
    let history: Value = app
        .get_as(staff, &format!("/api/v1/applications/{id}/history"))
        .await
        .json()
        .await
        .unwrap();
    let events = history.as_array().unwrap();
    let named = |n: &str| events.iter().filter(|e| e["action"] == n).count();
    assert_eq!(named("grant-issue-convention"), 1);
    assert_eq!(named("grant-sign"), 1);
    assert_eq!(named("grant-countersign"), 1);
    let sign = events.iter().find(|e| e["action"] == "grant-sign").unwrap();
    assert_eq!(sign["payload"]["unsigned_sha256"], unsigned_sha);
    assert_eq!(sign["payload"]["letter"]["sha256"], signed_letter["sha256"]);
    let issue = events
        .iter()
        .find(|e| e["action"] == "grant-issue-convention")
        .unwrap();
    assert_eq!(issue["payload"]["letter"]["sha256"], unsigned_sha);

    // The mails: the receipt with the signed convention, staff asked to countersign (their
    // link opens the staff page), the beneficiary told the grant runs.
    let receipt = mail_about(&app, &cast.applicant.email, "convention signée").await;
    assert_eq!(
        receipt.attachment.as_ref().map(|(_, b)| b.as_slice()),
        Some(signed_pdf.as_ref())
    );
    let to_staff = mail_about(&app, "ess@lillemetropole.fr", "Convention à contresigner").await;
    assert!(
        to_staff
            .text
            .contains(&format!("/gestion/candidatures/{id}")),
        "{}",
        to_staff.text
    );
    assert!(to_staff.attachment.is_none());
    mail_about(&app, &cast.applicant.email, "convention contresignée").await;
}

async fn a_countersignature_may_carry_the_scanned_paper_and_a_grant_may_lapse(app: TestApp) {
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    let applicant = &cast.applicant.token;
    let (_, grant) = awarded_with_convention(&app, &cast).await;
    let grant_id = grant["id"].as_str().unwrap();
    let path = |action: &str| format!("/api/v1/grants/{grant_id}/{action}");
    let resp = app
        .post_json(
            Some(applicant),
            &path("sign"),
            &json!({"signatory_name": "Léa Dupont", "signatory_quality": "Présidente", "accept": true}),
        )
        .await;
    assert_eq!(resp.status(), 200);

    // The scanned copy of the paper staff signed: kept as issued, listed with its digest.
    let scan = crate::helpers::PDF;
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(scan.to_vec()).file_name("convention contresignée.pdf"),
    );
    let resp = app
        .client
        .post(app.url(&path("countersign")))
        .bearer_auth(staff)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let running: Value = resp.json().await.unwrap();
    assert_eq!(running["state"], "running");
    let copy = running["letters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["kind"] == "countersigned_convention")
        .expect("the scanned copy")
        .clone();
    assert_eq!(copy["sha256"], sha256_hex(scan));
    let downloaded = letter_bytes(&app, applicant, copy["id"].as_str().unwrap())
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(downloaded.as_ref(), scan);

    // Lapse: staff only, with a motivation; then nothing else moves it.
    let lapse = |token: &str, body: Value| {
        let url = path("lapse");
        let token = token.to_owned();
        let app = &app;
        async move { app.post_json(Some(&token), &url, &body).await }
    };
    assert_problem(
        lapse(applicant, json!({"motivation": "Je renonce."})).await,
        403,
    )
    .await;
    let p = assert_problem(lapse(staff, json!({"motivation": "  "})).await, 422).await;
    assert!(p["errors"]["motivation"].is_array(), "{p}");
    assert_problem(lapse(staff, json!({"motif": "x"})).await, 422).await;
    let resp = lapse(
        staff,
        json!({"motivation": "Le projet n'a pas démarré dans l'année."}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let lapsed: Value = resp.json().await.unwrap();
    assert_eq!(lapsed["state"], "lapsed");
    assert_eq!(lapsed["allowed_actions"], json!([]));
    // Nothing more will be paid: the instalments not ordered are cancelled.
    let states: Vec<&str> = lapsed["instalments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["cancelled", "cancelled"], "{lapsed}");
    let mail = mail_about(&app, &cast.applicant.email, "caduque").await;
    assert!(
        mail.text
            .contains("Le projet n'a pas démarré dans l'année.")
    );
    let p = assert_problem(lapse(staff, json!({"motivation": "Encore."})).await, 409).await;
    assert_eq!(p["current_state"], "lapsed");
    assert_problem(
        app.post_json(
            Some(applicant),
            &path("sign"),
            &json!({"signatory_name": "Léa Dupont", "signatory_quality": "Présidente", "accept": true}),
        )
        .await,
        409,
    )
    .await;
}

async fn an_unsigned_convention_is_recalled_at_7_then_21_days_once_each(app: TestApp) {
    let cast = app.cast().await;
    let (_, grant) = awarded_with_convention(&app, &cast).await;
    let convention = letter_bytes(
        &app,
        &cast.staff.token,
        grant["letters"][1]["id"].as_str().unwrap(),
    )
    .await
    .bytes()
    .await
    .unwrap();
    let state =
        essor::state::AppState::with_clock(app.db.clone(), app.settings.clone(), app.clock.clone())
            .unwrap();
    let due = || essor::services::reminders::send_due(&state);
    let day = chrono::Duration::days(1);

    // Nothing the first six days.
    assert_eq!(due().await.unwrap(), 0);
    assert!(app.clock.advance(day * 6));
    assert_eq!(due().await.unwrap(), 0);
    // The 7th day: one reminder, with the convention attached; the next pass sends nothing.
    assert!(app.clock.advance(day));
    assert_eq!(due().await.unwrap(), 1);
    assert_eq!(due().await.unwrap(), 0);
    let first = mail_about(&app, &cast.applicant.email, "Rappel").await;
    assert!(first.text.contains("il y a 7 jours"), "{}", first.text);
    let (name, attached) = first.attachment.clone().expect("the convention attached");
    assert!(name.starts_with("convention-"), "{name}");
    assert_eq!(attached, convention.to_vec());
    // Until the 21st day, nothing more; then the second, once.
    assert!(app.clock.advance(day * 13));
    assert_eq!(due().await.unwrap(), 0);
    assert!(app.clock.advance(day));
    assert_eq!(due().await.unwrap(), 1);
    assert_eq!(due().await.unwrap(), 0);
    assert_eq!(app.count("grant_reminders").await, 2);
    for _ in 0..200 {
        let n = app
            .sent_mails()
            .iter()
            .filter(|m| m.subject.contains("Rappel"))
            .count();
        if n == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let reminders: Vec<_> = app
        .sent_mails()
        .into_iter()
        .filter(|m| m.subject.contains("Rappel"))
        .collect();
    assert_eq!(reminders.len(), 2);
    assert!(reminders[1].text.contains("il y a 21 jours"));

    // Signed, nothing more is recalled, however long it waits.
    let token = app
        .token(&cast.applicant.email, crate::helpers::PASSWORD)
        .await;
    let resp = app
        .post_json(
            Some(&token),
            &format!("/api/v1/grants/{}/sign", grant["id"].as_str().unwrap()),
            &json!({"signatory_name": "Léa Dupont", "signatory_quality": "Présidente", "accept": true}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert!(app.clock.advance(day * 60));
    assert_eq!(due().await.unwrap(), 0);
    assert_eq!(app.count("grant_reminders").await, 2);
}

async fn bank_details_are_checked_masked_for_the_beneficiary_and_never_shown_to_reviewers(
    app: TestApp,
) {
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    let applicant = &cast.applicant.token;
    let (a, grant) = awarded_with_convention(&app, &cast).await;
    let id = a["id"].as_str().unwrap();
    let grant_id = grant["id"].as_str().unwrap();
    let path = format!("/api/v1/grants/{grant_id}/bank-details");
    let put = |token: &str, body: Value| {
        let (app, path, token) = (&app, path.clone(), token.to_owned());
        async move {
            app.client
                .put(app.url(&path))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let good = json!({"iban": "fr76 3000 6000 0112 3456 7890 189", "bic": "agrifrpp867",
                      "holder": "Les Ateliers du Sart"});
    let whole = "FR76 3000 6000 0112 3456 7890 189";
    let digits = "30006000011234567890";

    // Bad input: each field named, in French, nothing written.
    let p = assert_problem(
        put(
            applicant,
            json!({"iban": "FR76 3000 6000 0112 3456 7890 188", "bic": "BNP", "holder": ""}),
        )
        .await,
        422,
    )
    .await;
    assert!(
        p["errors"]["iban"][0].as_str().unwrap().contains("clé"),
        "{p}"
    );
    assert!(p["errors"]["bic"].is_array(), "{p}");
    assert!(p["errors"]["holder"].is_array(), "{p}");
    let p = assert_problem(
        put(
            applicant,
            json!({"iban": "FR80 2004 1010 0505 0001", "bic": "AGRIFRPP867", "holder": "X"}),
        )
        .await,
        422,
    )
    .await;
    assert!(
        p["errors"]["iban"][0].as_str().unwrap().contains("France"),
        "{p}"
    );
    assert_problem(put(applicant, json!({"iban": "FR76"})).await, 422).await;
    // Only the beneficiary gives them; nobody else sees the grant.
    assert_problem(put(staff, good.clone()).await, 403).await;
    assert_problem(put(&cast.other_applicant.token, good.clone()).await, 404).await;
    assert_problem(put(&cast.reviewer.token, good.clone()).await, 404).await;
    let unchanged: Value = app
        .get_as(staff, &format!("/api/v1/grants/{grant_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(unchanged["bank_details"], Value::Null);

    // Given: the beneficiary reads the mask, staff the whole IBAN.
    let resp = put(applicant, good.clone()).await;
    assert_eq!(resp.status(), 200);
    let mine: Value = resp.json().await.unwrap();
    assert_eq!(
        mine["bank_details"]["iban"], "FR76 •••• •••• 0189",
        "{mine}"
    );
    assert_eq!(mine["bank_details"]["masked"], true);
    assert_eq!(mine["bank_details"]["bic"], "AGRIFRPP867");
    assert!(!mine.to_string().contains(digits));
    let theirs: Value = app
        .get_as(staff, &format!("/api/v1/grants/{grant_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(theirs["bank_details"]["iban"], whole);
    assert_eq!(theirs["bank_details"]["masked"], false);
    let listed: Value = app
        .get_as(applicant, "/api/v1/grants")
        .await
        .json()
        .await
        .unwrap();
    assert!(!listed.to_string().contains(digits), "{listed}");

    // The trail records the change with the IBAN masked.
    let history: Value = app
        .get_as(staff, &format!("/api/v1/applications/{id}/history"))
        .await
        .json()
        .await
        .unwrap();
    let event = history
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "grant-bank-details")
        .expect("the bank details' event");
    assert_eq!(event["payload"]["iban"], "FR76 •••• •••• 0189");
    assert!(!history.to_string().contains(digits));

    // A reviewer of the application reads neither the IBAN nor the RIB, on any route they can
    // reach.
    let reviewer = &cast.reviewer.token;
    let assignments: Value = app
        .get_as(reviewer, "/api/v1/assignments")
        .await
        .json()
        .await
        .unwrap();
    let assignment = assignments["items"][0]["id"]
        .as_str()
        .or_else(|| assignments[0]["id"].as_str())
        .expect("the reviewer's assignment")
        .to_owned();
    for route in [
        format!("/api/v1/applications/{id}"),
        format!("/api/v1/applications/{id}/documents"),
        format!("/api/v1/applications/{id}/reviews"),
        format!("/api/v1/applications/{id}/history"),
        format!("/api/v1/applications/{id}/eligibility"),
        format!("/api/v1/applications/{id}/letters"),
        format!("/api/v1/assignments/{assignment}"),
        format!("/api/v1/assignments/{assignment}/review"),
        "/api/v1/assignments".to_owned(),
        "/api/v1/applications".to_owned(),
        format!("/api/v1/grants/{grant_id}"),
        "/api/v1/grants".to_owned(),
    ] {
        let resp = app.get_as(reviewer, &route).await;
        let status = resp.status();
        let body = resp.text().await.unwrap();
        for secret in [digits, "•••• ••••", "rib.pdf", "AGRIFRPP867"] {
            assert!(
                !body.contains(secret),
                "{route} ({status}) shows « {secret} » to a reviewer: {body}"
            );
        }
    }
}

async fn instalments_are_requested_once_their_trigger_fired_and_the_bank_details_exist(
    app: TestApp,
) {
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    let applicant = &cast.applicant.token;
    let (a, grant) = awarded_with_convention(&app, &cast).await;
    let id = a["id"].as_str().unwrap();
    let grant_id = grant["id"].as_str().unwrap();
    let get = || async {
        app.get_as(staff, &format!("/api/v1/grants/{grant_id}"))
            .await
            .json::<Value>()
            .await
            .unwrap()
    };
    let states = |g: &Value| -> Vec<String> {
        g["instalments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["state"].as_str().unwrap().to_owned())
            .collect()
    };

    // Planned with the award: 80 % and 20 % of 18 500 €, to the cent.
    let items = grant["instalments"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{grant}");
    assert_eq!(items[0]["label"], "Avance");
    assert_eq!(items[0]["percent"], 80);
    assert_eq!(items[0]["amount_cents"], 1_480_000);
    assert_eq!(items[0]["trigger"], "signature");
    assert_eq!(items[1]["label"], "Solde");
    assert_eq!(items[1]["amount_cents"], 370_000);
    assert_eq!(items[1]["trigger"], "report_approved");
    assert_eq!(states(&grant), ["planned", "planned"]);

    // The bank details alone fire nothing: the convention is not signed yet.
    let resp = app
        .client
        .put(app.url(&format!("/api/v1/grants/{grant_id}/bank-details")))
        .bearer_auth(applicant)
        .json(
            &json!({"iban": "FR7630006000011234567890189", "bic": "AGRIFRPP867",
                      "holder": "Les Ateliers du Sart"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(states(&get().await), ["planned", "planned"]);

    // The signature fires the advance: requested, the finance team told.
    let resp = app
        .post_json(
            Some(applicant),
            &format!("/api/v1/grants/{grant_id}/sign"),
            &json!({"signatory_name": "Léa Dupont", "signatory_quality": "Présidente", "accept": true}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(states(&get().await), ["requested", "planned"]);
    let mail = mail_about(&app, "ess@lillemetropole.fr", "Versement à mandater").await;
    assert!(mail.subject.contains("Avance"), "{}", mail.subject);
    assert!(
        mail.subject.contains("14\u{a0}800,00\u{a0}€"),
        "{}",
        mail.subject
    );

    // Once: changing the bank details requests nothing more.
    let resp = app
        .client
        .put(app.url(&format!("/api/v1/grants/{grant_id}/bank-details")))
        .bearer_auth(applicant)
        .json(&json!({"iban": "BE68 5390 0754 7034", "bic": "GKCCBEBB",
                      "holder": "Les Ateliers du Sart"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(states(&get().await), ["requested", "planned"]);
    let history: Value = app
        .get_as(staff, &format!("/api/v1/applications/{id}/history"))
        .await
        .json()
        .await
        .unwrap();
    let requests: Vec<&Value> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "instalment-request")
        .collect();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["payload"]["amount_cents"], 1_480_000);
    // The beneficiary reads it in their history too.
    let theirs: Value = app
        .get_as(applicant, &format!("/api/v1/applications/{id}/history"))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        theirs
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "instalment-request")
    );
}

async fn a_call_s_own_schedule_splits_the_award_and_one_not_at_100_is_refused(app: TestApp) {
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    // 80 + 30: refused, the field named, nothing created.
    let calls_before = app.count("calls").await;
    let mut body = json!({"title": "Appel en trois versements", "budget_cents": 5_000_000,
        "instalments": [
            {"label": "Avance", "percent": 80, "trigger": "signature"},
            {"label": "Solde", "percent": 30, "trigger": "report_approved"}]});
    let p = assert_problem(
        app.post_json(Some(staff), "/api/v1/calls", &body).await,
        422,
    )
    .await;
    assert!(
        p["errors"]["instalments"][0]
            .as_str()
            .unwrap()
            .contains("110 %"),
        "{p}"
    );
    assert_eq!(app.count("calls").await, calls_before);
    body["instalments"] = json!([{"label": "Avance", "percent": 80, "trigger": "à la signature"}]);
    assert_problem(
        app.post_json(Some(staff), "/api/v1/calls", &body).await,
        422,
    )
    .await;

    // 33 / 33 / 34 of 18 500,01 €: each share rounded down, the last takes the remainder.
    let call = app
        .published_call(
            staff,
            json!({"min_reviews": 1, "budget_cents": 5_000_000, "instalments": [
                {"label": "Démarrage", "percent": 33, "trigger": "award"},
                {"label": "Mi-parcours", "percent": 33, "trigger": "signature"},
                {"label": "Solde", "percent": 34, "trigger": "report_approved"}]}),
        )
        .await;
    assert_eq!(call["instalments"].as_array().unwrap().len(), 3, "{call}");
    let a = app
        .submitted_application(&cast.applicant.token, call["id"].as_str().unwrap())
        .await;
    let id = a["id"].as_str().unwrap();
    let asg = app.start_review(staff, id, &[&cast.reviewer]).await;
    app.review(&cast.reviewer, &asg[0], [5, 4, 4, 4, 4]).await;
    decide(
        &app,
        staff,
        id,
        json!({"outcome": "accepted", "awarded_cents": 1_850_001,
               "motivation": "Projet structurant.", "committee_date": "2026-11-02",
               "decision_reference": "DEL-2026-0043"}),
    )
    .await;
    let grants: Value = app
        .get_as(staff, "/api/v1/grants")
        .await
        .json()
        .await
        .unwrap();
    let amounts: Vec<i64> = grants[0]["instalments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["amount_cents"].as_i64().unwrap())
        .collect();
    assert_eq!(amounts, [610_500, 610_500, 629_001]);
    assert_eq!(amounts.iter().sum::<i64>(), 1_850_001);
}

async fn the_report_is_recalled_30_and_7_days_before_and_the_day_after_once_each(app: TestApp) {
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    let call_id = crate::finance::call_without_convention(&app, staff).await;
    let grant = crate::finance::awarded(
        &app,
        &cast,
        &call_id,
        "Les Ateliers du Sart",
        1_850_000,
        true,
    )
    .await;
    let grant_id = grant["id"].as_str().unwrap();
    let due_on =
        chrono::NaiveDate::parse_from_str(grant["report_due_on"].as_str().unwrap(), "%Y-%m-%d")
            .unwrap();
    let state =
        essor::state::AppState::with_clock(app.db.clone(), app.settings.clone(), app.clock.clone())
            .unwrap();
    let due = || essor::services::reminders::send_due(&state);
    // Moves the clock to noon in Paris, `offset` days from the due date.
    let at = |offset: i64| {
        let date = due_on + chrono::Duration::days(offset);
        let noon = date.and_hms_opt(11, 0, 0).unwrap().and_utc();
        assert!(app.clock.move_to(noon));
    };
    let sent = |subject: &'static str| {
        app.sent_mails()
            .into_iter()
            .filter(|m| m.to == cast.applicant.email && m.subject.contains(subject))
            .count()
    };

    // A year away: nothing. 31 days before: nothing yet.
    assert_eq!(due().await.unwrap(), 0);
    at(-31);
    assert_eq!(due().await.unwrap(), 0);
    // 30 days before: one, once.
    at(-30);
    assert_eq!(due().await.unwrap(), 1);
    assert_eq!(due().await.unwrap(), 0);
    let first = mail_about(&app, &cast.applicant.email, "à déposer avant le").await;
    assert!(first.text.contains("dans 30 jours"), "{}", first.text);
    assert!(
        first.text.contains(&format!(
            "/candidatures/{}/compte-rendu",
            grant["application_id"].as_str().unwrap()
        )),
        "{}",
        first.text
    );
    // 7 days before: the second; the due day itself: nothing more.
    at(-7);
    assert_eq!(due().await.unwrap(), 1);
    at(0);
    assert_eq!(due().await.unwrap(), 0);
    // The day after: late, once.
    at(1);
    assert_eq!(due().await.unwrap(), 1);
    at(40);
    assert_eq!(due().await.unwrap(), 0);
    mail_about(
        &app,
        &cast.applicant.email,
        "Compte rendu financier en retard",
    )
    .await;
    assert_eq!(sent("à déposer avant le"), 2);
    assert_eq!(sent("en retard"), 1);
    assert_eq!(app.count("grant_reminders").await, 3);

    // The report says it is late (a token of the moved clock's time: the first expired).
    let staff = app.token(&cast.staff.email, crate::helpers::PASSWORD).await;
    let page = app
        .client
        .get(app.url(&format!("/api/v1/grants/{grant_id}/report")))
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(page["late"], true, "{page}");
}

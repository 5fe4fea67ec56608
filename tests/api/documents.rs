use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::both_backends;
use crate::helpers::{Backend, PDF, TestApp, assert_problem, sample_application, spawn_app_with};

both_backends!(
    documents_are_stored_checked_and_downloaded,
    bad_uploads_are_refused_and_leave_nothing_behind,
    documents_are_frozen_once_submitted,
    reviewers_never_see_bank_documents,
);

fn png() -> Vec<u8> {
    let mut v = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    v.extend_from_slice(&[
        0, 0, 0, 13, b'I', b'H', b'D', b'R', 0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0,
    ]);
    v
}

async fn setup(app: &TestApp) -> (crate::helpers::Cast, String) {
    let cast = app.cast().await;
    let call = app.published_call(&cast.staff.token, json!({})).await;
    let draft = app
        .draft_application(
            &cast.applicant.token,
            call["id"].as_str().unwrap(),
            &sample_application(),
        )
        .await;
    (cast, draft["id"].as_str().unwrap().to_owned())
}

fn files_under(dir: &std::path::Path) -> usize {
    walk(dir).len()
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

async fn documents_are_stored_checked_and_downloaded(app: TestApp) {
    let (cast, id) = setup(&app).await;
    let token = &cast.applicant.token;
    // A PDF whose name pretends otherwise is still a PDF, and is named as one (a browser
    // would otherwise save `.exe`); a path in the name is dropped.
    let resp = app
        .upload(token, &id, "statuts", PDF, "../../../etc/statuts été.exe")
        .await;
    assert_eq!(resp.status(), 201);
    let doc: Value = resp.json().await.unwrap();
    assert_eq!(doc["content_type"], "application/pdf");
    assert_eq!(doc["filename"], "statuts été.pdf");
    assert_eq!(doc["size_bytes"], PDF.len());
    let expected: String = Sha256::digest(PDF)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(doc["sha256"], expected);
    let resp = app.upload(token, &id, "annexe", &png(), "plan.png").await;
    assert_eq!(resp.status(), 201);

    let doc_id = doc["id"].as_str().unwrap();
    for who in [token, &cast.staff.token] {
        let resp = app
            .get_as(
                who,
                &format!("/api/v1/applications/{id}/documents/{doc_id}"),
            )
            .await;
        assert_eq!(resp.status(), 200);
        assert_eq!(
            resp.headers().get("content-type").unwrap(),
            "application/pdf"
        );
        assert_eq!(
            resp.headers().get("x-content-type-options").unwrap(),
            "nosniff"
        );
        let cd = resp
            .headers()
            .get("content-disposition")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        assert!(cd.starts_with("attachment"), "{cd}");
        assert!(
            cd.contains("filename*=UTF-8''statuts%20%C3%A9t%C3%A9.pdf"),
            "{cd}"
        );
        assert_eq!(resp.bytes().await.unwrap().as_ref(), PDF);
    }
    let list: Value = app
        .get_as(token, &format!("/api/v1/applications/{id}/documents"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);

    // Contents live in the database, nothing on disk; deleting removes the row and them.
    let uploads = app.settings.uploads_dir();
    assert_eq!(files_under(&uploads), 0, "{:?}", walk(&uploads));
    let chunks = app.count("document_chunks").await;
    assert!(chunks >= 2, "{chunks}");
    let resp = app
        .client
        .delete(app.url(&format!("/api/v1/applications/{id}/documents/{doc_id}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(app.count("document_chunks").await, chunks - 1);
    assert_problem(
        app.get_as(
            token,
            &format!("/api/v1/applications/{id}/documents/{doc_id}"),
        )
        .await,
        404,
    )
    .await;
}

async fn bad_uploads_are_refused_and_leave_nothing_behind(app: TestApp) {
    let (cast, id) = setup(&app).await;
    let token = &cast.applicant.token;
    let uploads = app.settings.uploads_dir();
    let events = app
        .count("audit_events WHERE action NOT LIKE 'account.%'")
        .await;

    // Text pretending to be a PDF; a Windows executable; an empty file.
    let resp = app
        .upload(
            token,
            &id,
            "statuts",
            b"just some text, not a PDF",
            "statuts.pdf",
        )
        .await;
    let problem = assert_problem(resp, 415).await;
    assert!(problem["detail"].as_str().unwrap().contains("PDF"));
    let resp = app
        .upload(
            token,
            &id,
            "statuts",
            b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff",
            "statuts.pdf",
        )
        .await;
    assert_problem(resp, 415).await;
    let resp = app.upload(token, &id, "statuts", b"", "statuts.pdf").await;
    let problem = assert_problem(resp, 422).await;
    assert!(problem["errors"]["file"].is_array());
    // Unknown kind; missing kind; missing file.
    let problem =
        assert_problem(app.upload(token, &id, "passeport", PDF, "p.pdf").await, 422).await;
    assert!(
        problem["errors"]["kind"][0]
            .as_str()
            .unwrap()
            .contains("statuts")
    );
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(PDF.to_vec()).file_name("a.pdf"),
    );
    let resp = app
        .client
        .post(app.url(&format!("/api/v1/applications/{id}/documents")))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert!(assert_problem(resp, 422).await["errors"]["kind"].is_array());
    let form = reqwest::multipart::Form::new().text("kind", "rib");
    let resp = app
        .client
        .post(app.url(&format!("/api/v1/applications/{id}/documents")))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert!(assert_problem(resp, 422).await["errors"]["file"].is_array());
    // Not multipart at all.
    let resp = app
        .post_json(
            Some(token),
            &format!("/api/v1/applications/{id}/documents"),
            &json!({"kind": "rib"}),
        )
        .await;
    assert!(resp.status().is_client_error());
    assert_eq!(
        resp.headers().get("content-type").unwrap(),
        "application/problem+json"
    );

    assert_eq!(app.count("application_documents").await, 0);
    assert_eq!(app.count("document_chunks").await, 0);
    assert_eq!(
        app.count("audit_events WHERE action NOT LIKE 'account.%'")
            .await,
        events
    );
    assert_eq!(
        files_under(&uploads),
        0,
        "no file left behind: {:?}",
        walk(&uploads)
    );
}

async fn documents_are_frozen_once_submitted(app: TestApp) {
    let (cast, id) = setup(&app).await;
    let token = &cast.applicant.token;
    app.attach_required(token, &id).await;
    let list: Value = app
        .get_as(token, &format!("/api/v1/applications/{id}/documents"))
        .await
        .json()
        .await
        .unwrap();
    let doc_id = list[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.post_json(
            Some(token),
            &format!("/api/v1/applications/{id}/submit"),
            &json!({})
        )
        .await
        .status(),
        200
    );
    let resp = app
        .client
        .delete(app.url(&format!("/api/v1/applications/{id}/documents/{doc_id}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let problem = assert_problem(resp, 409).await;
    assert_eq!(problem["current_state"], "submitted");
    assert_problem(app.upload(token, &id, "annexe", PDF, "a.pdf").await, 409).await;
    assert_eq!(app.count("application_documents").await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_uploads_get_413() {
    let app = spawn_app_with(Backend::Sqlite, &[("APP__UPLOADS__MAX_BYTES", "1024")])
        .await
        .unwrap();
    let (cast, id) = setup(&app).await;
    let mut big = PDF.to_vec();
    big.resize(4096, b' ');
    let resp = app
        .upload(&cast.applicant.token, &id, "statuts", &big, "gros.pdf")
        .await;
    let problem = assert_problem(resp, 413).await;
    assert!(problem["detail"].as_str().unwrap().contains("taille"));
    assert_eq!(app.count("application_documents").await, 0);
    assert_eq!(files_under(&app.settings.uploads_dir()), 0);
    let small = app
        .upload(&cast.applicant.token, &id, "statuts", PDF, "petit.pdf")
        .await;
    assert_eq!(small.status(), 201);
}

/// Issue 26, DESIGN.md §13: a reviewer reads the application's documents but never the bank
/// details (`rib`): not in the list, and its download is a 404; staff and the owner have it.
async fn reviewers_never_see_bank_documents(app: TestApp) {
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    let call = app.published_call(staff, json!({})).await;
    let a = app
        .submitted_application(&cast.applicant.token, call["id"].as_str().unwrap())
        .await;
    let id = a["id"].as_str().unwrap();
    let asg = app.start_review(staff, id, &[&cast.reviewer]).await;
    let me = &cast.reviewer.token;
    let resp = app
        .post_json(
            Some(me),
            &format!("/api/v1/assignments/{}/accept", asg[0]),
            &json!({"statement": "Aucun lien."}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let list = |token: String| {
        let app = &app;
        async move {
            let docs: Vec<Value> = app
                .get_as(&token, &format!("/api/v1/applications/{id}/documents"))
                .await
                .json()
                .await
                .unwrap();
            docs
        }
    };
    let all = list(staff.clone()).await;
    let kinds = |docs: &[Value]| -> Vec<String> {
        let mut k: Vec<String> = docs
            .iter()
            .map(|d| d["kind"].as_str().unwrap().to_owned())
            .collect();
        k.sort();
        k
    };
    assert_eq!(kinds(&all), ["budget_previsionnel", "rib", "statuts"]);
    assert_eq!(
        kinds(&list(cast.applicant.token.clone()).await),
        ["budget_previsionnel", "rib", "statuts"]
    );
    assert_eq!(
        kinds(&list(me.clone()).await),
        ["budget_previsionnel", "statuts"],
        "no bank document for a reviewer"
    );
    let rib = all.iter().find(|d| d["kind"] == "rib").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let download = format!("/api/v1/applications/{id}/documents/{rib}");
    assert_problem(app.get_as(me, &download).await, 404).await;
    assert_eq!(app.get_as(staff, &download).await.status(), 200);
    let statuts = all.iter().find(|d| d["kind"] == "statuts").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.get_as(
            me,
            &format!("/api/v1/applications/{id}/documents/{statuts}")
        )
        .await
        .status(),
        200
    );
}

//! Faults and attacks essor must survive (issue 18): hostile text, formula injection in
//! exports, views shaped by role.

use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{TestApp, assert_problem, sample_application};

both_backends!(
    hostile_text_is_refused_in_french_and_changes_nothing,
    csv_exports_defuse_formulas,
    reviewers_do_not_read_the_screening,
    office_files_with_macros_or_bombs_are_refused,
    a_renamed_vba_project_declared_by_type_or_relationship_is_refused,
    a_bomb_declaring_small_sizes_is_refused_by_what_it_inflates_to,
);

/// NUL answered 500 on PostgreSQL and 201 on SQLite; bidi overrides reached mails and exports.
/// Now every free-text field answers the same 422 on both, naming the field.
async fn hostile_text_is_refused_in_french_and_changes_nothing(app: TestApp) {
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    let call = app.published_call(staff, json!({})).await;
    let call_id = call["id"].as_str().unwrap();
    let path = format!("/api/v1/calls/{call_id}/applications");
    let cases: [(&str, &str, &str); 6] = [
        ("organisation", "name", "Ateliers\u{0} du Sart"),
        ("organisation", "name", "Ateliers\u{202E}traS ud"),
        ("organisation", "name", "Ateliers\ndu Sart"),
        ("project", "title", "Recyclerie\u{2067}"),
        ("project", "summary", "Résumé \u{1b}[31m"),
        ("organisation", "address", "12 rue\u{2066} de Lannoy"),
    ];
    for (part, field, value) in cases {
        let mut body = sample_application();
        body[part][field] = value.into();
        let problem = assert_problem(
            app.post_json(Some(&cast.applicant.token), &path, &body)
                .await,
            422,
        )
        .await;
        let key = format!("{part}.{field}");
        let msgs = problem["errors"][&key].to_string();
        assert!(
            msgs.contains("caractère") || msgs.contains("saut de ligne"),
            "{key}: {problem}"
        );
        assert!(problem["detail"].as_str().unwrap().contains(&key));
    }
    assert_eq!(app.count("applications").await, 0);

    // A multi-line field keeps its line breaks and tabs.
    let mut body = sample_application();
    body["project"]["summary"] = "Collecte,\r\nréparation\tet revente.".into();
    let draft = app
        .draft_application(&cast.applicant.token, call_id, &body)
        .await;
    assert_eq!(
        draft["project"]["summary"],
        "Collecte,\r\nréparation\tet revente."
    );

    // Call titles, messages and search terms follow the same rule.
    let problem = assert_problem(
        app.post_json(
            Some(staff),
            "/api/v1/calls",
            &json!({"title": "Appel\u{0}", "description": "x", "budget_cents": 100}),
        )
        .await,
        422,
    )
    .await;
    assert!(problem["errors"]["title"].is_array(), "{problem}");
    let id = draft["id"].as_str().unwrap();
    app.attach_required(&cast.applicant.token, id).await;
    let resp = app
        .post_json(
            Some(&cast.applicant.token),
            &format!("/api/v1/applications/{id}/submit"),
            &json!({}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let problem = assert_problem(
        app.post_json(
            Some(staff),
            &format!("/api/v1/applications/{id}/request-changes"),
            &json!({"message": "Joignez le RIB\u{0}."}),
        )
        .await,
        422,
    )
    .await;
    assert!(problem["errors"]["message"].is_array(), "{problem}");
    // In a query string: a 400 naming the parameter, as for any parameter the API cannot use.
    let problem = assert_problem(
        app.get_as(staff, "/api/v1/applications?q=Sart%00").await,
        400,
    )
    .await;
    assert!(
        problem["detail"].as_str().unwrap().contains("« q »"),
        "{problem}"
    );
    // In a path, the same bytes name nothing: 404 on both databases, never 500.
    for path in [
        "/api/v1/applications/a%00b",
        "/api/v1/calls/%00",
        "/api/v1/applications/%E2%80%AE/documents",
    ] {
        let status = app.get_as(staff, path).await.status().as_u16();
        assert!((400..500).contains(&status), "{path}: {status}");
    }
    let after: Value = app
        .get_as(staff, &format!("/api/v1/applications/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after["state"], "submitted");
}

/// OWASP's rule on every CSV: a cell a spreadsheet would run is prefixed with `'`, in the
/// default dialect too.
async fn csv_exports_defuse_formulas(app: TestApp) {
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    let call = app.published_call(staff, json!({})).await;
    let call_id = call["id"].as_str().unwrap();
    let mut body = sample_application();
    body["organisation"]["name"] = "＝HYPERLINK(\"http://x\")".into();
    body["project"]["title"] = "+cmd|' /C calc'!A0".into();
    let draft = app
        .draft_application(&cast.applicant.token, call_id, &body)
        .await;
    let id = draft["id"].as_str().unwrap();
    app.attach_required(&cast.applicant.token, id).await;
    let resp = app
        .post_json(
            Some(&cast.applicant.token),
            &format!("/api/v1/applications/{id}/submit"),
            &json!({}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    for dialect in ["rfc4180", "excel-fr"] {
        let resp = app
            .get_as(
                staff,
                &format!("/api/v1/calls/{call_id}/export?format=csv&dialect={dialect}"),
            )
            .await;
        assert_eq!(resp.status(), 200);
        let text = resp.text().await.unwrap();
        assert!(
            text.contains("'＝HYPERLINK(") && text.contains("'+cmd|"),
            "{dialect}: {text}"
        );
        assert!(!text.contains(",＝HYPERLINK") && !text.contains(";＝HYPERLINK"));
    }
}

/// The agents' readings and notes are in the eligibility report; `/eligibility` refused
/// reviewers but `GET /applications/{id}` handed it to them.
async fn reviewers_do_not_read_the_screening(app: TestApp) {
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    let call = app.published_call(staff, json!({"min_reviews": 1})).await;
    let a = app
        .submitted_application(&cast.applicant.token, call["id"].as_str().unwrap())
        .await;
    let id = a["id"].as_str().unwrap().to_owned();
    let asg = app.start_review(staff, &id, &[&cast.reviewer]).await;
    let resp = app
        .post_json(
            Some(&cast.reviewer.token),
            &format!("/api/v1/assignments/{}/accept", asg[0]),
            &json!({"statement": "Aucun conflit d'intérêts."}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let path = format!("/api/v1/applications/{id}");
    let as_reviewer: Value = app
        .get_as(&cast.reviewer.token, &path)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(as_reviewer["state"], "under_review");
    assert!(as_reviewer["eligibility"].is_null(), "{as_reviewer}");
    assert_problem(
        app.get_as(&cast.reviewer.token, &format!("{path}/eligibility"))
            .await,
        403,
    )
    .await;
    for token in [staff, &cast.applicant.token] {
        let v: Value = app.get_as(token, &path).await.json().await.unwrap();
        assert!(v["eligibility"]["criteria"].is_array(), "{v}");
    }
}

// ---------------------------------------------------------------------------------------------
// Uploads and documents

/// A DOCX as Word lays it out (`infer` reads the type from the first four entries), then
/// `parts`.
fn office_zip(parts: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut out);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        let content_types: &[u8] = br#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>"#;
        let layout: [(&str, &[u8]); 4] = [
            ("[Content_Types].xml", content_types),
            ("_rels/.rels", b"<Relationships/>"),
            ("word/_rels/document.xml.rels", b"<Relationships/>"),
            ("word/document.xml", b"<w:document/>"),
        ];
        for (name, data) in layout.into_iter().chain(parts.iter().copied()) {
            zip.start_file(name, opts).unwrap();
            zip.write_all(data).unwrap();
        }
        zip.finish().unwrap();
    }
    out.into_inner()
}

async fn draft_with_call(app: &TestApp) -> (crate::helpers::Cast, String) {
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

/// Macro-enabled office files and archive bombs are refused from their central directory;
/// a plain DOCX passes.
async fn office_files_with_macros_or_bombs_are_refused(app: TestApp) {
    let (cast, id) = draft_with_call(&app).await;
    let token = &cast.applicant.token;
    let plain = office_zip(&[("word/styles.xml", b"<w:styles/>")]);
    let resp = app.upload(token, &id, "annexe", &plain, "note.docx").await;
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());

    let docm = office_zip(&[("word/vbaProject.bin", b"\xd0\xcf\x11\xe0 VBA")]);
    let problem = assert_problem(
        app.upload(token, &id, "annexe", &docm, "note.docx").await,
        422,
    )
    .await;
    assert!(
        problem["errors"]["file"][0]
            .as_str()
            .unwrap()
            .contains("macros"),
        "{problem}"
    );
    // 20 MiB of zeros in a ~20 KiB part: what a bomb is made of, at a test's scale.
    let zeros = vec![0u8; 20 * 1024 * 1024];
    let bomb = office_zip(&[("word/media/fond.xml", &zeros)]);
    assert!(bomb.len() < 200 * 1024, "{}", bomb.len());
    let problem = assert_problem(
        app.upload(token, &id, "annexe", &bomb, "gros.docx").await,
        422,
    )
    .await;
    assert!(
        problem["errors"]["file"][0]
            .as_str()
            .unwrap()
            .contains("se décompresse"),
        "{problem}"
    );
    assert_eq!(app.count("application_documents").await, 1);
}

/// A zip of these parts, in this order, nothing added (the `[Content_Types].xml` is the test's).
fn raw_zip(parts: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut out);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in parts {
            zip.start_file(*name, opts).unwrap();
            zip.write_all(data).unwrap();
        }
        zip.finish().unwrap();
    }
    out.into_inner()
}

/// `word/vbaProject.bin` renamed `word/editdata.mso` passed the part-name check: declared in
/// `[Content_Types].xml` as a VBA project, or only by a relationship, it is refused with a
/// French 422 naming the file field (issue 32 point 9).
async fn a_renamed_vba_project_declared_by_type_or_relationship_is_refused(app: TestApp) {
    let (cast, id) = draft_with_call(&app).await;
    let token = &cast.applicant.token;
    let plain_types: &[u8] = br#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>"#;
    let vba_types: &[u8] = br#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/editdata.mso" ContentType="application/vnd.ms-office.vbaProject"/></Types>"#;
    let plain_rels: &[u8] = b"<Relationships/>";
    let vba_rels: &[u8] = br#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId9" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" Target="editdata.mso"/></Relationships>"#;
    let vba: &[u8] = b"\xd0\xcf\x11\xe0 VBA";
    let docx = |types: &[u8], rels: &[u8]| {
        raw_zip(&[
            ("[Content_Types].xml", types),
            ("_rels/.rels", plain_rels),
            ("word/_rels/document.xml.rels", rels),
            ("word/document.xml", b"<w:document/>"),
            ("word/editdata.mso", vba),
        ])
    };
    for (what, file) in [
        ("content type", docx(vba_types, plain_rels)),
        ("relationship", docx(plain_types, vba_rels)),
    ] {
        let problem = assert_problem(
            app.upload(token, &id, "annexe", &file, "note.docx").await,
            422,
        )
        .await;
        assert!(
            problem["errors"]["file"][0]
                .as_str()
                .unwrap()
                .contains("contient des macros"),
            "{what}: {problem}"
        );
    }
    // The same package without the declarations passes: the refusal is the declaration's.
    let resp = app
        .upload(
            token,
            &id,
            "annexe",
            &docx(plain_types, plain_rels),
            "note.docx",
        )
        .await;
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    assert_eq!(app.count("application_documents").await, 1);
}

/// Rewrites the uncompressed size of every header (local and central) declaring `from` to
/// `to`: an archive whose headers lie.
fn lie_about_size(zip: &mut [u8], from: u32, to: u32) -> usize {
    let mut patched = 0;
    for i in 0..zip.len().saturating_sub(30) {
        // Local header: size at +22; central directory header: at +24.
        let at = match &zip[i..i + 4] {
            [0x50, 0x4b, 0x03, 0x04] => i + 22,
            [0x50, 0x4b, 0x01, 0x02] => i + 24,
            _ => continue,
        };
        if zip[at..at + 4] == from.to_le_bytes() {
            zip[at..at + 4].copy_from_slice(&to.to_le_bytes());
            patched += 1;
        }
    }
    patched
}

/// An archive declaring a 1 KB part that inflates to 150 MiB passed the declared-size checks:
/// it is inflated (without trusting the headers) and refused at the ceiling, in French naming
/// the file field (issue 32 point 9).
async fn a_bomb_declaring_small_sizes_is_refused_by_what_it_inflates_to(app: TestApp) {
    let (cast, id) = draft_with_call(&app).await;
    let token = &cast.applicant.token;
    let big: u32 = 150 * 1024 * 1024;
    let zeros = vec![0u8; big as usize];
    let mut bomb = office_zip(&[("word/media/fond.xml", &zeros)]);
    drop(zeros);
    assert_eq!(
        lie_about_size(&mut bomb, big, 1024),
        2,
        "local and central headers"
    );
    assert!(bomb.len() < 1024 * 1024, "{}", bomb.len());
    let problem = assert_problem(
        app.upload(token, &id, "annexe", &bomb, "gros.docx").await,
        422,
    )
    .await;
    let msg = problem["errors"]["file"][0].as_str().unwrap().to_owned();
    assert!(
        msg.contains("une fois décompressé") || msg.contains("se décompresse"),
        "{problem}"
    );
    assert_eq!(app.count("application_documents").await, 0);
}

/// An application holds at most `uploads.max_documents_per_application` documents.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_per_application_are_limited() {
    use crate::helpers::{Backend, PDF, spawn_app_with};
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(app) = spawn_app_with(
            backend,
            &[("APP__UPLOADS__MAX_DOCUMENTS_PER_APPLICATION", "2")],
        )
        .await
        else {
            continue;
        };
        let (cast, id) = draft_with_call(&app).await;
        let token = &cast.applicant.token;
        for name in ["a.pdf", "b.pdf"] {
            assert_eq!(
                app.upload(token, &id, "annexe", PDF, name).await.status(),
                201
            );
        }
        let problem =
            assert_problem(app.upload(token, &id, "annexe", PDF, "c.pdf").await, 409).await;
        assert!(
            problem["detail"].as_str().unwrap().contains("2 pièces"),
            "{problem}"
        );
        assert_eq!(app.count("application_documents").await, 2, "{backend:?}");
    }
}

/// Two instances on one PostgreSQL database, each with its own disk: a document uploaded
/// through one downloads through the other, byte for byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_are_read_from_every_instance() {
    use crate::helpers::{Backend, spawn_app, spawn_app_at};
    let Some(first) = spawn_app(Backend::Postgres).await else {
        return;
    };
    let second = spawn_app_at(&first.settings.database.url, &[]).await;
    assert_ne!(first.settings.data_dir, second.settings.data_dir);
    let (cast, id) = draft_with_call(&first).await;
    // Larger than a chunk, so the download streams several.
    let mut pdf = b"%PDF-1.4\n".to_vec();
    pdf.extend((0..700_000u32).map(|i| b'a' + (i % 26) as u8));
    pdf.extend_from_slice(b"\n%%EOF\n");
    let resp = first
        .upload(&cast.applicant.token, &id, "statuts", &pdf, "statuts.pdf")
        .await;
    assert_eq!(resp.status(), 201);
    let doc: Value = resp.json().await.unwrap();
    let path = format!(
        "/api/v1/applications/{id}/documents/{}",
        doc["id"].as_str().unwrap()
    );
    let resp = second.get_as(&cast.staff.token, &path).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers().get("content-length").unwrap(),
        &pdf.len().to_string()
    );
    let body = resp.bytes().await.unwrap();
    assert!(body.as_ref() == pdf.as_slice(), "the bytes differ");
    eprintln!(
        "TWO INSTANCES: {} bytes uploaded through one, downloaded identical through the other",
        pdf.len()
    );
}

/// While an instance runs, the temporary file of an upload killed mid-way is swept without a
/// restart (issue 32, point 9): here every second, once it is 15 minutes old; a fresh one
/// (an upload in progress) stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_uploads_file_is_swept_while_the_instance_runs() {
    use crate::helpers::{Backend, spawn_app_with};
    let app = spawn_app_with(
        Backend::Sqlite,
        &[("APP__UPLOADS__SWEEP_INTERVAL_SECONDS", "1")],
    )
    .await
    .unwrap();
    let tmp = essor::services::documents::temporary_dir(&app.settings);
    std::fs::create_dir_all(&tmp).unwrap();
    let killed = tmp.join("killed-mid-upload");
    let fresh = tmp.join("in-progress");
    std::fs::write(&killed, b"partial").unwrap();
    std::fs::write(&fresh, b"partial").unwrap();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(16 * 60);
    std::fs::File::options()
        .write(true)
        .open(&killed)
        .unwrap()
        .set_modified(old)
        .unwrap();
    // The instance started before the file existed: only the periodic sweep can take it.
    let mut tries = 0;
    while killed.exists() && tries < 100 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        tries += 1;
    }
    assert!(!killed.exists(), "swept within 10 s");
    assert!(fresh.exists(), "an upload in progress is kept");
}

/// Temporary upload files a crash left behind are swept when an instance starts; a fresh
/// one (an upload in progress elsewhere) is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_upload_files_are_swept_at_start() {
    use crate::helpers::{Backend, spawn_app, spawn_app_on};
    let first = spawn_app(Backend::Sqlite).await.unwrap();
    let tmp = essor::services::documents::temporary_dir(&first.settings);
    std::fs::create_dir_all(&tmp).unwrap();
    let stale = tmp.join("left-by-a-crash");
    let fresh = tmp.join("in-progress");
    std::fs::write(&stale, b"partial").unwrap();
    std::fs::write(&fresh, b"partial").unwrap();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(old)
        .unwrap();
    let _second = spawn_app_on(&first).await;
    assert!(!stale.exists());
    assert!(fresh.exists());
}

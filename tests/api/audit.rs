//! The audit trail an auditor can verify (issue 32, DESIGN.md §18): the `essor audit`
//! commands run as the built binary against the test's database, on SQLite and PostgreSQL; a
//! row changed or removed in the database, or a line changed in an export, is named by its
//! `seq`; an erasure leaves the chain verifiable and no personal free text behind (point 8).

use std::path::Path;
use std::process::Command;

use diesel::prelude::*;
use essor::db::schema::{audit_events, personal_tokens};
use serde_json::json;

use crate::both_backends;
use crate::helpers::{Backend, PASSWORD, PDF, TestApp, sample_application, spawn_app_with};

both_backends!(the_cli_verifies_the_trail_and_names_a_tampered_seq);

macro_rules! both_backends_file_mail {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = spawn_app_with(Backend::Sqlite, &[("APP__MAIL__TRANSPORT", "file")])
                    .await
                    .expect("SQLite always runs");
                super::$name(app).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(app) =
                    spawn_app_with(Backend::Postgres, &[("APP__MAIL__TRANSPORT", "file")]).await
                else {
                    return;
                };
                super::$name(app).await;
            }
        }
    )*};
}

both_backends_file_mail!(an_erasure_leaves_no_personal_text_and_the_chain_verifies);

/// Runs `essor` with `args` on the test's database and data directory (so the same signing
/// key); `None` for `database`: no database, no data directory (what an auditor has).
async fn essor(app: &TestApp, database: bool, args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_essor"));
    cmd.args(args)
        .env("APP_ENV", "test")
        .env("RUST_LOG", "warn")
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if database {
        cmd.env("DATABASE_URL", &app.settings.database.url)
            .env("APP__DATA_DIR", &app.settings.data_dir);
    } else {
        cmd.env_remove("DATABASE_URL")
            .env("APP__DATA_DIR", "/nonexistent/essor-auditor");
    }
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("essor runs"))
        .await
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn execute(app: &TestApp, sql: String) -> usize {
    app.db
        .run(move |conn| Ok(diesel::sql_query(sql).execute(conn)?))
        .await
        .unwrap()
}

async fn seq_of(app: &TestApp, action: &'static str) -> i64 {
    app.db
        .run(move |conn| {
            Ok(audit_events::table
                .filter(audit_events::action.eq(action))
                .select(audit_events::seq)
                .first::<i64>(conn)?)
        })
        .await
        .unwrap()
}

async fn the_cli_verifies_the_trail_and_names_a_tampered_seq(app: TestApp) {
    let cast = app.cast().await;
    let call = app.published_call(&cast.staff.token, json!({})).await;
    let application = app
        .submitted_application(&cast.applicant.token, call["id"].as_str().unwrap())
        .await;
    let id = application["id"].as_str().unwrap();
    let resp = app
        .post_json(
            Some(&cast.applicant.token),
            &format!("/api/v1/applications/{id}/withdraw"),
            &json!({"reason": "Projet reporté."}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let events = app.count("audit_events").await;
    assert!(events > 5, "{events}");

    let (code, out, err) = essor(&app, true, &["audit", "checkpoint"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&format!("size {events}")), "{out}");
    let (code, out, err) = essor(&app, true, &["audit", "verify"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.starts_with(&format!("verified {events} events")),
        "{out}"
    );

    // The export: events, checkpoints, public key; never the private key.
    let dir = app.data_dir.path().join("export");
    let shown = dir.display().to_string();
    let (code, out, err) = essor(&app, true, &["audit", "export", &shown]).await;
    assert_eq!(code, 0, "{out}{err}");
    let lines = std::fs::read_to_string(dir.join("events.jsonl")).unwrap();
    assert_eq!(lines.lines().count() as i64, events);
    assert_eq!(
        std::fs::read_to_string(dir.join("checkpoints.jsonl"))
            .unwrap()
            .lines()
            .count(),
        1
    );
    for entry in std::fs::read_dir(&dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(!text.contains("PRIVATE KEY"));
    }
    assert!(
        std::fs::read_to_string(dir.join("public-key.pem"))
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );
    // The auditor's side: the folder alone, no database, no configuration.
    let (code, out, err) = essor(&app, false, &["audit", "verify", "--export", &shown]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.starts_with(&format!("verified {events} events")),
        "{out}"
    );

    // A line of the export changed: named by its seq.
    let withdraw = seq_of(&app, "withdraw").await;
    let tampered_dir = app.data_dir.path().join("tampered");
    std::fs::create_dir_all(&tampered_dir).unwrap();
    for f in ["checkpoints.jsonl", "public-key.pem"] {
        std::fs::copy(dir.join(f), tampered_dir.join(f)).unwrap();
    }
    let changed: String = lines
        .lines()
        .map(|l| {
            if l.starts_with(&format!("{{\"seq\":{withdraw},")) {
                l.replace("Projet reporté.", "Projet abandonné.")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert_ne!(changed.trim(), lines.trim());
    std::fs::write(tampered_dir.join("events.jsonl"), changed).unwrap();
    let (code, out, _) = essor(
        &app,
        false,
        &[
            "audit",
            "verify",
            "--export",
            &tampered_dir.display().to_string(),
        ],
    )
    .await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("seq {withdraw}:")), "{out}");

    // The same change in the database.
    let changed = execute(
        &app,
        "UPDATE audit_events SET payload = REPLACE(payload, 'Projet reporté.', 'Projet abandonné.') \
         WHERE action = 'withdraw'"
            .into(),
    )
    .await;
    assert_eq!(changed, 1);
    let (code, out, _) = essor(&app, true, &["audit", "verify"]).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("seq {withdraw}:")), "{out}");
    assert!(out.contains("commitment"), "{out}");
    execute(
        &app,
        "UPDATE audit_events SET payload = REPLACE(payload, 'Projet abandonné.', 'Projet reporté.') \
         WHERE action = 'withdraw'"
            .into(),
    )
    .await;
    assert_eq!(essor(&app, true, &["audit", "verify"]).await.0, 0);

    // An actor changed (a field the leaf covers), then the last event removed: the signed
    // checkpoint still counts it.
    let first = 1;
    execute(
        &app,
        format!(
            "UPDATE audit_events SET action = 'account.created.' WHERE seq = {first} \
             AND action = 'account.created'"
        ),
    )
    .await;
    let (code, out, _) = essor(&app, true, &["audit", "verify"]).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("seq 1:"), "{out}");
    execute(
        &app,
        format!(
            "UPDATE audit_events SET action = 'account.created' WHERE seq = {first} \
             AND action = 'account.created.'"
        ),
    )
    .await;
    assert_eq!(essor(&app, true, &["audit", "verify"]).await.0, 0);
    execute(
        &app,
        format!("DELETE FROM audit_events WHERE seq = {events}"),
    )
    .await;
    let (code, out, _) = essor(&app, true, &["audit", "verify"]).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("seq {events}:")), "{out}");
}

/// The `.eml` files of the mail directory that name `needle`.
fn mail_copies_naming(dir: &Path, needle: &str) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .filter(|e| {
            std::fs::read(e.path())
                .map(|b| String::from_utf8_lossy(&b).contains(needle))
                .unwrap_or(false)
        })
        .count()
}

async fn all_delivered(app: &TestApp) {
    for _ in 0..150 {
        let left = app
            .db
            .run(|conn| {
                use essor::db::schema::outbox;
                Ok(outbox::table
                    .filter(outbox::status.ne("sent"))
                    .count()
                    .get_result::<i64>(conn)?)
            })
            .await
            .unwrap();
        if left == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("mails still undelivered after 15 s");
}

/// Issue 32 point 8: after `DELETE /me`, no personal token row, no free text of the account's
/// in the trail's payloads (withdrawal reason, file names, token names), no `.eml` copy of
/// its mails — and the trail still verifies, every row still there.
async fn an_erasure_leaves_no_personal_text_and_the_chain_verifies(app: TestApp) {
    const MARK: &str = "Jeanne-Secrete";
    let cast = app.cast().await;
    let owner = &cast.applicant;
    let resp = app
        .post_json(
            Some(&owner.token),
            "/api/v1/me/tokens",
            &json!({"name": format!("Jeton {MARK}"), "scopes": ["read"], "expires_on":
                (chrono::Utc::now().date_naive() + chrono::Duration::days(30)).to_string()}),
        )
        .await;
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    let call = app.published_call(&cast.staff.token, json!({})).await;
    let draft = app
        .draft_application(
            &owner.token,
            call["id"].as_str().unwrap(),
            &sample_application(),
        )
        .await;
    let id = draft["id"].as_str().unwrap();
    for kind in ["statuts", "budget_previsionnel", "rib"] {
        let resp = app
            .upload(&owner.token, id, kind, PDF, &format!("{kind}-{MARK}.pdf"))
            .await;
        assert_eq!(resp.status(), 201, "upload {kind}");
    }
    let resp = app
        .post_json(
            Some(&owner.token),
            &format!("/api/v1/applications/{id}/submit"),
            &json!({}),
        )
        .await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let resp = app
        .post_json(
            Some(&owner.token),
            &format!("/api/v1/applications/{id}/withdraw"),
            &json!({"reason": format!("Raison {MARK}")}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    all_delivered(&app).await;
    let mail_dir = app.settings.mail_dir();
    // What the erasure must remove is there before it.
    assert!(mail_copies_naming(&mail_dir, &owner.email) > 0);
    let user = owner.id.clone();
    let marked = |app: &TestApp| {
        let user = user.clone();
        let db = app.db.clone();
        async move {
            db.run(move |conn| {
                let tokens = personal_tokens::table
                    .filter(personal_tokens::user_id.eq(&user))
                    .count()
                    .get_result::<i64>(conn)?;
                let texts = audit_events::table
                    .filter(audit_events::payload.like(format!("%{MARK}%")))
                    .count()
                    .get_result::<i64>(conn)?;
                Ok((tokens, texts))
            })
            .await
            .unwrap()
        }
    };
    let (tokens, texts) = marked(&app).await;
    assert_eq!(tokens, 1);
    // The token's name, the three file names, the withdrawal reason.
    assert_eq!(texts, 5);
    let events_before = app.count("audit_events").await;

    let resp = app
        .client
        .delete(app.url("/api/v1/me"))
        .bearer_auth(&owner.token)
        .json(&json!({"password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204, "{}", resp.text().await.unwrap());

    assert_eq!(marked(&app).await, (0, 0), "token rows, marked payloads");
    assert_eq!(mail_copies_naming(&mail_dir, &owner.email), 0);
    assert_eq!(mail_copies_naming(&mail_dir, MARK), 0);
    // Every row is still there (plus the erasure's own), and the chain verifies.
    assert_eq!(app.count("audit_events").await, events_before + 1);
    let (code, out, err) = essor(&app, true, &["audit", "checkpoint"]).await;
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = essor(&app, true, &["audit", "verify"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("erased payloads"), "{out}");
    assert!(!out.contains("(0 erased payloads"), "{out}");
}

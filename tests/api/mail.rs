//! Mail: the transactional outbox, the delivery worker and its transports, the admin
//! endpoints; with the memory transport on both backends, and with a real SMTP server on
//! loopback (aiosmtpd, `tests/support/smtp_sink.py`).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use essor::db::schema::outbox;
use essor::error::ServiceError;
use essor::notify::{ApplicationSummary, MailEvent, outbox::OutboxRow};
use serde_json::Value;

use crate::both_backends;
use crate::helpers::{Backend, TestApp, assert_problem, spawn_app, spawn_app_with, test_settings};

both_backends!(
    a_rolled_back_transition_sends_nothing_and_a_committed_one_sends_once,
    every_event_reaches_its_recipients_through_the_worker,
    failures_are_retried_then_dead_until_an_admin_requeues,
    an_expired_lease_is_taken_over_and_a_live_one_is_not,
    admin_outbox_lists_and_filters,
    admin_outbox_refuses_bad_input_and_changes_nothing,
);

// ---------------------------------------------------------------------------------------------
// Fixtures

fn summary(n: usize) -> ApplicationSummary {
    ApplicationSummary {
        application_id: uuid::Uuid::now_v7().to_string(),
        reference: format!("EA-2026-{n:05}"),
        call_id: uuid::Uuid::now_v7().to_string(),
        call_title: "Entreprendre autrement 2026".into(),
        applicant_email: format!("porteur{n}@exemple.fr"),
        applicant_name: format!("Porteur {n}"),
        organisation_name: "Les Ateliers du Sart".into(),
        project_title: "Recyclerie de quartier".into(),
        requested_cents: 2_000_000,
    }
}

fn submitted(n: usize) -> MailEvent {
    MailEvent::Submitted {
        app: summary(n),
        submitted_at: chrono::Utc::now(),
        commune_addresses: Vec::new(),
    }
}

/// Queues `events` in one transaction and commits it.
async fn queue(app: &TestApp, events: Vec<MailEvent>) -> usize {
    let notifier = app.notifier.clone();
    app.db
        .transaction(move |conn| {
            let mut n = 0;
            for e in &events {
                n += notifier.queue(conn, e)?;
            }
            Ok(n)
        })
        .await
        .expect("mails queued")
}

async fn rows(app: &TestApp) -> Vec<OutboxRow> {
    app.db
        .run(|conn| {
            Ok(outbox::table
                .select(OutboxRow::as_select())
                .order(outbox::id)
                .load(conn)?)
        })
        .await
        .unwrap()
}

/// Polls the outbox until `done` holds (fails the test after `timeout`).
async fn wait_rows(
    app: &TestApp,
    timeout: Duration,
    what: &str,
    done: impl Fn(&[OutboxRow]) -> bool,
) -> Vec<OutboxRow> {
    let deadline = Instant::now() + timeout;
    loop {
        let rows = rows(app).await;
        if done(&rows) {
            return rows;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {:?}",
            rows.iter()
                .map(|r| (&r.status, r.attempts, &r.last_error))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn all_status(rows: &[OutboxRow], status: &str) -> bool {
    !rows.is_empty() && rows.iter().all(|r| r.status == status)
}

/// A message that has been given up, for the admin endpoints (queued and buried in one
/// transaction, so no worker sends it first).
pub async fn dead_message(app: &TestApp) -> String {
    let notifier = app.notifier.clone();
    app.db
        .transaction(move |conn| {
            notifier.queue(
                conn,
                &MailEvent::ReviewStarted {
                    app: summary(99_999),
                },
            )?;
            let id: String = outbox::table
                .select(outbox::id)
                .filter(outbox::event.eq("review_started"))
                .filter(outbox::recipient.eq("porteur99999@exemple.fr"))
                .first(conn)?;
            diesel::update(outbox::table.find(&id))
                .set((
                    outbox::status.eq("dead"),
                    outbox::attempts.eq(10),
                    outbox::last_error.eq(Some("550 mailbox unavailable")),
                ))
                .execute(conn)?;
            Ok(id)
        })
        .await
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// The outbox is transactional

async fn a_rolled_back_transition_sends_nothing_and_a_committed_one_sends_once(app: TestApp) {
    // Rolled back: the state change fails after the mails were queued.
    let notifier = app.notifier.clone();
    let result = app
        .db
        .transaction(move |conn| {
            let queued = notifier.queue(conn, &submitted(1))?;
            assert_eq!(
                queued, 2,
                "applicant + the staff address of config/test.toml"
            );
            Err::<(), _>(ServiceError::conflict("la transition échoue après coup"))
        })
        .await;
    assert!(result.is_err());
    assert_eq!(app.count("outbox").await, 0);

    // Committed.
    let queued = queue(&app, vec![submitted(2)]).await;
    assert_eq!(queued, 2);
    let sent = app.wait_for_mails(2).await;
    // Both rows recorded sent, and nothing left due: nothing can be sent twice.
    wait_rows(&app, Duration::from_secs(5), "sent", |r| {
        all_status(r, "sent")
    })
    .await;
    app.assert_nothing_due().await;
    let sent_now = app.sent_mails();
    assert_eq!(sent_now.len(), 2, "{sent_now:?}");
    assert!(sent.iter().all(|m| m.subject.contains("EA-2026-00002")));
    let to: BTreeSet<_> = sent_now.iter().map(|m| m.to.as_str()).collect();
    assert_eq!(
        to,
        BTreeSet::from(["porteur2@exemple.fr", "ess@lillemetropole.fr"])
    );

    let rows = rows(&app).await;
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert_eq!(row.status, "sent");
        assert_eq!(row.attempts, 1);
        assert!(row.sent_at.is_some());
        assert_eq!(row.locked_by.as_deref(), Some(app.mail_instance.as_str()));
        assert_eq!(row.message_id, format!("<{}@lillemetropole.fr>", row.id));
        let mail = sent_now.iter().find(|m| m.outbox_id == row.id).unwrap();
        assert!(
            mail.raw
                .contains(&format!("Message-ID: {}", row.message_id)),
            "{}",
            mail.raw
        );
        assert!(mail.raw.contains("Auto-Submitted: auto-generated"));
        assert!(mail.raw.contains("multipart/alternative"));
    }
}

async fn every_event_reaches_its_recipients_through_the_worker(app: TestApp) {
    let events = essor::notify::sample_events();
    let queued = queue(&app, events).await;
    // submitted: 3 (the applicant, staff, the commune's account), changes, ineligible, review, reviewer, accepted, rejected: 6, withdrawn: 2,
    // reviewer recused: 1 (staff), reviews complete: 1 (staff); convention to sign: 1,
    // signed: 2 (the beneficiary, staff), countersigned: 1, reminder: 1, instalment
    // requested: 1 (staff), paid: 1, recovery: 1, report submitted: 1 (staff), changes
    // requested, approved, reminder: 3, lapsed: 1.
    assert_eq!(queued, 26);
    let sent = app.wait_for_mails(26).await;
    let rows = wait_rows(&app, Duration::from_secs(5), "all sent", |r| {
        all_status(r, "sent")
    })
    .await;
    let mut by_event: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in rows {
        by_event.entry(row.event).or_default().push(row.recipient);
    }
    let expect = |e: &str, who: &[&str]| {
        let mut got = by_event[e].clone();
        got.sort();
        assert_eq!(got, who, "{e}");
    };
    expect(
        "submitted",
        &[
            "agent@ville-roubaix.fr",
            "ess@lillemetropole.fr",
            "porteur@exemple.fr",
        ],
    );
    expect(
        "withdrawn",
        &["ess@lillemetropole.fr", "porteur@exemple.fr"],
    );
    expect("reviewer_assigned", &["expert@exemple.fr"]);
    expect("reviewer_recused", &["ess@lillemetropole.fr"]);
    expect("reviews_complete", &["ess@lillemetropole.fr"]);
    expect("instalment_requested", &["ess@lillemetropole.fr"]);
    expect("report_submitted", &["ess@lillemetropole.fr"]);
    for e in [
        "changes_requested",
        "declared_ineligible",
        "review_started",
        "accepted",
        "rejected",
        "convention_to_sign",
        "convention_countersigned",
        "convention_reminder",
        "instalment_paid",
        "recovery_requested",
        "report_changes_requested",
        "report_approved",
        "report_reminder",
        "grant_lapsed",
    ] {
        expect(e, &["porteur@exemple.fr"]);
    }
    expect(
        "convention_signed",
        &["ess@lillemetropole.fr", "porteur@exemple.fr"],
    );
    let accepted = sent
        .iter()
        .find(|m| m.subject.contains("vous est accordée"))
        .unwrap();
    assert!(accepted.text.contains("15\u{a0}000,00\u{a0}€"));
    assert!(accepted.text.contains("15 janvier 2027"));
    assert!(accepted.text.contains(&format!(
        "{}/candidatures/01936f4e-5a7b-7c3d-9e2f-0a1b2c3d4e5f",
        app.settings.frontend.base_url
    )));
}

// ---------------------------------------------------------------------------------------------
// Retries, dead letters, leases

async fn failures_are_retried_then_dead_until_an_admin_requeues(app: TestApp) {
    let cast = app.cast().await;
    let mailbox = app.mailbox.clone().unwrap();
    mailbox.set_failing(Some("451 4.3.0 boîte momentanément indisponible"));
    queue(&app, vec![MailEvent::ReviewStarted { app: summary(7) }]).await;

    // First a failure with a retry scheduled, then, after max_attempts (3 here), dead.
    let rows = wait_rows(&app, Duration::from_secs(10), "a failed attempt", |r| {
        r.iter().any(|r| r.status == "failed")
    })
    .await;
    let failed = rows.iter().find(|r| r.status == "failed").unwrap();
    // The first retry waits between half and all of retry_base_seconds (1 s here).
    let wait = failed.next_attempt_at - failed.updated_at;
    assert!(
        wait >= chrono::Duration::milliseconds(499) && wait <= chrono::Duration::seconds(1),
        "{wait}"
    );
    assert!(failed.last_error.as_deref().unwrap().contains("451"));
    let rows = wait_rows(&app, Duration::from_secs(15), "a dead message", |r| {
        all_status(r, "dead")
    })
    .await;
    assert_eq!(rows[0].attempts, 3);
    assert!(mailbox.is_empty());

    let id = rows[0].id.clone();
    let listed: Value = app
        .get_as(&cast.admin.token, "/api/v1/admin/outbox?status=dead")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["items"][0]["id"], id.as_str());
    assert_eq!(listed["items"][0]["attempts"], 3);
    assert!(
        listed["items"][0]["last_error"]
            .as_str()
            .unwrap()
            .contains("451")
    );

    // The server is back; the admin re-queues the message: it goes, once, same Message-ID.
    mailbox.set_failing(None);
    let resp = app
        .post_json(
            Some(&cast.admin.token),
            &format!("/api/v1/admin/outbox/{id}/retry"),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "pending");
    assert_eq!(body["attempts"], 0);
    // Like every change of state, the admin's retry is in the audit trail.
    assert_eq!(retries_audited(&app, &cast.admin.id).await, 1);
    let sent = app.wait_for_mails(1).await;
    assert_eq!(sent[0].message_id, rows[0].message_id);
    wait_rows(&app, Duration::from_secs(5), "sent", |r| {
        all_status(r, "sent")
    })
    .await;

    // Sent: nothing left to retry.
    let resp = app
        .post_json(
            Some(&cast.admin.token),
            &format!("/api/v1/admin/outbox/{id}/retry"),
            &serde_json::json!({}),
        )
        .await;
    let problem = assert_problem(resp, 409).await;
    assert_eq!(problem["current_status"], "sent");
    assert!(problem["detail"].as_str().unwrap().contains("déjà envoyé"));
    // A refused retry changes nothing, the trail included.
    assert_eq!(retries_audited(&app, &cast.admin.id).await, 1);
    app.assert_nothing_due().await;
    assert_eq!(app.sent_mails().len(), 1);
}

/// Audit events of `admin`'s retries of a message.
async fn retries_audited(app: &TestApp, admin: &str) -> i64 {
    use essor::db::schema::audit_events as audit;
    let admin = admin.to_owned();
    app.db
        .run(move |conn| {
            Ok(audit::table
                .filter(audit::action.eq("outbox-retry"))
                .filter(audit::actor_id.eq(admin))
                .count()
                .get_result(conn)?)
        })
        .await
        .unwrap()
}

async fn an_expired_lease_is_taken_over_and_a_live_one_is_not(app: TestApp) {
    // Three messages an instance (now dead) had claimed: one whose lease has expired, one whose
    // lease still runs, one that had already used its last attempt when the instance died.
    let notifier = app.notifier.clone();
    let max = app.settings.mail.max_attempts as i32;
    let ids: Vec<String> = app
        .db
        .transaction(move |conn| {
            for n in 1..=3 {
                notifier.queue(conn, &MailEvent::ReviewStarted { app: summary(n) })?;
            }
            let ids: Vec<String> = outbox::table
                .select(outbox::id)
                .order(outbox::id)
                .load(conn)?;
            let now = essor::db::now();
            for (id, until, attempts) in [
                (&ids[0], now - chrono::Duration::seconds(5), 1),
                (&ids[1], now + chrono::Duration::seconds(3600), 1),
                (&ids[2], now - chrono::Duration::seconds(5), max),
            ] {
                diesel::update(outbox::table.find(id))
                    .set((
                        outbox::status.eq("sending"),
                        outbox::locked_by.eq(Some("instance-morte")),
                        outbox::locked_until.eq(Some(until)),
                        outbox::attempts.eq(attempts),
                    ))
                    .execute(conn)?;
            }
            Ok(ids)
        })
        .await
        .unwrap();

    let sent = app.wait_for_mails(1).await;
    // The expired lease taken over and sent, the exhausted one given up; then nothing is due:
    // the live lease is not taken over.
    let status =
        |rows: &[OutboxRow], id: &str| rows.iter().find(|r| r.id == id).map(|r| r.status.clone());
    wait_rows(&app, Duration::from_secs(10), "sent and dead", |r| {
        status(r, &ids[0]).as_deref() == Some("sent")
            && status(r, &ids[2]).as_deref() == Some("dead")
    })
    .await;
    app.assert_nothing_due().await;
    let sent_now = app.sent_mails();
    let rows = rows(&app).await;
    assert_eq!(
        sent_now
            .iter()
            .map(|m| m.outbox_id.as_str())
            .collect::<Vec<_>>(),
        [ids[0].as_str()],
        "only the expired lease is taken over; ids {ids:?}, rows {:?}",
        rows.iter()
            .map(|r| (&r.id, &r.status, r.attempts, r.locked_until, &r.last_error))
            .collect::<Vec<_>>()
    );
    assert_eq!(sent[0].outbox_id, ids[0]);

    let row = |id: &str| rows.iter().find(|r| r.id == id).unwrap();
    assert_eq!(row(&ids[0]).status, "sent");
    assert_eq!(row(&ids[0]).attempts, 2, "the interrupted attempt counts");
    assert_eq!(row(&ids[1]).status, "sending");
    assert_eq!(row(&ids[1]).locked_by.as_deref(), Some("instance-morte"));
    assert_eq!(row(&ids[2]).status, "dead");
    assert!(
        row(&ids[2])
            .last_error
            .as_deref()
            .unwrap()
            .contains("bail expiré")
    );
}

// ---------------------------------------------------------------------------------------------
// Admin endpoints

async fn admin_outbox_lists_and_filters(app: TestApp) {
    let cast = app.cast().await;
    let first = summary(1);
    let first_id = first.application_id.clone();
    queue(
        &app,
        vec![
            MailEvent::ReviewStarted { app: first },
            MailEvent::ReviewStarted { app: summary(2) },
        ],
    )
    .await;
    app.wait_for_mails(2).await;
    wait_rows(&app, Duration::from_secs(5), "sent", |r| {
        all_status(r, "sent")
    })
    .await;
    let dead = dead_message(&app).await;

    let admin = cast.admin.token.as_str();
    let app = &app;
    let get = |q: String| async move {
        let resp = app.get_as(admin, &format!("/api/v1/admin/outbox{q}")).await;
        assert_eq!(resp.status(), 200, "{q}");
        resp.json::<Value>().await.unwrap()
    };
    let all = get(String::new()).await;
    assert_eq!(all["total"], 3);
    assert_eq!(all["page"], 1);
    assert_eq!(all["per_page"], 20);
    // Newest first.
    assert_eq!(all["items"][0]["id"], dead.as_str());
    let item = &all["items"][1];
    for key in [
        "id",
        "message_id",
        "event",
        "audience",
        "recipient",
        "subject",
        "status",
        "attempts",
        "next_attempt_at",
        "created_at",
        "updated_at",
        "sent_at",
    ] {
        assert!(item.get(key).is_some(), "{key} in {item}");
    }
    assert!(item.get("body_html").is_none());

    assert_eq!(get("?status=sent".into()).await["total"], 2);
    assert_eq!(get("?status=dead".into()).await["total"], 1);
    assert_eq!(get("?status=pending".into()).await["total"], 0);
    let by_app = get(format!("?application_id={first_id}")).await;
    assert_eq!(by_app["total"], 1);
    assert_eq!(by_app["items"][0]["application_id"], first_id.as_str());
    let paged = get("?per_page=1&page=2".into()).await;
    assert_eq!(paged["items"].as_array().unwrap().len(), 1);
    assert_eq!(paged["total"], 3);
}

async fn admin_outbox_refuses_bad_input_and_changes_nothing(app: TestApp) {
    let cast = app.cast().await;
    let dead = dead_message(&app).await;
    let before = rows(&app).await;
    let admin = &cast.admin.token;

    for q in [
        "?status=perdu",
        "?status=",
        "?application_id=pas-un-uuid",
        "?per_page=0",
        "?per_page=101",
        "?page=0",
    ] {
        let resp = app.get_as(admin, &format!("/api/v1/admin/outbox{q}")).await;
        let problem = assert_problem(resp, 400).await;
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            detail.contains("Paramètre") || detail.contains("paramètre"),
            "{q}: {detail}"
        );
    }
    let problem = assert_problem(
        app.get_as(admin, "/api/v1/admin/outbox?status=perdu").await,
        400,
    )
    .await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("valeur « perdu » inconnue")
    );

    let unknown = uuid::Uuid::now_v7();
    for (path, needle) in [
        (
            format!("/api/v1/admin/outbox/{unknown}/retry"),
            "Aucun message",
        ),
        ("/api/v1/admin/outbox/pas-un-uuid/retry".to_owned(), "UUID"),
        ("/api/v1/admin/outbox/%20/retry".to_owned(), "UUID"),
    ] {
        let resp = app
            .post_json(Some(admin), &path, &serde_json::json!({}))
            .await;
        let problem = assert_problem(resp, 404).await;
        assert!(
            problem["detail"].as_str().unwrap().contains(needle),
            "{path}: {problem}"
        );
    }
    // Staff may not re-queue (403) and changes nothing either.
    let resp = app
        .post_json(
            Some(&cast.staff.token),
            &format!("/api/v1/admin/outbox/{dead}/retry"),
            &serde_json::json!({}),
        )
        .await;
    assert_problem(resp, 403).await;

    let after = rows(&app).await;
    assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(
            (&b.id, &b.status, b.attempts, b.updated_at),
            (&a.id, &a.status, a.attempts, a.updated_at)
        );
    }
    assert!(app.sent_mails().is_empty());
}

// ---------------------------------------------------------------------------------------------
// The file transport, and start-up checks

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_file_transport_writes_one_eml_per_message() {
    let app = spawn_app_with(Backend::Sqlite, &[("APP__MAIL__TRANSPORT", "file")])
        .await
        .unwrap();
    assert!(app.mailbox.is_none());
    queue(&app, vec![submitted(3)]).await;
    let rows = wait_rows(&app, Duration::from_secs(10), "sent", |r| {
        all_status(r, "sent")
    })
    .await;
    let dir = app.data_dir.path().join("mail");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2, "{files:?}");
    for row in &rows {
        let eml = std::fs::read_to_string(dir.join(format!("{}.eml", row.id))).unwrap();
        assert!(eml.contains(&format!("Message-ID: {}", row.message_id)));
        assert!(eml.contains(&format!("To: {}", row.recipient)) || eml.contains(&row.recipient));
        assert!(eml.contains("Subject: "));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_template_override_stops_the_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let overrides = dir.path().join("templates");
    std::fs::create_dir(&overrides).unwrap();
    std::fs::write(overrides.join("accepted.txt"), "{{ montant_inconnu }}").unwrap();
    let settings = test_settings(
        &format!("sqlite://{}", dir.path().join("essor.db").display()),
        dir.path(),
        &[("APP__MAIL__TEMPLATES_DIR", overrides.to_str().unwrap())],
    );
    let err = match essor::startup::Application::build(settings.clone()).await {
        Ok(_) => panic!("a broken override must stop the start-up"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains("accepted"), "{err}");
    assert!(err.contains("montant_inconnu"), "{err}");

    // Fixed, it starts and uses it.
    std::fs::write(
        overrides.join("accepted.txt"),
        "Bravo {{ applicant_name }} : {{ awarded_amount }}",
    )
    .unwrap();
    assert!(essor::startup::Application::build(settings).await.is_ok());
}

// ---------------------------------------------------------------------------------------------
// A real SMTP server on loopback

/// `tests/support/smtp_sink.py` (aiosmtpd) as a child process, killed when dropped.
pub struct SmtpSink {
    child: Child,
    _stdin: ChildStdin,
    pub port: u16,
    pub dir: PathBuf,
}

fn smtp_required() -> bool {
    std::env::var("ESSOR_REQUIRE_SMTP").is_ok_and(|v| v == "1")
}

impl SmtpSink {
    /// Starts the sink on `port` (0: any free one), writing into `dir`. `None` (with a loud
    /// warning) when python3 or aiosmtpd is missing and `ESSOR_REQUIRE_SMTP` is not 1.
    pub fn start(port: u16, dir: &Path, extra: &[&str]) -> Option<Self> {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_sink.py");
        let python = std::env::var("ESSOR_PYTHON").unwrap_or_else(|_| "python3".into());
        let spawned = Command::new(&python)
            .arg(&script)
            .args(["--port", &port.to_string(), "--out"])
            .arg(dir)
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) => return Self::unavailable(&format!("{python}: {e}")),
        };
        let mut line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        stdout.read_line(&mut line).unwrap_or(0);
        let Some(port) = line
            .trim()
            .strip_prefix("READY ")
            .and_then(|p| p.parse().ok())
        else {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            return Self::unavailable(&String::from_utf8_lossy(&output.stderr));
        };
        let stdin = child.stdin.take().unwrap();
        Some(Self {
            child,
            _stdin: stdin,
            port,
            dir: dir.to_owned(),
        })
    }

    fn unavailable(why: &str) -> Option<Self> {
        if smtp_required() {
            panic!("the SMTP test server is required (ESSOR_REQUIRE_SMTP=1) but: {why}");
        }
        eprintln!(
            "WARNING: cannot start the aiosmtpd test server ({}): this SMTP test is SKIPPED. \
             Install it with `python3 -m pip install aiosmtpd`; set ESSOR_REQUIRE_SMTP=1 to \
             make this a failure.",
            why.trim()
        );
        None
    }

    /// Every message received so far.
    pub fn messages(&self) -> Vec<Value> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return vec![];
        };
        entries
            .filter_map(|e| {
                let path = e.ok()?.path();
                if path.extension()? != "json" {
                    return None;
                }
                serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
            })
            .collect()
    }

    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.messages();
            if got.len() >= n || Instant::now() >= deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port nobody listens on (yet).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn count_by_message_id(messages: &[Value]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for m in messages {
        *counts
            .entry(m["message_id"].as_str().unwrap().to_owned())
            .or_insert(0) += 1;
    }
    counts
}

fn smtp_settings(port: u16) -> Vec<(&'static str, String)> {
    vec![
        ("APP__MAIL__TRANSPORT", "smtp".into()),
        ("APP__MAIL__SMTP_URL", format!("smtp://127.0.0.1:{port}")),
    ]
}

async fn spawn_with_smtp(backend: Backend, port: u16, extra: &[(&str, &str)]) -> Option<TestApp> {
    let owned = smtp_settings(port);
    let mut vars: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
    vars.extend_from_slice(extra);
    spawn_app_with(backend, &vars).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_smtp_delivers_the_right_subject_to_the_right_recipient() {
    let dir = tempfile::tempdir().unwrap();
    let Some(sink) = SmtpSink::start(0, dir.path(), &["--raw"]) else {
        return;
    };
    let app = spawn_with_smtp(Backend::Sqlite, sink.port, &[])
        .await
        .unwrap();
    let accepted = essor::notify::sample_events()
        .into_iter()
        .find(|e| e.name() == "accepted")
        .unwrap();
    queue(&app, vec![submitted(5), accepted]).await;
    let got = sink.wait_for(3, Duration::from_secs(20)).await;
    assert_eq!(got.len(), 3, "{got:?}");
    let rows = wait_rows(&app, Duration::from_secs(5), "sent", |r| {
        all_status(r, "sent")
    })
    .await;
    for row in &rows {
        let m = got
            .iter()
            .find(|m| m["message_id"] == row.message_id.as_str())
            .unwrap_or_else(|| panic!("{} not received", row.message_id));
        assert_eq!(m["rcpt_tos"], serde_json::json!([row.recipient]));
        assert_eq!(m["subject"], row.subject.as_str());
        assert!(m["to"].as_str().unwrap().contains(&row.recipient));
        assert_eq!(m["mail_from"], "entreprendre-autrement@lillemetropole.fr");
        assert_eq!(m["auto_submitted"], "auto-generated");
        assert_eq!(
            m["text"].as_str().unwrap().replace("\r\n", "\n").trim_end(),
            row.body_text.trim_end()
        );
        assert!(m["html"].as_str().unwrap().contains("<!DOCTYPE html>"));
    }
    let subjects: BTreeSet<_> = got.iter().map(|m| m["subject"].as_str().unwrap()).collect();
    assert!(subjects.contains(
        "Accusé de réception de votre candidature EA-2026-00005 – Entreprendre autrement 2026"
    ));
    assert!(
        subjects.contains(
            "Candidature EA-2026-00042 : une subvention de 15\u{a0}000,00\u{a0}€ vous est accordée"
        ),
        "{subjects:?}"
    );
    let receipt = got
        .iter()
        .find(|m| m["rcpt_tos"][0] == "porteur5@exemple.fr")
        .unwrap();
    assert!(receipt["to"].as_str().unwrap().contains("Porteur 5"));
}

async fn smtp_down_then_back(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    // Is aiosmtpd there at all? (Skip before doing anything otherwise.)
    let Some(probe) = SmtpSink::start(0, &dir.path().join("probe"), &[]) else {
        return;
    };
    drop(probe);
    let port = free_port();
    // Enough attempts that none dies while the server is down (test.toml allows only 3).
    let Some(app) = spawn_with_smtp(backend, port, &[("APP__MAIL__MAX_ATTEMPTS", "50")]).await
    else {
        return;
    };
    let events: Vec<MailEvent> = (1..=5)
        .map(|n| MailEvent::ReviewStarted { app: summary(n) })
        .collect();
    queue(&app, events).await;

    // The server is down: every message fails, more than once, and waits.
    let rows = wait_rows(
        &app,
        Duration::from_secs(20),
        "two failed attempts each",
        |r| r.len() == 5 && r.iter().all(|r| r.status == "failed" && r.attempts >= 2),
    )
    .await;
    assert!(rows.iter().all(|r| r.sent_at.is_none()));
    assert!(rows.iter().all(|r| r.last_error.is_some()));

    // Back up on the same port: each message arrives, once.
    let out = dir.path().join("out");
    let sink = SmtpSink::start(port, &out, &[]).expect("aiosmtpd started a moment ago");
    let got = sink.wait_for(5, Duration::from_secs(20)).await;
    assert_eq!(got.len(), 5);
    let rows = wait_rows(&app, Duration::from_secs(10), "all sent", |r| {
        all_status(r, "sent")
    })
    .await;
    // Every row recorded sent (after the server's 250) and nothing left due: no more can come.
    app.assert_nothing_due().await;
    let got = sink.messages();
    let counts = count_by_message_id(&got);
    assert_eq!(counts.len(), 5);
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
    let expected: BTreeSet<_> = rows.iter().map(|r| r.message_id.clone()).collect();
    assert_eq!(counts.keys().cloned().collect::<BTreeSet<_>>(), expected);
    assert!(
        rows.iter()
            .all(|r| r.attempts >= 3 && r.last_error.is_none())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_down_mails_wait_and_arrive_once_when_it_is_back_sqlite() {
    smtp_down_then_back(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_down_mails_wait_and_arrive_once_when_it_is_back_postgres() {
    smtp_down_then_back(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_smtp_refusal_is_dead_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let Some(sink) = SmtpSink::start(0, dir.path(), &["--fail-first", "1", "--fail-code", "550"])
    else {
        return;
    };
    let app = spawn_with_smtp(Backend::Sqlite, sink.port, &[])
        .await
        .unwrap();
    queue(&app, vec![MailEvent::ReviewStarted { app: summary(1) }]).await;
    let rows = wait_rows(&app, Duration::from_secs(10), "dead", |r| {
        all_status(r, "dead")
    })
    .await;
    assert_eq!(rows[0].attempts, 1);
    assert!(rows[0].last_error.as_deref().unwrap().contains("550"));
    assert!(sink.messages().is_empty());
}

/// Two server instances on one PostgreSQL database, one outbox: 200 mails, each delivered
/// exactly once (counted by Message-ID at the SMTP server).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_deliver_200_mails_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let Some(sink) = SmtpSink::start(0, dir.path(), &[]) else {
        return;
    };
    let extra = [
        ("APP__MAIL__BATCH_SIZE", "8"),
        ("APP__MAIL__POLL_INTERVAL_MS", "50"),
    ];
    let Some(a) = spawn_with_smtp(Backend::Postgres, sink.port, &extra).await else {
        return;
    };
    // The second instance: same database, same settings, its own worker and HTTP server.
    let b = essor::startup::Application::build(a.settings.clone())
        .await
        .expect("second instance");
    let b_instance = b.mail_instance().to_owned();
    assert_ne!(b_instance, a.mail_instance);
    let b_stop = b.mail_stopper();
    tokio::spawn(b.run_until_stopped());

    let events: Vec<MailEvent> = (1..=200)
        .map(|n| MailEvent::ReviewStarted { app: summary(n) })
        .collect();
    let started = Instant::now();
    assert_eq!(queue(&a, events).await, 200);

    let got = sink.wait_for(200, Duration::from_secs(120)).await;
    let elapsed = started.elapsed();
    assert_eq!(got.len(), 200, "lost mails");
    let rows = wait_rows(&a, Duration::from_secs(10), "all sent", |r| {
        all_status(r, "sent")
    })
    .await;
    // Every row recorded sent and nothing left due: no duplicate can still arrive.
    a.assert_nothing_due().await;
    let got = sink.messages();
    let counts = count_by_message_id(&got);
    let duplicated: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(duplicated.is_empty(), "duplicated: {duplicated:?}");
    assert_eq!(got.len(), 200);
    let expected: BTreeSet<_> = rows.iter().map(|r| r.message_id.clone()).collect();
    assert_eq!(counts.keys().cloned().collect::<BTreeSet<_>>(), expected);
    let recipients: BTreeSet<_> = got
        .iter()
        .map(|m| m["rcpt_tos"][0].as_str().unwrap())
        .collect();
    assert_eq!(recipients.len(), 200);

    let by_a = rows
        .iter()
        .filter(|r| r.locked_by.as_deref() == Some(a.mail_instance.as_str()))
        .count();
    let by_b = rows
        .iter()
        .filter(|r| r.locked_by.as_deref() == Some(b_instance.as_str()))
        .count();
    assert_eq!(by_a + by_b, 200);
    assert!(
        rows.iter().all(|r| r.attempts == 1),
        "a message was claimed twice"
    );
    b_stop.stop();
    eprintln!(
        "two instances: 200 mails in {:.2} s (instance A sent {by_a}, instance B {by_b})",
        elapsed.as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_transport_is_the_test_default() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    assert!(app.mailbox.is_some());
    assert!(app.sent_mails().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Every transition of the HTTP API mails the right people

both_backends!(each_transition_queues_its_mails_in_its_transaction);

/// Drives applications through every transition of DESIGN.md §7 over HTTP and returns the
/// (recipient, subject) pairs that must have been mailed, in no particular order.
async fn journey(app: &TestApp) -> BTreeSet<(String, String)> {
    use crate::helpers::sample_application;
    use serde_json::json;
    let cast = app.cast().await;
    let staff = cast.staff.token.clone();
    let call = app.published_call(&staff, json!({"min_reviews": 1})).await;
    let (call_id, title) = (
        call["id"].as_str().unwrap().to_owned(),
        call["title"].as_str().unwrap().to_owned(),
    );
    let applicant = "porteur@exemple.fr".to_owned();
    let staff_box = "ess@lillemetropole.fr".to_owned();
    let mut expected = BTreeSet::new();
    let submitted = |expected: &mut BTreeSet<(String, String)>, r: &str| {
        expected.insert((
            applicant.clone(),
            format!("Accusé de réception de votre candidature {r} – {title}"),
        ));
        expected.insert((
            staff_box.clone(),
            format!("Nouvelle candidature déposée : {r} – Les Ateliers du Sart"),
        ));
    };
    let post = |path: String, body: serde_json::Value, token: String| async move {
        let resp = app.post_json(Some(&token), &path, &body).await;
        assert_eq!(
            resp.status(),
            200,
            "{path}: {}",
            resp.text().await.unwrap_or_default()
        );
    };

    // A: submitted, changes requested, submitted again, reviewed, accepted.
    let a = app
        .submitted_application(&cast.applicant.token, &call_id)
        .await;
    let (a_id, a_ref) = (
        a["id"].as_str().unwrap().to_owned(),
        a["reference"].as_str().unwrap().to_owned(),
    );
    submitted(&mut expected, &a_ref);
    post(
        format!("/api/v1/applications/{a_id}/request-changes"),
        json!({"message": "Joignez le budget signé."}),
        staff.clone(),
    )
    .await;
    expected.insert((
        applicant.clone(),
        format!("Candidature {a_ref} : des modifications sont demandées"),
    ));
    post(
        format!("/api/v1/applications/{a_id}/submit"),
        json!({}),
        cast.applicant.token.clone(),
    )
    .await;
    let asg = app.start_review(&staff, &a_id, &[&cast.reviewer]).await;
    expected.insert((
        applicant.clone(),
        format!("Candidature {a_ref} : votre dossier est en cours d'instruction"),
    ));
    expected.insert((
        "expert@exemple.fr".into(),
        format!("Dossier {a_ref} à évaluer – {title}"),
    ));
    app.review(&cast.reviewer, &asg[0], [4, 4, 4, 4, 4]).await;
    // Its only reviewer submitted: every review is in, the agents are told.
    expected.insert((
        "ess@lillemetropole.fr".into(),
        format!("Candidature {a_ref} : toutes les évaluations sont déposées"),
    ));
    let decision = json!({"outcome": "accepted", "awarded_cents": 1_800_000, "motivation": "Projet retenu.",
                          "committee_date": "2026-11-02", "decision_reference": "DEL-2026-0001"});
    post(
        format!("/api/v1/applications/{a_id}/decision"),
        decision,
        staff.clone(),
    )
    .await;
    expected.insert((
        applicant.clone(),
        format!("Candidature {a_ref} : une subvention de 18\u{a0}000,00\u{a0}€ vous est accordée"),
    ));

    // B: submitted, declared ineligible.
    let b = app
        .submitted_application(&cast.applicant.token, &call_id)
        .await;
    let (b_id, b_ref) = (
        b["id"].as_str().unwrap().to_owned(),
        b["reference"].as_str().unwrap().to_owned(),
    );
    submitted(&mut expected, &b_ref);
    post(
        format!("/api/v1/applications/{b_id}/declare-ineligible"),
        json!({"motivation": "Activité hors MEL."}),
        staff.clone(),
    )
    .await;
    expected.insert((
        applicant.clone(),
        format!("Candidature {b_ref} : dossier déclaré inéligible"),
    ));

    // C: a draft withdrawn (staff never heard of it); D: submitted then withdrawn.
    let c = app
        .draft_application(&cast.applicant.token, &call_id, &sample_application())
        .await;
    let (c_id, c_ref) = (
        c["id"].as_str().unwrap().to_owned(),
        c["reference"].as_str().unwrap().to_owned(),
    );
    post(
        format!("/api/v1/applications/{c_id}/withdraw"),
        json!({"reason": "Erreur de saisie."}),
        cast.applicant.token.clone(),
    )
    .await;
    expected.insert((
        applicant.clone(),
        format!("Candidature {c_ref} : retrait enregistré"),
    ));
    let d = app
        .submitted_application(&cast.applicant.token, &call_id)
        .await;
    let (d_id, d_ref) = (
        d["id"].as_str().unwrap().to_owned(),
        d["reference"].as_str().unwrap().to_owned(),
    );
    submitted(&mut expected, &d_ref);
    post(
        format!("/api/v1/applications/{d_id}/withdraw"),
        json!({"reason": "Projet reporté."}),
        cast.applicant.token.clone(),
    )
    .await;
    expected.insert((
        applicant.clone(),
        format!("Candidature {d_ref} : retrait enregistré"),
    ));
    expected.insert((
        staff_box.clone(),
        format!("Candidature {d_ref} retirée par le porteur de projet"),
    ));

    // E: reviewed and rejected; a reviewer added afterwards is told too.
    let e = app
        .submitted_application(&cast.applicant.token, &call_id)
        .await;
    let (e_id, e_ref) = (
        e["id"].as_str().unwrap().to_owned(),
        e["reference"].as_str().unwrap().to_owned(),
    );
    submitted(&mut expected, &e_ref);
    let asg = app.start_review(&staff, &e_id, &[&cast.reviewer]).await;
    expected.insert((
        applicant.clone(),
        format!("Candidature {e_ref} : votre dossier est en cours d'instruction"),
    ));
    expected.insert((
        "expert@exemple.fr".into(),
        format!("Dossier {e_ref} à évaluer – {title}"),
    ));
    let resp = app
        .post_json(
            Some(&staff),
            &format!("/api/v1/applications/{e_id}/assignments"),
            &json!({"reviewer_id": cast.spare_reviewer.id}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    expected.insert((
        "expert.suppleant@exemple.fr".into(),
        format!("Dossier {e_ref} à évaluer – {title}"),
    ));
    app.review(&cast.reviewer, &asg[0], [1, 1, 1, 1, 1]).await;
    let rejection = json!({"outcome": "rejected", "motivation": "Modèle économique fragile.", "committee_date": "2026-11-02"});
    post(
        format!("/api/v1/applications/{e_id}/decision"),
        rejection,
        staff.clone(),
    )
    .await;
    expected.insert((
        applicant.clone(),
        format!("Candidature {e_ref} : décision du comité de sélection"),
    ));

    // Refused transitions queue nothing.
    let before = rows(app).await.len();
    let resp = app
        .post_json(
            Some(&staff),
            &format!("/api/v1/applications/{a_id}/decision"),
            &json!({"outcome": "rejected", "motivation": "x", "committee_date": "2026-11-02"}),
        )
        .await;
    assert_problem(resp, 409).await;
    let resp = app
        .post_json(
            Some(&cast.applicant.token),
            &format!("/api/v1/applications/{c_id}/submit"),
            &json!({}),
        )
        .await;
    assert_problem(resp, 409).await;
    assert_eq!(rows(app).await.len(), before);
    expected
}

/// Every transition's mails, checked in the outbox (memory transport, both backends).
async fn each_transition_queues_its_mails_in_its_transaction(app: TestApp) {
    let expected = journey(&app).await;
    let rows = rows(&app).await;
    let got: BTreeSet<(String, String)> = rows
        .iter()
        .map(|r| (r.recipient.clone(), r.subject.clone()))
        .collect();
    assert_eq!(got, expected);
    // One row per (recipient, subject), except the two receipts of A (submitted twice).
    assert_eq!(rows.len(), expected.len() + 2);
    // The changes-requested mail carries the message; the decision mail the amount in French.
    let changes = rows
        .iter()
        .find(|r| r.subject.contains("modifications"))
        .unwrap();
    assert!(
        changes.body_text.contains("Joignez le budget signé."),
        "{}",
        changes.body_text
    );
    let accepted = rows
        .iter()
        .find(|r| r.subject.contains("accordée"))
        .unwrap();
    assert!(accepted.body_text.contains("18\u{a0}000,00\u{a0}€"));
    assert!(accepted.body_text.contains("/candidatures/"));
}

/// The same journey over a real SMTP server: each mail arrives once, at the right address,
/// with the right subject.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_transition_delivers_its_mails_over_smtp() {
    let dir = tempfile::tempdir().unwrap();
    let Some(sink) = SmtpSink::start(0, dir.path(), &[]) else {
        return;
    };
    let app = spawn_with_smtp(Backend::Sqlite, sink.port, &[])
        .await
        .unwrap();
    let expected = journey(&app).await;
    let total = expected.len() + 2;
    let got = sink.wait_for(total, Duration::from_secs(30)).await;
    assert_eq!(got.len(), total, "{got:?}");
    let received: BTreeSet<(String, String)> = got
        .iter()
        .map(|m| {
            (
                m["rcpt_tos"][0].as_str().unwrap().to_owned(),
                m["subject"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(received, expected);
    assert!(count_by_message_id(&got).values().all(|&n| n == 1));
}

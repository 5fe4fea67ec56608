//! Mail delivery rate to a local SMTP server, measured by hand (no timing assertion anywhere).
//!
//! Starts the aiosmtpd sink of the tests (`tests/support/smtp_sink.py`, needs
//! `python3 -m pip install aiosmtpd`) on a free loopback port, one or more essor instances
//! on a fresh database (a temporary SQLite file, or a temporary PostgreSQL database created
//! through `--postgres ADMIN_URL` and dropped afterwards), queues `--count` mails in one
//! transaction and times until the SMTP server has received them all.
//!
//! ```sh
//! cargo run --release --example mail_bench -- --count 2000
//! cargo run --release --example mail_bench -- --count 2000 --instances 2 \
//!     --postgres postgres://postgres@127.0.0.1:5432/postgres
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark run by hand: a failure stops it with its message

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use diesel::{Connection, RunQueryDsl};
use essor::config::Settings;
use essor::notify::{ApplicationSummary, MailEvent};
use essor::startup::Application;

struct Args {
    count: usize,
    instances: usize,
    batch_size: u32,
    postgres: Option<String>,
}

fn parse_args() -> Args {
    let mut args = Args {
        count: 1000,
        instances: 1,
        batch_size: 20,
        postgres: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--count" => args.count = value().parse().expect("--count N"),
            "--instances" => args.instances = value().parse().expect("--instances N"),
            "--batch-size" => args.batch_size = value().parse().expect("--batch-size N"),
            "--postgres" => args.postgres = Some(value()),
            other => panic!(
                "unknown argument {other}: --count N, --instances N, --batch-size N, --postgres ADMIN_URL"
            ),
        }
    }
    args
}

fn main() -> anyhow::Result<()> {
    let args = parse_args();
    let work = tempfile::tempdir()?;

    // The SMTP server.
    let python = std::env::var("ESSOR_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_sink.py");
    let mut sink = Command::new(python)
        .arg(script)
        .args(["--port", "0", "--count-only"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    let mut lines = BufReader::new(sink.stdout.take().expect("piped"));
    lines.read_line(&mut line)?;
    let port: u16 = line
        .trim()
        .strip_prefix("READY ")
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("the SMTP sink did not start (is aiosmtpd installed?)"))?;
    // The sink prints "RECEIVED <n>" after each message.
    let received = Arc::new(AtomicUsize::new(0));
    let counter = received.clone();
    std::thread::spawn(move || {
        for line in lines.lines() {
            let Ok(line) = line else { break };
            if let Some(n) = line.strip_prefix("RECEIVED ").and_then(|n| n.parse().ok()) {
                counter.store(n, Ordering::Relaxed);
            }
        }
    });

    // The database.
    let (url, pg_cleanup) = match &args.postgres {
        Some(admin) => {
            let name = format!("essor_bench_{}", uuid::Uuid::now_v7().simple());
            let mut conn = diesel::pg::PgConnection::establish(admin)?;
            diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut conn)?;
            let mut url = url::Url::parse(admin)?;
            url.set_path(&name);
            (url.to_string(), Some((admin.clone(), name)))
        }
        None => (
            format!("sqlite://{}", work.path().join("bench.db").display()),
            None,
        ),
    };

    let mut vars: HashMap<String, String> = HashMap::new();
    for (k, v) in [
        ("DATABASE_URL", url.clone()),
        ("APP__SERVER__PORT", "0".into()),
        ("APP__DATA_DIR", work.path().display().to_string()),
        ("APP__MAIL__TRANSPORT", "smtp".into()),
        ("APP__MAIL__SMTP_URL", format!("smtp://127.0.0.1:{port}")),
        ("APP__MAIL__BATCH_SIZE", args.batch_size.to_string()),
        ("APP__MAIL__POLL_INTERVAL_MS", "50".into()),
    ] {
        vars.insert(k.into(), v);
    }
    let settings =
        Settings::load_from(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config"), vars)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(run(&args, settings, &received));
    let _ = sink.kill();
    let _ = sink.wait();
    drop(runtime);
    if let Some((admin, name)) = pg_cleanup {
        let mut conn = diesel::pg::PgConnection::establish(&admin)?;
        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)?;
    }
    result
}

async fn run(args: &Args, settings: Settings, received: &AtomicUsize) -> anyhow::Result<()> {
    let mut stoppers = Vec::new();
    let mut state = None;
    for _ in 0..args.instances {
        let app = Application::build(settings.clone()).await?;
        stoppers.push(app.mail_stopper());
        state.get_or_insert_with(|| app.state().clone());
        tokio::spawn(app.run_until_stopped());
    }
    let state = state.expect("at least one instance");

    let events: Vec<MailEvent> = (0..args.count)
        .map(|n| MailEvent::ReviewStarted {
            app: ApplicationSummary {
                application_id: uuid::Uuid::now_v7().to_string(),
                reference: format!("EA-2026-{:05}", n % 100_000),
                call_id: uuid::Uuid::now_v7().to_string(),
                call_title: "Entreprendre autrement 2026".into(),
                applicant_email: format!("porteur{n}@exemple.fr"),
                applicant_name: format!("Porteur {n}"),
                organisation_name: "Les Ateliers du Sart".into(),
                project_title: "Recyclerie de quartier".into(),
                requested_cents: 2_000_000,
            },
        })
        .collect();

    let queued_at = Instant::now();
    let notifier = state.notifier.clone();
    let queued = state
        .db
        .transaction(move |conn| {
            let mut n = 0;
            for e in &events {
                n += notifier.queue(conn, e)?;
            }
            Ok(n)
        })
        .await?;
    let queueing = queued_at.elapsed();

    let started = Instant::now();
    let deadline = started + Duration::from_secs(600);
    loop {
        let received = received.load(Ordering::Relaxed);
        if received >= queued {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "only {received} of {queued} mails arrived"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let delivery = started.elapsed();
    for stop in &stoppers {
        stop.stop();
    }
    let by_status = state
        .db
        .run(|conn| Ok(essor::notify::outbox::count_by_status(conn)?))
        .await?;

    println!(
        "backend {:?}, {} instance(s), batch size {}",
        state.db.kind(),
        args.instances,
        args.batch_size
    );
    println!(
        "queued {queued} mails (rendered + inserted, one transaction) in {:.2} s: {:.0} mails/s",
        queueing.as_secs_f64(),
        queued as f64 / queueing.as_secs_f64()
    );
    println!(
        "delivered {queued} mails over SMTP to 127.0.0.1 (aiosmtpd) in {:.2} s: {:.0} mails/s",
        delivery.as_secs_f64(),
        queued as f64 / delivery.as_secs_f64()
    );
    println!("outbox by status: {by_status:?}");
    Ok(())
}

//! Export benchmark, run by hand (no timing is asserted anywhere):
//!
//! ```sh
//! cargo build --release --bin essor --example export_bench
//! target/release/examples/export_bench                    # 100 000 applications, both backends
//! target/release/examples/export_bench --applications 20000 --backends sqlite
//! ```
//!
//! For each backend it creates a fresh database (a temporary SQLite file; a new PostgreSQL
//! database at `TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`,
//! dropped afterwards), loads one call with N applications (30 % accepted, 30 % rejected,
//! 20 % under review, 20 % submitted; two submitted reviews on each reviewed one), then for
//! each format starts a fresh `essor` server process (`target/release/essor`, or
//! `ESSOR_BIN`), downloads `GET /api/v1/calls/{id}/export?format=…` as staff, counting the
//! bytes without keeping them, and reads the server's peak resident memory (`VmHWM` in
//! `/proc/<pid>/status`) before and after.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark run by hand: a failure stops it with its message

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use essor::db::applications::ApplicationRow;
use essor::db::assignments::AssignmentRow;
use essor::db::calls::CallRow;
use essor::db::schema::{applications, assignments, reviews};
use essor::db::{Db, DbConnection};
use essor::domain::ids::{ApplicationId, AssignmentId, CallId, UserId};
use essor::domain::money::Cents;
use serde_json::json;

const PASSWORD: &str = "une phrase de passe solide";
const STAFF_EMAIL: &str = "agent.bench@lillemetropole.fr";
const BATCH: usize = 1000;

#[derive(Insertable)]
#[diesel(table_name = reviews)]
struct NewReview {
    id: String,
    assignment_id: String,
    application_id: String,
    reviewer_id: String,
    scores: String,
    comment: String,
    recommendation: String,
    status: String,
    score_hundredths: Option<i32>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    submitted_at: Option<NaiveDateTime>,
}

struct Args {
    applications: usize,
    backends: Vec<String>,
    formats: Vec<String>,
}

fn args() -> Args {
    let mut out = Args {
        applications: 100_000,
        backends: vec!["sqlite".into(), "postgres".into()],
        formats: ["csv", "json", "scdl", "xlsx"].map(String::from).to_vec(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--applications" => out.applications = it.next().unwrap().parse().unwrap(),
            "--backends" => {
                out.backends = it.next().unwrap().split(',').map(str::to_owned).collect()
            }
            "--formats" => out.formats = it.next().unwrap().split(',').map(str::to_owned).collect(),
            other => {
                panic!(
                    "unknown argument {other}: --applications N --backends sqlite,postgres --formats csv,json,scdl,xlsx"
                )
            }
        }
    }
    out
}

fn essor_bin() -> PathBuf {
    if let Ok(p) = std::env::var("ESSOR_BIN") {
        return p.into();
    }
    // target/release/examples/export_bench -> target/release/essor
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().join("essor")
}

/// Multi-row inserts, per backend (diesel's batch insert does not go through the enum).
macro_rules! batch {
    ($conn:expr, $table:expr, $rows:expr) => {
        match &mut **$conn {
            DbConnection::Pg(c) => diesel::insert_into($table).values($rows).execute(c),
            DbConnection::Sqlite(c) => diesel::insert_into($table).values($rows).execute(c),
        }
    };
}

/// Returns the call's id and the staff account's.
fn seed(db: &Db, n: usize) -> anyhow::Result<(String, String)> {
    let mut conn = db.get().map_err(|e| anyhow::anyhow!("{e}"))?;
    let now = essor::db::now();
    let hash = essor::auth::password::hash(PASSWORD)?;
    let mut ids = Vec::new();
    for (email, role, name) in [
        ("porteur.bench@exemple.fr", "applicant", "Porteur Bench"),
        ("expert1.bench@exemple.fr", "reviewer", "Expert Un"),
        ("expert2.bench@exemple.fr", "reviewer", "Experte Deux"),
        (STAFF_EMAIL, "staff", "Agent Bench"),
    ] {
        let id = uuid::Uuid::now_v7().to_string();
        essor::db::users::insert(
            &mut conn,
            &essor::db::users::NewUser {
                id: &id,
                email,
                password_hash: &hash,
                full_name: name,
                role,
                created_at: now,
                email_verified_at: Some(now),
                commune_insee: None,
            },
        )?;
        ids.push(id);
    }
    let (applicant, r1, r2, staff) = (&ids[0], &ids[1], &ids[2], &ids[3]);
    let call = CallId::new();
    let call_id = call.to_string();
    essor::db::calls::insert(
        &mut conn,
        &CallRow {
            id: call.clone(),
            title: "Entreprendre autrement 2026".into(),
            description: "Banc d'essai des exports.".into(),
            rules_version: "mel-2021".into(),
            opens_at: None,
            closes_at: None,
            budget_cents: Cents::new(1_000_000_000_000).unwrap(),
            max_award_cents: essor::domain::money::MEL_DEFAULT_MAX_AWARD,
            max_budget_share_pct: None,
            territory: serde_json::to_string(&essor::domain::territory::mel_insee_codes())?,
            min_reviews: 2,
            scoring_grid: serde_json::to_string(&essor::domain::call::default_scoring_grid())?,
            required_documents: serde_json::to_string(
                &essor::domain::call::default_required_documents(),
            )?,
            state: essor::domain::call::CallState::Published,
            version: 1,
            awarded_cents: Cents::ZERO,
            created_by: UserId::from_stored(staff.clone()),
            created_at: now,
            updated_at: now,
            published_at: Some(now),
            closed_at: None,
            convention: "above_threshold".into(),
            convention_threshold_cents: essor::domain::money::CONVENTION_THRESHOLD,
            report_due_months: 6,
        instalment_schedule: r#"[{"label":"Avance","percent":80,"trigger":"signature"},{"label":"Solde","percent":20,"trigger":"report_approved"}]"#.into(),
        commune_opinion_days: 21,
        reviewers_see_commune_opinions: false,
        },
    )?;
    let body = |i: usize| {
        json!({
            "organisation": {
                "name": format!("Structure de l'ESS n° {i}"), "legal_form": "association",
                "siret": "73282932000074", "rna": "W595012345", "created_on": "2025-03-01",
                "address": "12 rue de Lannoy", "postal_code": "59650", "commune_insee": "59009",
                "employees": 2, "esus": "none", "insertion_structure": null,
                "rcs_ess_mention": false, "in_insolvency_proceedings": false
            },
            "project": {
                "title": format!("Projet « solidaire », n° {i}"),
                "summary": "Collecte, réparation et revente d'objets du quotidien, ateliers ouverts.",
                "stage": "startup", "activity_communes": ["59009"],
                "total_budget_cents": 9000000, "requested_cents": 2000000,
                "starts_on": "2027-01-15", "jobs_created": 2
            },
            "ess": {
                "purpose_beyond_profit": true, "democratic_governance": true,
                "governance_description": "Une personne, une voix.", "reinvested_profit_pct": 100,
                "development_fund_pct": null, "retained_earnings_and_reserves_pct": null,
                "impartible_reserves": true, "no_capital_amortization": true,
                "social_utility": ["social_link"], "social_utility_statement": "Lien social.",
                "top5_avg_pay_smic_ratio": null, "top_pay_smic_ratio": null
            }
        })
        .to_string()
    };
    let grid = essor::domain::call::default_scoring_grid();
    let scores_of = |i: usize, k: usize| -> (String, i32) {
        let points: std::collections::BTreeMap<String, i64> = grid
            .iter()
            .enumerate()
            .map(|(j, c)| (c.key.clone(), ((i + j + k) % 6) as i64))
            .collect();
        let h = essor::domain::scoring::hundredths(essor::domain::scoring::review_score(
            &grid, &points,
        ));
        (serde_json::to_string(&points).unwrap(), h)
    };
    let started = Instant::now();
    conn.transaction::<_, anyhow::Error, _>(|conn| {
        let mut apps = Vec::with_capacity(BATCH);
        let mut asg = Vec::with_capacity(2 * BATCH);
        let mut revs = Vec::with_capacity(2 * BATCH);
        for i in 0..n {
            let id = uuid::Uuid::now_v7().to_string();
            let state = match i % 10 {
                0..=2 => "accepted",
                3..=5 => "rejected",
                6 | 7 => "under_review",
                _ => "submitted",
            };
            let decided = matches!(state, "accepted" | "rejected");
            let at = now - chrono::Duration::seconds((n - i) as i64);
            apps.push(ApplicationRow {
                id: ApplicationId::from_stored(id.clone()),
                reference: format!("EA-2026-{:06}", i + 1),
                call_id: call.clone(),
                applicant_id: UserId::from_stored(applicant.clone()),
                state: state.parse().unwrap(),
                version: 3,
                body: body(i),
                organisation_name: format!("Structure de l'ESS n° {i}"),
                project_title: format!("Projet « solidaire », n° {i}"),
                requested_cents: Cents::new(2_000_000).unwrap(),
                eligibility: None,
                eligibility_verdict: Some("eligible".into()),
                awarded_cents: (state == "accepted").then(|| Cents::new(1_500_000).unwrap()),
                decision_motivation: decided.then(|| "Avis du comité du 12 mars.".to_owned()),
                committee_date: decided
                    .then(|| chrono::NaiveDate::from_ymd_opt(2026, 3, 12).unwrap()),
                decision_reference: (state == "accepted").then(|| format!("DEL-2026-{i:06}")),
                created_at: at,
                updated_at: at,
                submitted_at: Some(at),
                decided_at: decided.then_some(at),
                // One application per structure and call: each row its own key.
                org_key: Some(format!("siret:bench-{i}")),
                // Not searched by the export; filled at the next start-up (backfill_search).
                search_text: None,
                commune_insee: None,
            });
            if state != "submitted" {
                for (k, reviewer) in [r1, r2].into_iter().enumerate() {
                    let assignment = uuid::Uuid::now_v7().to_string();
                    asg.push(AssignmentRow {
                        id: AssignmentId::from_stored(assignment.clone()),
                        application_id: ApplicationId::from_stored(id.clone()),
                        reviewer_id: UserId::from_stored(reviewer.clone()),
                        status: essor::domain::assignment::AssignmentStatus::Accepted,
                        statement: Some("Aucun conflit d'intérêts.".into()),
                        recusal_reason: None,
                        assigned_by: staff.clone(),
                        assigned_at: at,
                        responded_at: Some(at),
                    });
                    let (scores, h) = scores_of(i, k);
                    revs.push(NewReview {
                        id: uuid::Uuid::now_v7().to_string(),
                        assignment_id: assignment,
                        application_id: id.clone(),
                        reviewer_id: reviewer.clone(),
                        scores,
                        comment: "Projet ancré dans le quartier ; modèle économique à consolider."
                            .into(),
                        recommendation: ["favorable", "reserved", "unfavorable"][(i + k) % 3]
                            .into(),
                        status: "submitted".into(),
                        score_hundredths: Some(h),
                        created_at: at,
                        updated_at: at,
                        submitted_at: Some(at),
                    });
                }
            }
            if apps.len() == BATCH || i + 1 == n {
                batch!(conn, applications::table, &apps)?;
                // SQLite takes at most 32 766 bound values per statement.
                for part in asg.chunks(BATCH) {
                    batch!(conn, assignments::table, part)?;
                }
                for part in revs.chunks(BATCH) {
                    batch!(conn, reviews::table, part)?;
                }
                apps.clear();
                asg.clear();
                revs.clear();
            }
        }
        Ok(())
    })?;
    eprintln!(
        "  seeded {n} applications in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok((call_id, staff.clone()))
}

fn vm_kib(pid: u32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_server(url: &str, data_dir: &Path) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(essor_bin())
        .arg("serve")
        .env("DATABASE_URL", url)
        .env("APP__SERVER__PORT", port.to_string())
        .env("APP__DATA_DIR", data_dir)
        .env(
            "RUST_LOG",
            std::env::var("BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the essor binary runs (cargo build --release --bin essor)");
    // Dropping the `Server` kills and waits for the process, even if it never gets ready.
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(r) = client
            .get(format!("{}/health/ready", server.base))
            .send()
            .await
            && r.status() == 200
        {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server did not become ready");
}

struct Measure {
    format: String,
    bytes: u64,
    first_byte: f64,
    seconds: f64,
    hwm_before: u64,
    hwm_after: u64,
}

async fn measure(
    url: &str,
    data_dir: &Path,
    (call_id, staff_id): (&str, &str),
    format: &str,
) -> Measure {
    let server = start_server(url, data_dir).await;
    let client = reqwest::Client::new();
    // A token signed here, with the server's (development) settings: signing in would make
    // the server hash a password with argon2 (19 MiB), which would hide the export's own
    // peak memory.
    let settings = essor::config::Settings::load_from(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("config")
            .as_path(),
        Default::default(),
    )
    .unwrap();
    let token = essor::auth::TokenService::new(&settings.auth)
        .issue(staff_id, essor::domain::account::Role::Staff, 0)
        .unwrap();
    let pid = server.child.id();
    let hwm_before = vm_kib(pid, "VmHWM:");
    let started = Instant::now();
    let mut resp = client
        .get(format!(
            "{}/api/v1/calls/{call_id}/export?format={format}",
            server.base
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut bytes = 0u64;
    let mut first_byte = None;
    while let Some(chunk) = resp.chunk().await.unwrap() {
        first_byte.get_or_insert_with(|| started.elapsed().as_secs_f64());
        bytes += chunk.len() as u64;
    }
    let seconds = started.elapsed().as_secs_f64();
    let hwm_after = vm_kib(pid, "VmHWM:");
    drop(server);
    Measure {
        format: format.to_owned(),
        bytes,
        first_byte: first_byte.unwrap_or(seconds),
        seconds,
        hwm_before,
        hwm_after,
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    // reqwest is built without a TLS provider of its own (essor installs ring's).
    essor::gateways::install_crypto_provider();
    let a = args();
    assert!(
        essor_bin().exists(),
        "{} is missing: cargo build --release --bin essor",
        essor_bin().display()
    );
    println!(
        "export bench: {} applications, 70 % of them with 2 submitted reviews (5 criteria)",
        a.applications
    );
    println!(
        "| backend | format | bytes | first byte (s) | total (s) | server VmHWM before → after (MiB) |"
    );
    println!("|---|---|---:|---:|---:|---|");
    for backend in &a.backends {
        let dir = tempfile::tempdir()?;
        let (url, pg) = match backend.as_str() {
            "sqlite" => (
                format!("sqlite://{}", dir.path().join("bench.db").display()),
                None,
            ),
            "postgres" => {
                let admin = std::env::var("TEST_POSTGRES_URL")
                    .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
                let name = format!("essor_bench_{}", uuid::Uuid::now_v7().simple());
                let mut c = diesel::pg::PgConnection::establish(&admin)?;
                diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut c)?;
                let mut u = url::Url::parse(&admin)?;
                u.set_path(&name);
                (u.to_string(), Some((admin, name)))
            }
            other => anyhow::bail!("unknown backend {other}"),
        };
        let db = Db::connect(&url, 2, Duration::from_secs(5))?;
        db.migrate()?;
        eprintln!("{backend}:");
        let (call_id, staff_id) = seed(&db, a.applications)?;
        {
            use diesel::connection::SimpleConnection;
            let mut conn = db.get().map_err(|e| anyhow::anyhow!("{e}"))?;
            conn.batch_execute("ANALYZE")?;
        }
        drop(db);
        for format in &a.formats {
            let m = measure(&url, dir.path(), (&call_id, &staff_id), format).await;
            println!(
                "| {backend} | {} | {} | {:.2} | {:.2} | {:.1} → {:.1} |",
                m.format,
                m.bytes,
                m.first_byte,
                m.seconds,
                m.hwm_before as f64 / 1024.0,
                m.hwm_after as f64 / 1024.0
            );
        }
        if let Some((admin, name)) = pg {
            let mut c = diesel::pg::PgConnection::establish(&admin)?;
            diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut c)?;
        }
    }
    Ok(())
}

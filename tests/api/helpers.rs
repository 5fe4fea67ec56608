//! `spawn_app`: a real server on a random port over a fresh database — a temporary SQLite
//! file, or a new, uniquely named PostgreSQL database dropped when the test ends.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use diesel::{Connection, RunQueryDsl, pg::PgConnection};
use essor::config::Settings;
use essor::notify::{DeliveryWorker, MemoryMailbox, Notifier, SentMail, Transport, WorkerStop};
use essor::startup::Application;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub settings: Settings,
    pub db: essor::db::Db,
    /// Queues mails as the transition services do (`notifier.queue(conn, &event)`).
    pub notifier: Arc<Notifier>,
    /// The mails the `memory` transport kept (the test configuration's transport); `None`
    /// when a test configured another one.
    pub mailbox: Option<MemoryMailbox>,
    /// This instance's name in `outbox.locked_by`.
    pub mail_instance: String,
    /// Stops the delivery worker when the test ends, before the database is dropped (a worker
    /// polling a dropped database would hold the runtime's shutdown for the pool's timeout).
    pub mail_stop: WorkerStop,
    pub data_dir: tempfile::TempDir,
    /// The services' clock (the wall clock unless the test set one: `spawn_app_clocked`).
    pub clock: essor::clock::Clock,
    _pg: Option<PgDatabase>,
}

pub fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub fn postgres_required() -> bool {
    std::env::var("ESSOR_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

/// A database created for one test and dropped (with its connections) afterwards.
pub struct PgDatabase {
    admin_url: String,
    pub name: String,
    pub url: String,
}

impl PgDatabase {
    /// `None` when PostgreSQL is unreachable and not required (said loudly on stderr).
    pub fn create() -> Option<Self> {
        let admin_url = postgres_admin_url();
        let mut conn = match PgConnection::establish(&admin_url) {
            Ok(c) => c,
            Err(e) if !postgres_required() => {
                eprintln!(
                    "WARNING: PostgreSQL unreachable at {admin_url} ({e}): the PostgreSQL variant \
                     of this test is SKIPPED. Set ESSOR_REQUIRE_POSTGRES=1 to make this a failure."
                );
                return None;
            }
            Err(e) => {
                panic!("PostgreSQL is required (ESSOR_REQUIRE_POSTGRES=1) but {admin_url}: {e}")
            }
        };
        let name = format!("essor_test_{}", uuid::Uuid::now_v7().simple());
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .expect("CREATE DATABASE");
        let mut url = url::Url::parse(&admin_url).expect("TEST_POSTGRES_URL is a URL");
        url.set_path(&name);
        Some(Self {
            admin_url,
            name,
            url: url.to_string(),
        })
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut conn) = PgConnection::establish(&self.admin_url) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut conn);
        }
    }
}

/// Settings for a test: `config/` with APP_ENV=test, the given database, port 0, a
/// temporary data directory, plus `extra` overrides (APP__… keys).
pub fn test_settings(database_url: &str, data_dir: &Path, extra: &[(&str, &str)]) -> Settings {
    let mut vars: HashMap<String, String> = HashMap::new();
    vars.insert("APP_ENV".into(), "test".into());
    vars.insert("DATABASE_URL".into(), database_url.into());
    vars.insert("APP__SERVER__PORT".into(), "0".into());
    vars.insert("APP__SERVER__WORKERS".into(), "2".into());
    vars.insert("APP__DATABASE__POOL_SIZE".into(), "4".into());
    // Every test signs in and registers from 127.0.0.1; throttling has its own tests, which
    // set their limits.
    vars.insert("APP__AUTH__FAILURES_PER_ADDRESS".into(), "100000".into());
    vars.insert(
        "APP__AUTH__ACCOUNT_REQUESTS_PER_ADDRESS_PER_HOUR".into(),
        "100000".into(),
    );
    vars.insert("APP__DATA_DIR".into(), data_dir.display().to_string());
    for (k, v) in extra {
        vars.insert((*k).into(), (*v).into());
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    Settings::load_from(&dir, vars).expect("test settings are valid")
}

pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, &[]).await
}

pub async fn spawn_app_with(backend: Backend, extra: &[(&str, &str)]) -> Option<TestApp> {
    spawn_app_clocked(backend, extra, essor::clock::Clock::system()).await
}

/// A server whose services read `clock`: a test moves it (`clock.advance(…)`) instead of
/// sleeping.
pub async fn spawn_app_clocked(
    backend: Backend,
    extra: &[(&str, &str)],
    clock: essor::clock::Clock,
) -> Option<TestApp> {
    if std::env::var("TEST_LOG").is_ok() {
        essor::telemetry::init(essor::config::Environment::Test);
    }
    let data_dir = tempfile::tempdir().expect("temporary directory");
    let (url, pg) = match backend {
        Backend::Sqlite => (
            format!("sqlite://{}", data_dir.path().join("essor.db").display()),
            None,
        ),
        Backend::Postgres => {
            let pg = PgDatabase::create()?;
            (pg.url.clone(), Some(pg))
        }
    };
    let settings = test_settings(&url, data_dir.path(), extra);
    Some(start(settings, data_dir, pg, clock).await)
}

/// A server on a database the test made itself (e.g. owned by a role of its own).
pub async fn spawn_app_at(database_url: &str, extra: &[(&str, &str)]) -> TestApp {
    let data_dir = tempfile::tempdir().expect("temporary directory");
    let settings = test_settings(database_url, data_dir.path(), extra);
    start(settings, data_dir, None, essor::clock::Clock::system()).await
}

/// Builds and starts a server with these settings; `data_dir` and `pg` live as long as it.
async fn start(
    settings: Settings,
    data_dir: tempfile::TempDir,
    pg: Option<PgDatabase>,
    clock: essor::clock::Clock,
) -> TestApp {
    let app = Application::build_with_clock(settings.clone(), clock.clone())
        .await
        .expect("application builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let db = app.state().db.clone();
    let notifier = app.state().notifier.clone();
    let mailbox = app.mailbox();
    let mail_instance = app.mail_instance().to_owned();
    let mail_stop = app.mail_stopper();
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    TestApp {
        address,
        client,
        settings,
        db,
        notifier,
        mailbox,
        mail_instance,
        mail_stop,
        data_dir,
        clock,
        _pg: pg,
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.mail_stop.stop();
    }
}

pub const PASSWORD: &str = "une phrase de passe solide";

/// An account made for a test, with its token.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub email: String,
    pub token: String,
}

/// One account of each kind the authorization matrix checks.
pub struct Cast {
    pub applicant: Account,
    pub other_applicant: Account,
    pub reviewer: Account,
    /// Assigned nowhere by `cast()`; for tests that add a reviewer.
    pub spare_reviewer: Account,
    pub staff: Account,
    pub admin: Account,
}

/// A second server on the same database and data directory as `first` (what a second
/// instance behind a load balancer is).
pub async fn spawn_app_on(first: &TestApp) -> TestApp {
    let mut settings = first.settings.clone();
    settings.server.port = 0;
    start(
        settings,
        tempfile::tempdir().expect("temporary directory"),
        None,
        first.clock.clone(),
    )
    .await
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    pub async fn get_as(&self, token: &str, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn post_json(
        &self,
        token: Option<&str>,
        path: &str,
        body: &Value,
    ) -> reqwest::Response {
        let mut req = self.client.post(self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request sent")
    }

    /// Creates an account of any role directly through the service layer (as
    /// `essor create-user` does), then signs in over HTTP.
    pub async fn account(&self, role: essor::domain::account::Role, email: &str) -> Account {
        use essor::services::accounts::{self, NewAccount};
        let state = essor::state::AppState::with_clock(
            self.db.clone(),
            self.settings.clone(),
            self.clock.clone(),
        )
        .unwrap();
        let account = NewAccount::parse(email, PASSWORD, "Personne de Test", role).unwrap();
        let user = accounts::create(&state, account)
            .await
            .expect("account created");
        let token = self.token(email, PASSWORD).await;
        Account {
            id: user.id.to_string(),
            email: user.email,
            token,
        }
    }

    /// A commune's account as it comes to be: invited by `admin` with its commune, its
    /// password chosen from the invitation's link, then signed in.
    pub async fn commune_account(&self, admin: &str, email: &str, commune_insee: &str) -> Account {
        let resp = self
            .post_json(
                Some(admin),
                "/api/v1/users/invitations",
                &serde_json::json!({"email": email, "full_name": "Agent de la commune",
                                    "role": "commune", "commune_insee": commune_insee}),
            )
            .await;
        assert_eq!(resp.status(), 201, "commune invited");
        let user: Value = resp.json().await.unwrap();
        let token = self.link_token(email, "account_invitation").await;
        let resp = self
            .post_json(
                None,
                "/api/v1/auth/invitations/accept",
                &serde_json::json!({"token": token, "password": PASSWORD}),
            )
            .await;
        assert!(resp.status().is_success(), "invitation accepted");
        Account {
            id: user["id"].as_str().unwrap().to_owned(),
            email: email.to_owned(),
            token: self.token(email, PASSWORD).await,
        }
    }

    /// Waits (10 s at most) until the memory transport holds at least `n` mails, then returns
    /// them all; fails the test if fewer came.
    pub async fn wait_for_mails(&self, n: usize) -> Vec<SentMail> {
        let mailbox = self
            .mailbox
            .as_ref()
            .expect("the memory mail transport (APP__MAIL__TRANSPORT=memory)");
        let sent = mailbox.wait_for(n, Duration::from_secs(10)).await;
        assert!(
            sent.len() >= n,
            "expected {n} mails, {} arrived: {:?}",
            sent.len(),
            sent.iter().map(|m| &m.subject).collect::<Vec<_>>()
        );
        sent
    }

    /// That nothing is left to send: one delivery round on this database (`deliver_due`, with
    /// this instance's settings) claims no message. What a test asserts instead of sleeping to
    /// see that nothing more arrives; call it once the rows it waited for are `sent`.
    pub async fn assert_nothing_due(&self) {
        let transport = Arc::new(Transport::from_settings(&self.settings).unwrap());
        let worker = DeliveryWorker::new(self.db.clone(), &self.settings, transport)
            .unwrap()
            .with_clock(self.clock.clone());
        assert_eq!(
            worker.deliver_due().await.unwrap(),
            0,
            "a message was still due"
        );
    }

    /// The mails kept by the memory transport so far.
    pub fn sent_mails(&self) -> Vec<SentMail> {
        self.mailbox
            .as_ref()
            .map(MemoryMailbox::sent)
            .unwrap_or_default()
    }

    pub async fn token(&self, email: &str, password: &str) -> String {
        let resp = self
            .post_json(
                None,
                "/api/v1/auth/token",
                &serde_json::json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(resp.status(), 200, "sign-in of {email}");
        let body: Value = resp.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn cast(&self) -> Cast {
        use essor::domain::account::Role;
        Cast {
            applicant: self.account(Role::Applicant, "porteur@exemple.fr").await,
            other_applicant: self
                .account(Role::Applicant, "autre.porteur@exemple.fr")
                .await,
            reviewer: self.account(Role::Reviewer, "expert@exemple.fr").await,
            spare_reviewer: self
                .account(Role::Reviewer, "expert.suppleant@exemple.fr")
                .await,
            staff: self.account(Role::Staff, "agent@lillemetropole.fr").await,
            admin: self.account(Role::Admin, "admin@lillemetropole.fr").await,
        }
    }

    /// Rows of a table, to check that a refused request changed nothing.
    pub async fn count(&self, table: &'static str) -> i64 {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        self.db
            .run(move |conn| {
                Ok(
                    diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
                        .get_result::<N>(conn)?
                        .n,
                )
            })
            .await
            .unwrap()
    }
}

/// Asserts a problem+json answer with the given status and returns its body.
pub async fn assert_problem(resp: reqwest::Response, status: u16) -> Value {
    assert_eq!(
        resp.status().as_u16(),
        status,
        "unexpected status for {}",
        resp.url()
    );
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(
        ct.as_deref(),
        Some("application/problem+json"),
        "content type"
    );
    let body: Value = resp.json().await.expect("problem body is JSON");
    assert_eq!(body["status"], status);
    assert!(
        body["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("urn:essor:problem:"))
    );
    assert!(body["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(
        body["detail"].as_str().is_some_and(|t| !t.is_empty()),
        "detail: {body}"
    );
    body
}

/// Declares each listed `async fn name(app: TestApp)` as two tests, `name::sqlite` and
/// `name::postgres`, each on a fresh application.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use $crate::helpers::{spawn_app, Backend};
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = spawn_app(Backend::Sqlite).await.expect("SQLite always runs");
                super::$name(app).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(app) = spawn_app(Backend::Postgres).await else { return };
                super::$name(app).await;
            }
        }
    )*};
}

/// The same as [`both_backends!`], on a server whose clock the test moves
/// (`spawn_app_clocked`, starting at the wall clock's now).
#[macro_export]
macro_rules! both_backends_clocked {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use $crate::helpers::{Backend, spawn_app_clocked};
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let clock = essor::clock::Clock::set_at(chrono::Utc::now());
                let app = spawn_app_clocked(Backend::Sqlite, &[], clock).await.expect("SQLite always runs");
                super::$name(app).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let clock = essor::clock::Clock::set_at(chrono::Utc::now());
                let Some(app) = spawn_app_clocked(Backend::Postgres, &[], clock).await else { return };
                super::$name(app).await;
            }
        }
    )*};
}

/// The SIRET of DESIGN.md §7's sample structure.
pub const SAMPLE_SIRET: &str = "73282932000074";

/// The application body of DESIGN.md §7: an association in Villeneuve d'Ascq, eligible —
/// with a SIRET of its own ([`distinct_siret`]): one structure files one application per
/// call, so two samples are two structures. A test about the structure itself sets
/// [`SAMPLE_SIRET`].
pub fn sample_application() -> Value {
    let mut body = sample_body();
    body["organisation"]["siret"] = Value::String(distinct_siret());
    body
}

fn sample_body() -> Value {
    serde_json::json!({
        "organisation": {
            "name": "Les Ateliers du Sart", "legal_form": "association",
            "siret": SAMPLE_SIRET, "rna": "W595012345", "created_on": "2025-03-01",
            "address": "12 rue de Lannoy", "postal_code": "59650", "commune_insee": "59009",
            "employees": 2, "esus": "none", "insertion_structure": null,
            "rcs_ess_mention": false, "in_insolvency_proceedings": false
        },
        "project": {
            "title": "Recyclerie de quartier", "summary": "Collecte, réparation et revente.",
            "stage": "startup", "activity_communes": ["59009"], "total_budget_cents": 9000000,
            "requested_cents": 2000000, "starts_on": "2027-01-15", "jobs_created": 2
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
}

/// A valid SIRET (Luhn key) that no other call in this test process returns: one structure
/// files one application per call (DESIGN.md §7), so tests filing several to one call give
/// each its own structure.
pub fn distinct_siret() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let base = format!("{:013}", 4_400_000_000_000u64 + n);
    (0..10)
        .map(|check| format!("{base}{check}"))
        .find(|candidate| essor::domain::identifiers::Siret::parse(candidate).is_ok())
        .expect("one of ten check digits satisfies Luhn")
}

/// A minimal PDF: enough for the type to be read from its first bytes.
pub const PDF: &[u8] = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n";

impl TestApp {
    /// A call created and published by `staff` (overrides merged into the defaults).
    pub async fn published_call(&self, staff: &str, overrides: Value) -> Value {
        let call = self.draft_call(staff, overrides).await;
        let id = call["id"].as_str().unwrap();
        let resp = self
            .post_json(
                Some(staff),
                &format!("/api/v1/calls/{id}/publish"),
                &serde_json::json!({}),
            )
            .await;
        assert_eq!(resp.status(), 200, "publish");
        resp.json().await.unwrap()
    }

    pub async fn draft_call(&self, staff: &str, overrides: Value) -> Value {
        let mut body = serde_json::json!({
            "title": "Entreprendre autrement 2027", "description": "Appel permanent.",
            "budget_cents": 20_000_000
        });
        essor::input::merge_patch(&mut body, &overrides);
        let resp = self.post_json(Some(staff), "/api/v1/calls", &body).await;
        assert_eq!(resp.status(), 201, "create call");
        resp.json().await.unwrap()
    }

    pub async fn draft_application(&self, applicant: &str, call_id: &str, body: &Value) -> Value {
        let resp = self
            .post_json(
                Some(applicant),
                &format!("/api/v1/calls/{call_id}/applications"),
                body,
            )
            .await;
        assert_eq!(
            resp.status(),
            201,
            "create application: {}",
            resp.text().await.unwrap_or_default()
        );
        resp.json().await.unwrap()
    }

    pub async fn upload(
        &self,
        token: &str,
        application_id: &str,
        kind: &str,
        bytes: &[u8],
        filename: &str,
    ) -> reqwest::Response {
        let form = reqwest::multipart::Form::new()
            .text("kind", kind.to_owned())
            .part(
                "file",
                reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(filename.to_owned()),
            );
        self.client
            .post(self.url(&format!("/api/v1/applications/{application_id}/documents")))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .expect("request sent")
    }

    /// Attaches the three default required documents.
    pub async fn attach_required(&self, token: &str, application_id: &str) {
        for kind in ["statuts", "budget_previsionnel", "rib"] {
            let resp = self
                .upload(token, application_id, kind, PDF, &format!("{kind}.pdf"))
                .await;
            assert_eq!(resp.status(), 201, "upload {kind}");
        }
    }

    /// Files an application of `applicant` to the call, active in `communes` (its structure
    /// named after them); submits it unless `draft`. Returns its id.
    pub async fn filed_in(
        &self,
        applicant: &str,
        call_id: &str,
        communes: &[&str],
        draft: bool,
    ) -> String {
        let mut body = sample_application();
        body["project"]["activity_communes"] = serde_json::json!(communes);
        body["organisation"]["name"] =
            serde_json::json!(format!("Structure de {}", communes.join(" et ")));
        let a = self.draft_application(applicant, call_id, &body).await;
        let id = a["id"].as_str().unwrap().to_owned();
        if !draft {
            self.submit_with_documents(applicant, &id).await;
        }
        id
    }

    /// Attaches the required documents to a draft and submits it (200 expected); returns the
    /// submitted application.
    pub async fn submit_with_documents(&self, applicant: &str, id: &str) -> Value {
        self.attach_required(applicant, id).await;
        let resp = self
            .post_json(
                Some(applicant),
                &format!("/api/v1/applications/{id}/submit"),
                &serde_json::json!({}),
            )
            .await;
        assert_eq!(
            resp.status(),
            200,
            "submit: {}",
            resp.text().await.unwrap_or_default()
        );
        resp.json().await.unwrap()
    }

    /// A complete, eligible application, submitted.
    pub async fn submitted_application(&self, applicant: &str, call_id: &str) -> Value {
        let app = self
            .draft_application(applicant, call_id, &sample_application())
            .await;
        let id = app["id"].as_str().unwrap();
        self.submit_with_documents(applicant, id).await
    }

    pub async fn patch_json(
        &self,
        token: &str,
        path: &str,
        if_match: Option<&str>,
        body: &Value,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .patch(self.url(path))
            .bearer_auth(token)
            .header("content-type", "application/merge-patch+json")
            .body(body.to_string());
        if let Some(m) = if_match {
            req = req.header("if-match", m);
        }
        req.send().await.expect("request sent")
    }
}

pub fn review_body(s: [i64; 5], recommendation: &str) -> Value {
    serde_json::json!({
        "scores": {"social_utility": s[0], "territorial_anchoring": s[1], "governance": s[2],
                   "economic_viability": s[3], "jobs": s[4]},
        "comment": "Projet utile au quartier.",
        "recommendation": recommendation
    })
}

impl TestApp {
    /// Starts the review of a submitted application with these reviewers; returns the
    /// assignment id of each, in order.
    pub async fn start_review(
        &self,
        staff: &str,
        application_id: &str,
        reviewers: &[&Account],
    ) -> Vec<String> {
        let ids: Vec<&str> = reviewers.iter().map(|r| r.id.as_str()).collect();
        let resp = self
            .post_json(
                Some(staff),
                &format!("/api/v1/applications/{application_id}/start-review"),
                &serde_json::json!({"reviewer_ids": ids}),
            )
            .await;
        assert_eq!(
            resp.status(),
            200,
            "start-review: {}",
            resp.text().await.unwrap_or_default()
        );
        let mut out = Vec::new();
        for r in reviewers {
            let page: Value = self
                .get_as(&r.token, "/api/v1/assignments?per_page=100")
                .await
                .json()
                .await
                .unwrap();
            let a = page["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["application_id"] == application_id)
                .expect("assignment listed");
            out.push(a["id"].as_str().unwrap().to_owned());
        }
        out
    }

    /// Accepts, scores and submits: a complete review.
    pub async fn review(&self, reviewer: &Account, assignment_id: &str, scores: [i64; 5]) {
        let resp = self
            .post_json(
                Some(&reviewer.token),
                &format!("/api/v1/assignments/{assignment_id}/accept"),
                &serde_json::json!({"statement": "Aucun conflit d'intérêts."}),
            )
            .await;
        assert_eq!(resp.status(), 200, "accept");
        let resp = self
            .client
            .put(self.url(&format!("/api/v1/assignments/{assignment_id}/review")))
            .bearer_auth(&reviewer.token)
            .json(&review_body(scores, "favorable"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "save review");
        let resp = self
            .post_json(
                Some(&reviewer.token),
                &format!("/api/v1/assignments/{assignment_id}/review/submit"),
                &serde_json::json!({}),
            )
            .await;
        assert_eq!(resp.status(), 200, "submit review");
    }
}

impl TestApp {
    /// The token of the latest account mail of `event` queued for `email`, read from the
    /// link in the outbox's plain-text body (what the person would click).
    pub async fn link_token(&self, email: &str, event: &'static str) -> String {
        let (link, _) = self.account_mail(email, event).await;
        link.split("?token=")
            .nth(1)
            .expect("the link ends with ?token=")
            .to_owned()
    }

    /// The link (whole) and the plain text of the latest account mail of `event` for `email`.
    pub async fn account_mail(&self, email: &str, event: &'static str) -> (String, String) {
        use diesel::prelude::*;
        use essor::db::schema::outbox;
        let email = email.to_owned();
        let body: String = self
            .db
            .run(move |conn| {
                Ok(outbox::table
                    .filter(outbox::recipient.eq(email))
                    .filter(outbox::event.eq(event))
                    .order(outbox::created_at.desc())
                    .then_order_by(outbox::id.desc())
                    .select(outbox::body_text)
                    .first::<String>(conn)?)
            })
            .await
            .expect("an account mail in the outbox");
        let re = regex::Regex::new(r"https?://\S+\?token=[0-9a-f]+").unwrap();
        let link = re
            .find(&body)
            .unwrap_or_else(|| panic!("a link in the mail: {body}"))
            .as_str()
            .to_owned();
        (link, body)
    }

    /// Account mails of `event` queued so far, for any recipient.
    pub async fn account_mail_count(&self, event: &'static str) -> i64 {
        use diesel::prelude::*;
        use essor::db::schema::outbox;
        self.db
            .run(move |conn| {
                Ok(outbox::table
                    .filter(outbox::event.eq(event))
                    .count()
                    .get_result(conn)?)
            })
            .await
            .unwrap()
    }

    /// Registers an applicant over HTTP and verifies the address with the mailed link, as a
    /// person would; returns the signed-in account.
    pub async fn registered_applicant(&self, email: &str) -> Account {
        let resp = self
            .post_json(
                None,
                "/api/v1/auth/register",
                &serde_json::json!({"email": email, "password": PASSWORD, "full_name": "Jeanne Dupont"}),
            )
            .await;
        assert_eq!(resp.status(), 202, "register {email}");
        let token = self.link_token(email, "account_verify_email").await;
        let resp = self
            .post_json(
                None,
                "/api/v1/auth/verify-email",
                &serde_json::json!({ "token": token }),
            )
            .await;
        assert_eq!(resp.status(), 204, "verify {email}");
        let token = self.token(email, PASSWORD).await;
        let me: Value = self
            .get_as(&token, "/api/v1/me")
            .await
            .json()
            .await
            .unwrap();
        Account {
            id: me["id"].as_str().unwrap().to_owned(),
            email: email.to_owned(),
            token,
        }
    }
}

/// A PostgreSQL database that a test may take down and bring back (the outage tests).
/// A database owned by a role of its own: `CONNECTION LIMIT` does not apply to superusers.
pub struct OwnedDatabase {
    admin_url: String,
    name: String,
    role: String,
    pub url: String,
}

impl OwnedDatabase {
    pub fn create() -> Option<Self> {
        let admin_url = postgres_admin_url();
        let mut admin = match PgConnection::establish(&admin_url) {
            Ok(c) => c,
            Err(e) if !postgres_required() => {
                eprintln!(
                    "WARNING: PostgreSQL unreachable at {admin_url} ({e}): a test that takes it down is \
                     SKIPPED. Set ESSOR_REQUIRE_POSTGRES=1 to make this a failure."
                );
                return None;
            }
            Err(e) => panic!("PostgreSQL is required (ESSOR_REQUIRE_POSTGRES=1): {e}"),
        };
        let suffix = uuid::Uuid::now_v7().simple().to_string();
        let (name, role) = (
            format!("essor_outage_{suffix}"),
            format!("essor_role_{suffix}"),
        );
        for sql in [
            format!("CREATE ROLE {role} LOGIN"),
            format!("CREATE DATABASE {name} OWNER {role}"),
        ] {
            diesel::sql_query(sql).execute(&mut admin).expect("setup");
        }
        let mut url = url::Url::parse(&admin_url).expect("a URL");
        url.set_path(&name);
        url.set_username(&role).expect("a user");
        let _ = url.set_password(None);
        Some(Self {
            admin_url,
            name,
            role,
            url: url.to_string(),
        })
    }

    fn admin(&self, sql: &str) -> usize {
        let mut admin = PgConnection::establish(&self.admin_url).expect("admin connection");
        diesel::sql_query(sql).execute(&mut admin).expect(sql)
    }

    /// Refuses new connections and ends the open ones, as a failover or a restart does.
    pub fn go_down(&self) {
        self.admin(&format!("ALTER DATABASE {} CONNECTION LIMIT 0", self.name));
        self.admin(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}'",
            self.name
        ));
    }

    pub fn come_back(&self) {
        self.admin(&format!("ALTER DATABASE {} CONNECTION LIMIT -1", self.name));
    }
}

impl Drop for OwnedDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&self.admin_url) {
            for sql in [
                format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
                format!("DROP ROLE IF EXISTS {}", self.role),
            ] {
                let _ = diesel::sql_query(sql).execute(&mut admin);
            }
        }
    }
}

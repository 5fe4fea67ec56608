//! `spawn_app`: a real server on a random port over a fresh database — a temporary SQLite
//! file, or a new, uniquely named PostgreSQL database dropped when the test ends.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use diesel::{Connection, RunQueryDsl, pg::PgConnection};
use essor::config::Settings;
use essor::notify::{MemoryMailbox, Notifier, SentMail, WorkerStop};
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
    _pg: Option<PgDatabase>,
}

fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn postgres_required() -> bool {
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
    // Tests sign in many times from 127.0.0.1; the limiter has its own test.
    vars.insert("APP__AUTH__RATE_LIMIT_PER_MINUTE".into(), "100000".into());
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
    let app = Application::build(settings.clone())
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
    Some(TestApp {
        address,
        client,
        settings,
        db,
        notifier,
        mailbox,
        mail_instance,
        mail_stop,
        data_dir,
        _pg: pg,
    })
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
    pub staff: Account,
    pub admin: Account,
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
        let state = essor::state::AppState::new(self.db.clone(), self.settings.clone()).unwrap();
        let account = NewAccount::parse(email, PASSWORD, "Personne de Test", role).unwrap();
        let user = accounts::create(&state, account)
            .await
            .expect("account created");
        let token = self.token(email, PASSWORD).await;
        Account {
            id: user.id,
            email: user.email,
            token,
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

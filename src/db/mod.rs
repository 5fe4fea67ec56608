//! One connection type over PostgreSQL and SQLite (diesel's `MultiConnection`), an r2d2 pool
//! whose manager picks the backend from the URL scheme, and the embedded migrations.
//!
//! Every call goes through `Db::run`, which takes a pooled connection inside `web::block` so
//! actix's worker threads never wait on the database.

pub mod account_tokens;
pub mod applications;
pub mod assignments;
pub mod audit;
pub mod calls;
pub mod commune_opinions;
pub mod communes;
pub mod documents;
pub mod grants;
pub mod instalments;
pub mod letters;
pub mod outbox;
pub mod personal_data;
pub mod personal_tokens;
pub mod proconnect;
pub mod registry;
pub mod reports;
pub mod retention;
pub mod reviews;
pub mod schema;
pub mod sessions;
pub mod sql_types;
pub mod staff;
pub mod states;
pub mod territory;
pub mod throttle;
pub mod users;

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::time::Duration;

use diesel::Connection;
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection};
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::error::ServiceError;

pub const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

/// Runs a diesel query on the backend's own connection rather than through the
/// `MultiConnection`, whose every pass over a statement (cache key, SQL, binds) writes the SQL
/// text out again: the hot reads' statements (the account check, an application, the list
/// counters), which diesel then prepares once per connection and finds by their type (issue
/// 33). The query is written once and compiled for both backends.
#[macro_export]
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Pg($c) => $body,
            $crate::db::DbConnection::Sqlite($c) => $body,
        }
    };
}

impl DbConnection {
    pub fn kind(&self) -> DatabaseKind {
        match self {
            Self::Pg(_) => DatabaseKind::Postgres,
            Self::Sqlite(_) => DatabaseKind::Sqlite,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    Postgres,
    Sqlite,
}

#[derive(Debug, thiserror::Error)]
pub enum DbUrlError {
    #[error("unsupported database URL scheme in {0:?}: use postgres://… or sqlite://…")]
    Scheme(String),
    #[error("the SQLite URL {0:?} names no file")]
    EmptyPath(String),
}

impl DatabaseKind {
    pub fn from_url(url: &str) -> Result<Self, DbUrlError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                Err(DbUrlError::EmptyPath(url.to_owned()))
            } else {
                Ok(Self::Sqlite)
            }
        } else {
            Err(DbUrlError::Scheme(redact(url)))
        }
    }
}

/// The URL without its password, for messages and logs.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

/// Builds connections of the backend named by the URL scheme (diesel's own
/// `MultiConnection::establish` would try PostgreSQL first and feed it a SQLite path).
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    kind: DatabaseKind,
    url: String,
}

impl ConnectionManager {
    pub fn new(url: &str) -> Result<Self, DbUrlError> {
        let kind = DatabaseKind::from_url(url)?;
        let url = match kind {
            DatabaseKind::Postgres => url.to_owned(),
            DatabaseKind::Sqlite => url.trim_start_matches("sqlite://").to_owned(),
        };
        Ok(Self { kind, url })
    }

    /// The SQLite file, unless the database lives in memory.
    fn sqlite_file(&self) -> Option<PathBuf> {
        (self.kind == DatabaseKind::Sqlite && !self.url.starts_with(":memory:"))
            .then(|| PathBuf::from(&self.url))
    }

    /// How a pooled SQLite connection opens the file: `mode=rw` never creates it, so a file
    /// removed under a running server is not silently replaced by an empty database (the
    /// file is created once, at start-up, by `Db::connect`).
    fn sqlite_open_uri(&self) -> String {
        match self.sqlite_file() {
            Some(path) => {
                let p = path.display().to_string();
                let escaped = p
                    .replace('%', "%25")
                    .replace('?', "%3f")
                    .replace('#', "%23");
                format!("file:{escaped}?mode=rw")
            }
            None => self.url.clone(),
        }
    }
}

thread_local! {
    /// Set by [`Db`] when the connection in hand failed a check after an error (its server
    /// went away, its file is gone or read-only). r2d2 calls `has_broken` on the same thread
    /// as that connection goes back to the pool, and then closes it instead of keeping it.
    static CONNECTION_LOST: Cell<bool> = const { Cell::new(false) };
}

fn mark_connection_lost() {
    CONNECTION_LOST.with(|c| c.set(true));
}

impl ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        match self.kind {
            DatabaseKind::Postgres => PgConnection::establish(&self.url)
                .map(DbConnection::Pg)
                .map_err(r2d2::Error::ConnectionError),
            DatabaseKind::Sqlite => {
                let mut conn = SqliteConnection::establish(&self.sqlite_open_uri())
                    .map_err(r2d2::Error::ConnectionError)?;
                // Foreign keys are off by default in SQLite; WAL lets readers run beside the
                // one writer; busy_timeout makes writers queue instead of failing at once.
                conn.batch_execute(
                    "PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000;",
                )
                .map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    /// Cheap, as r2d2 asks: no query. A connection is dropped when `Db` found it dead after
    /// an error, or when diesel left its transaction state broken.
    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        CONNECTION_LOST.with(|c| c.replace(false)) || diesel::r2d2::R2D2Connection::is_broken(conn)
    }
}

/// Why a database error means the database, not the request, is at fault; `None` otherwise.
/// SQLite says so in its messages (diesel keeps no code for these).
fn unavailable_reason(e: &diesel::result::Error) -> Option<&'static str> {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => {
            Some("the connection to the database was closed")
        }
        Error::DatabaseError(DatabaseErrorKind::UnableToSendCommand, _) => {
            Some("the database did not take the command")
        }
        Error::DatabaseError(_, info) => {
            let m = info.message();
            if m.contains("readonly database") {
                Some("the SQLite database is read-only")
            } else if m.contains("disk I/O error") || m.contains("unable to open database file") {
                Some("the SQLite database file cannot be read or written")
            } else if m.contains("database disk image is malformed") {
                Some("the SQLite database file is damaged")
            } else {
                None
            }
        }
        _ => None,
    }
}

pub type Pool = r2d2::Pool<ConnectionManager>;
pub type PooledConnection = r2d2::PooledConnection<ConnectionManager>;

/// The pool plus the backend it speaks to; cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    kind: DatabaseKind,
    /// The SQLite file, checked before each use: SQLite keeps working on a file removed
    /// under it, and every write would be lost.
    sqlite_file: Option<PathBuf>,
}

impl Db {
    /// Creates the pool. For SQLite the parent directory is created if missing. The pool
    /// starts lazily (min_idle 0) so a server can start and report "not ready" while its
    /// database is down.
    pub fn connect(url: &str, pool_size: u32, timeout: Duration) -> anyhow::Result<Self> {
        let manager = ConnectionManager::new(url)?;
        if manager.kind == DatabaseKind::Sqlite
            && let Some(parent) = Path::new(&manager.url).parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(|e| {
                anyhow::anyhow!("cannot create the directory {}: {e}", parent.display())
            })?;
        }
        if let Some(file) = manager.sqlite_file()
            && !file.exists()
        {
            // The one place a SQLite file is created (pooled connections open it `mode=rw`).
            SqliteConnection::establish(&manager.url).map_err(|e| {
                anyhow::anyhow!("cannot create the SQLite database {}: {e}", file.display())
            })?;
        }
        let kind = manager.kind;
        let sqlite_file = manager.sqlite_file();
        let pool = r2d2::Pool::builder()
            .max_size(pool_size)
            .min_idle(Some(0))
            // No `SELECT 1` before every query: a connection that fails a query is checked
            // then (`Db::run`) and dropped if dead; the readiness probe still pings.
            .test_on_check_out(false)
            .connection_timeout(timeout)
            .build_unchecked(manager);
        Ok(Self {
            pool,
            kind,
            sqlite_file,
        })
    }

    pub fn kind(&self) -> DatabaseKind {
        self.kind
    }

    pub fn get(&self) -> Result<PooledConnection, ServiceError> {
        self.get_within(None)
    }

    fn get_within(&self, timeout: Option<Duration>) -> Result<PooledConnection, ServiceError> {
        self.check_sqlite_file()?;
        match timeout {
            Some(t) => self.pool.get_timeout(t),
            None => self.pool.get(),
        }
        .map_err(|e| {
            let why = format!("no database connection: {e}");
            tracing::error!(error = %e, "database unavailable: no connection could be made");
            ServiceError::Unavailable(why)
        })
    }

    /// The SQLite file must still be there: a removed file is an outage, not an empty database.
    fn check_sqlite_file(&self) -> Result<(), ServiceError> {
        match &self.sqlite_file {
            Some(file) if !file.exists() => {
                tracing::error!(
                    file = %file.display(),
                    "database unavailable: the SQLite file is gone; restore it from a backup"
                );
                Err(ServiceError::Unavailable(format!(
                    "the SQLite file {} is gone",
                    file.display()
                )))
            }
            _ => Ok(()),
        }
    }

    /// Runs `f` with a connection of the pool, on this thread. After an error that may come
    /// from the connection, the connection is checked (one `SELECT 1`, only then): a dead one
    /// is dropped from the pool and the caller gets `Unavailable` (503), so the pool heals as
    /// soon as the database is back instead of handing out dead connections.
    pub fn with_connection<T>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> Result<T, ServiceError>,
    ) -> Result<T, ServiceError> {
        let mut conn = self.get()?;
        let result = f(&mut conn);
        let Err(ServiceError::Internal(e)) = &result else {
            return result;
        };
        let reason = e
            .downcast_ref::<diesel::result::Error>()
            .and_then(unavailable_reason);
        let lost = match conn.batch_execute("SELECT 1") {
            Err(ping) => Some(format!("the connection failed its check: {ping}")),
            Ok(()) => reason.map(str::to_owned),
        };
        match lost {
            Some(why) => {
                tracing::error!(
                    error = %e,
                    why,
                    "database unavailable: the connection is dropped from the pool"
                );
                mark_connection_lost();
                drop(conn);
                self.check_sqlite_file()?;
                Err(ServiceError::Unavailable(why))
            }
            None => result,
        }
    }

    /// Runs `f` with a pooled connection on the blocking thread pool.
    pub async fn run<T, F>(&self, f: F) -> Result<T, ServiceError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, ServiceError> + Send + 'static,
        T: Send + 'static,
    {
        let db = self.clone();
        actix_web::web::block(move || db.with_connection(f))
            .await
            .map_err(|e| ServiceError::Internal(anyhow::anyhow!("blocking task failed: {e}")))?
    }

    /// Runs `f` inside a write transaction (rolled back on `Err`).
    pub async fn transaction<T, F>(&self, f: F) -> Result<T, ServiceError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, ServiceError> + Send + 'static,
        T: Send + 'static,
    {
        self.run(move |conn| write_transaction(conn, f)).await
    }

    /// Applies pending migrations. On PostgreSQL an advisory lock makes concurrent
    /// start-ups of several instances take turns instead of racing on the same DDL.
    pub fn migrate(&self) -> anyhow::Result<Vec<String>> {
        let mut conn = self
            .pool
            .get()
            .map_err(|e| anyhow::anyhow!("cannot connect to the database: {e}"))?;
        run_migrations(&mut conn)
    }

    /// Checks the database answers, waiting at most `timeout` for a connection (a probe
    /// must not hang as long as a request would).
    pub fn ping_within(&self, timeout: Duration) -> Result<(), ServiceError> {
        let mut conn = self.get_within(Some(timeout))?;
        conn.batch_execute("SELECT 1").map_err(|e| {
            tracing::error!(error = %e, "database unavailable: the readiness ping failed");
            mark_connection_lost();
            ServiceError::Unavailable(e.to_string())
        })
    }
}

/// A transaction meant to write. On SQLite it starts with `BEGIN IMMEDIATE`: it takes the
/// write lock up front (waiting up to busy_timeout) instead of failing with SQLITE_BUSY when a
/// read inside it later wants to become a write. PostgreSQL uses row locks and its default.
pub fn write_transaction<T, F>(conn: &mut DbConnection, f: F) -> Result<T, ServiceError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, ServiceError>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    type Manager = <DbConnection as Connection>::TransactionManager;
    match conn {
        DbConnection::Sqlite(sqlite) => {
            AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?
        }
        DbConnection::Pg(_) => Manager::begin_transaction(conn)?,
    }
    match f(conn) {
        Ok(value) => {
            Manager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            if let Err(rollback) = Manager::rollback_transaction(conn) {
                tracing::error!(error = %rollback, "rollback failed");
            }
            Err(e)
        }
    }
}

/// UTC now, truncated to the microsecond: what both backends store, so a value read back
/// equals the value written.
pub fn now() -> chrono::NaiveDateTime {
    use chrono::SubsecRound;
    chrono::Utc::now().naive_utc().trunc_subsecs(6)
}

/// Advisory-lock key for migrations: an arbitrary constant, the same on every instance.
const MIGRATION_LOCK_KEY: i64 = 0x6573_736f_725f_6d67; // "essor_mg"

pub fn run_migrations(conn: &mut DbConnection) -> anyhow::Result<Vec<String>> {
    let applied = match conn {
        DbConnection::Pg(pg) => {
            pg.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))?;
            let result = pg
                .run_pending_migrations(PG_MIGRATIONS)
                .map(|v| v.iter().map(|m| m.to_string()).collect::<Vec<_>>());
            pg.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))?;
            result
        }
        DbConnection::Sqlite(sqlite) => sqlite
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|v| v.iter().map(|m| m.to_string()).collect::<Vec<_>>()),
    };
    let applied = applied.map_err(|e| anyhow::anyhow!("migration failed: {e}"))?;
    let filled = applications::backfill_search(conn)
        .map_err(|e| anyhow::anyhow!("filling the search columns failed: {e}"))?;
    if filled > 0 {
        tracing::info!(applications = filled, "search columns filled");
    }
    let chained = audit::backfill_chain(conn)
        .map_err(|e| anyhow::anyhow!("chaining the audit trail failed: {e}"))?;
    if chained > 0 {
        tracing::info!(events = chained, "audit events chained");
    }
    Ok(applied)
}

/// A stored value the domain cannot read (a state no migration allows, a negative amount):
/// a bug or a hand-edited row, reported as an internal error naming the column.
pub fn corrupt(column: &str, e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Internal(anyhow::anyhow!("{column}: stored value unreadable: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_is_chosen_by_scheme() {
        let cases = [
            ("postgres://u@h/db", Some(DatabaseKind::Postgres)),
            ("postgresql://u@h/db", Some(DatabaseKind::Postgres)),
            ("sqlite://./data/essor.db", Some(DatabaseKind::Sqlite)),
            ("sqlite://:memory:", Some(DatabaseKind::Sqlite)),
            ("sqlite://", None),
            ("mysql://u@h/db", None),
            ("./data/essor.db", None),
        ];
        for (url, expected) in cases {
            assert_eq!(DatabaseKind::from_url(url).ok(), expected, "{url}");
        }
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("sqlite://./x.db"), "sqlite://./x.db");
    }

    /// Both migration folders must hold the same migration names, so the two backends
    /// never drift apart.
    #[test]
    fn migration_folders_match() {
        let names = |dir: &str| {
            let mut v: Vec<String> =
                std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(dir))
                    .unwrap()
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect();
            v.sort();
            v
        };
        let pg = names("migrations/postgres");
        assert!(!pg.is_empty());
        assert_eq!(pg, names("migrations/sqlite"));
        for dir in &pg {
            for file in ["up.sql", "down.sql"] {
                for backend in ["postgres", "sqlite"] {
                    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
                        .join("migrations")
                        .join(backend)
                        .join(dir)
                        .join(file);
                    assert!(p.exists(), "{} is missing", p.display());
                }
            }
        }
    }
}

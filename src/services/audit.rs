//! The audit trail's keys, checkpoints, export and verification (DESIGN.md §18, issue 32).
//! The hashing and the verification are `domain::audit_chain`'s; this reads the database and
//! the files.
//!
//! The signing key is a PKCS#8 PEM file (what `openssl genpkey -algorithm ed25519` writes),
//! named by `APP__AUDIT__SIGNING_KEY_FILE`; in development and tests, without one, essor makes
//! `audit-signing-key.pem` under the data directory at first start; production refuses to
//! start without its file.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{SigningKey, VerifyingKey};

use crate::config::{Environment, Settings};
use crate::db::audit as rows;
use crate::db::{Db, DbConnection};
use crate::domain::audit_chain::{
    self, ChainVerifier, ChainedEvent, Checkpoint, Mismatch, Verified,
};
use crate::error::ServiceError;

/// The file names of an export folder.
pub const EVENTS_FILE: &str = "events.jsonl";
pub const CHECKPOINTS_FILE: &str = "checkpoints.jsonl";
pub const PUBLIC_KEY_FILE: &str = "public-key.pem";

/// How many events a page of the walk reads.
const PAGE: i64 = 2000;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the audit signing key file {0} already exists: it is never overwritten")]
    Exists(PathBuf),
    #[error(
        "production needs the audit signing key: set APP__AUDIT__SIGNING_KEY_FILE to a file made \
         by `essor audit init-key FILE`"
    )]
    NotConfigured,
    #[error("cannot read the audit signing key {path}: {why}")]
    Read { path: PathBuf, why: String },
    #[error("cannot write the audit signing key {path}: {why}")]
    Write { path: PathBuf, why: String },
    #[error("cannot read the public key {path}: {why}")]
    Public { path: PathBuf, why: String },
}

/// The key file essor uses: the configured one, else (not in production) one under the data
/// directory.
pub fn key_path(settings: &Settings) -> Result<PathBuf, KeyError> {
    match &settings.audit.signing_key_file {
        Some(p) => Ok(p.clone()),
        None if settings.env == Environment::Production => Err(KeyError::NotConfigured),
        None => Ok(settings.data_dir.join("audit-signing-key.pem")),
    }
}

/// Makes a new key at `path` (mode 0600, never over an existing file); returns it.
pub fn init_key(path: &Path) -> Result<SigningKey, KeyError> {
    let write = |why: String| KeyError::Write {
        path: path.to_owned(),
        why,
    };
    let key = SigningKey::from_bytes(&rand::random::<[u8; 32]>());
    let pem = key
        .to_pkcs8_pem(Default::default())
        .map_err(|e| write(e.to_string()))?;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| write(e.to_string()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            KeyError::Exists(path.to_owned())
        } else {
            write(e.to_string())
        }
    })?;
    file.write_all(pem.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| write(e.to_string()))?;
    Ok(key)
}

pub fn load_key(path: &Path) -> Result<SigningKey, KeyError> {
    let read = |why: String| KeyError::Read {
        path: path.to_owned(),
        why,
    };
    let pem = std::fs::read_to_string(path).map_err(|e| read(e.to_string()))?;
    SigningKey::from_pkcs8_pem(&pem).map_err(|e| read(e.to_string()))
}

/// The key for this configuration: loaded, or (not in production) made at first use.
pub fn signing_key(settings: &Settings) -> Result<SigningKey, KeyError> {
    let path = key_path(settings)?;
    if settings.audit.signing_key_file.is_none() && !path.exists() {
        match init_key(&path) {
            Ok(key) => {
                tracing::warn!(
                    path = %path.display(),
                    "audit signing key made under the data directory (development only)"
                );
                return Ok(key);
            }
            // Another instance made it meanwhile.
            Err(KeyError::Exists(_)) => {}
            Err(e) => return Err(e),
        }
    }
    load_key(&path)
}

pub fn public_key_pem(key: &VerifyingKey) -> String {
    key.to_public_key_pem(Default::default())
        .unwrap_or_default()
}

pub fn read_public_key(path: &Path) -> Result<VerifyingKey, KeyError> {
    let public = |why: String| KeyError::Public {
        path: path.to_owned(),
        why,
    };
    let pem = std::fs::read_to_string(path).map_err(|e| public(e.to_string()))?;
    VerifyingKey::from_public_key_pem(&pem).map_err(|e| public(e.to_string()))
}

/// Signs a checkpoint of the chain as it is now, in one transaction under the trail's lock.
pub fn checkpoint_in(
    conn: &mut DbConnection,
    key: &SigningKey,
    now: NaiveDateTime,
) -> Result<Checkpoint, ServiceError> {
    crate::db::write_transaction(conn, |conn| {
        let (size, head) = rows::current_head(conn)?;
        let c = audit_chain::sign_checkpoint(key, size, &head, now);
        rows::insert_checkpoint(conn, &c)?;
        Ok(c)
    })
}

pub async fn checkpoint(
    db: &Db,
    key: SigningKey,
    now: NaiveDateTime,
) -> Result<Checkpoint, ServiceError> {
    db.run(move |conn| checkpoint_in(conn, &key, now)).await
}

/// Walks the whole trail of the database, page by page, against its checkpoints.
pub fn verify_in(
    conn: &mut DbConnection,
    key: VerifyingKey,
) -> Result<Result<Verified, Mismatch>, ServiceError> {
    let mut verifier = ChainVerifier::new(key, rows::checkpoints(conn)?);
    let mut after = 0;
    loop {
        let page = rows::page(conn, after, PAGE)?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for e in page {
            if let Err(m) = verifier.push(&e.into_chained()) {
                return Ok(Err(m));
            }
        }
    }
    Ok(verifier.finish())
}

/// What the admin page shows: the last checkpoint and the verification done now.
#[derive(Debug, Clone)]
pub struct TrailStatus {
    pub last_checkpoint: Option<Checkpoint>,
    pub public_key_hex: String,
    pub outcome: Result<Verified, Mismatch>,
}

pub async fn status(db: &Db, key: VerifyingKey) -> Result<TrailStatus, ServiceError> {
    db.run(move |conn| {
        let last_checkpoint = rows::checkpoints(conn)?.pop();
        let outcome = verify_in(conn, key)?;
        Ok(TrailStatus {
            last_checkpoint,
            public_key_hex: audit_chain::to_hex(key.as_bytes()),
            outcome,
        })
    })
    .await
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0}")]
    Service(#[from] ServiceError),
    #[error("{path}: {why}")]
    File { path: PathBuf, why: String },
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
}

fn file_error(path: &Path, e: impl std::fmt::Display) -> ExportError {
    ExportError::File {
        path: path.to_owned(),
        why: e.to_string(),
    }
}

/// Writes `events.jsonl` (one event a line, `seq` order), `checkpoints.jsonl` and
/// `public-key.pem` into `dir` (created if missing). Never the private key.
pub fn export_in(
    conn: &mut DbConnection,
    key: &VerifyingKey,
    dir: &Path,
) -> Result<(i64, usize), ExportError> {
    std::fs::create_dir_all(dir).map_err(|e| file_error(dir, e))?;
    let events_path = dir.join(EVENTS_FILE);
    let file = std::fs::File::create(&events_path).map_err(|e| file_error(&events_path, e))?;
    let mut out = std::io::BufWriter::new(file);
    let mut after = 0;
    let mut n = 0;
    loop {
        let page = rows::page(conn, after, PAGE)?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for e in page {
            let line = serde_json::to_string(&e.into_chained())
                .map_err(|e| file_error(&events_path, e))?;
            writeln!(out, "{line}").map_err(|e| file_error(&events_path, e))?;
            n += 1;
        }
    }
    out.flush().map_err(|e| file_error(&events_path, e))?;
    let checkpoints = rows::checkpoints(conn)?;
    let cp_path = dir.join(CHECKPOINTS_FILE);
    let mut text = String::new();
    for c in &checkpoints {
        text.push_str(&serde_json::to_string(c).map_err(|e| file_error(&cp_path, e))?);
        text.push('\n');
    }
    std::fs::write(&cp_path, text).map_err(|e| file_error(&cp_path, e))?;
    let key_path = dir.join(PUBLIC_KEY_FILE);
    std::fs::write(&key_path, public_key_pem(key)).map_err(|e| file_error(&key_path, e))?;
    Ok((n, checkpoints.len()))
}

/// Verifies an export folder with its public key alone (or `key` when given: the auditor's
/// own copy, received apart from the export).
pub fn verify_dir(
    dir: &Path,
    key: Option<VerifyingKey>,
) -> Result<Result<Verified, Mismatch>, ExportError> {
    use std::io::BufRead;
    let key = match key {
        Some(k) => k,
        None => read_public_key(&dir.join(PUBLIC_KEY_FILE))?,
    };
    let cp_path = dir.join(CHECKPOINTS_FILE);
    let text = std::fs::read_to_string(&cp_path).map_err(|e| file_error(&cp_path, e))?;
    let mut checkpoints = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        checkpoints.push(
            serde_json::from_str::<Checkpoint>(line)
                .map_err(|e| file_error(&cp_path, format!("line {}: {e}", i + 1)))?,
        );
    }
    let mut verifier = ChainVerifier::new(key, checkpoints);
    let events_path = dir.join(EVENTS_FILE);
    let file = std::fs::File::open(&events_path).map_err(|e| file_error(&events_path, e))?;
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| file_error(&events_path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let e: ChainedEvent = serde_json::from_str(&line)
            .map_err(|e| file_error(&events_path, format!("line {}: {e}", i + 1)))?;
        if let Err(m) = verifier.push(&e) {
            return Ok(Err(m));
        }
    }
    Ok(verifier.finish())
}

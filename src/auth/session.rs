//! Web sessions (DESIGN.md §13): a server-side row named by an opaque random cookie. The
//! cookie carries 256 random bits; the table keeps only their SHA-256, so reading the table
//! signs no one in. A session ends at sign-out (row deleted), after `web.session_idle_minutes`
//! without a request, and `web.session_absolute_hours` after sign-in whatever its use. Each
//! session has its own CSRF token, which every state-changing form of the pages carries.

use crate::domain::ids::UserId;
use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::{HttpMessage, HttpRequest, web};
use chrono::{Duration, NaiveDateTime};
use rand::RngCore;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::config::Settings;
use crate::db::sessions;
use crate::domain::account::Role;
use crate::error::{AppError, ServiceError};
use crate::state::AppState;

/// The session cookie's name (development and tests; see [`cookie_name`]).
pub const COOKIE: &str = "essor_session";

/// The name a cookie of essor's takes: with the `__Host-` prefix whenever cookies are `Secure`
/// (production, by default), so that the browser only accepts it set by this very host over
/// HTTPS, for the whole site, and never from a sibling subdomain (`Domain=`). `base` is the
/// name without the prefix (plain HTTP in development cannot carry a `__Host-` cookie).
pub fn cookie_name(settings: &Settings, base: &'static str) -> String {
    if settings.secure_cookies() {
        format!("__Host-{base}")
    } else {
        base.to_owned()
    }
}

/// Touching `last_seen_at` on every request would turn every page view into a write; once a
/// minute is precise enough for an idle timeout counted in minutes.
const TOUCH_EVERY: Duration = Duration::seconds(60);

#[derive(Debug, Clone)]
pub struct Session {
    pub id_hash: String,
    pub user_id: UserId,
    pub role: Role,
    pub email_verified: bool,
    pub full_name: String,
    pub csrf_token: String,
    /// Page state kept between two requests (a JSON object).
    pub data: Value,
}

/// 256 random bits, hexadecimal.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex(&bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// Compares two secrets in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Starts a session for `user_id` and returns the cookie's value. The session the browser
/// had before (if any) is deleted: a new id at every sign-in, so an id planted before
/// sign-in (session fixation) is worth nothing after it. `generation` is the account's
/// generation when its password was checked: a sign-in that read the hash before a password
/// change and inserts its row after the change's deletion of the sessions keeps a row that
/// `load` refuses (the change bumped the generation).
pub async fn start(
    state: &AppState,
    user_id: UserId,
    generation: i32,
    previous: Option<String>,
) -> Result<String, ServiceError> {
    start_with_data(state, user_id, generation, previous, serde_json::json!({})).await
}

/// [`start`], the session's page state set from the first (a ProConnect sign-in keeps its
/// ID token there, for the sign-out).
pub async fn start_with_data(
    state: &AppState,
    user_id: UserId,
    generation: i32,
    previous: Option<String>,
    data: Value,
) -> Result<String, ServiceError> {
    let data = data.to_string();
    let token = random_token();
    let id_hash = hash(&token);
    let now = state.clock.now();
    state
        .db
        .run(move |conn| {
            let previous = previous.as_deref().map(hash);
            sessions::replace(
                conn,
                previous.as_deref(),
                &sessions::NewSession {
                    id_hash: &id_hash,
                    user_id: &user_id,
                    csrf_token: &random_token(),
                    data: &data,
                    generation,
                    at: now,
                },
            )?;
            Ok(())
        })
        .await?;
    Ok(token)
}

/// Whether a session created at `created` and last used at `seen` is still alive at `now`.
pub fn alive(
    created: NaiveDateTime,
    seen: NaiveDateTime,
    now: NaiveDateTime,
    settings: &Settings,
) -> bool {
    now - seen < Duration::minutes(settings.web.session_idle_minutes)
        && now - created < Duration::hours(settings.web.session_absolute_hours)
}

/// The live session named by `token`, or `None` (unknown, expired: an expired row is
/// deleted on the way).
pub async fn load(state: &AppState, token: &str) -> Result<Option<Session>, ServiceError> {
    let id_hash = hash(token);
    let settings = state.settings.clone();
    let now = state.clock.now();
    state
        .db
        .run(move |conn| {
            let Some(live) = sessions::find_live(conn, &id_hash)? else {
                return Ok(None);
            };
            if !alive(live.created_at, live.last_seen_at, now, &settings) {
                sessions::delete(conn, &id_hash)?;
                return Ok(None);
            }
            if now - live.last_seen_at >= TOUCH_EVERY {
                sessions::touch(conn, &id_hash, now)?;
            }
            Ok(Some(Session {
                id_hash,
                user_id: live.user_id,
                role: live.role,
                email_verified: live.email_verified_at.is_some(),
                full_name: live.full_name,
                csrf_token: live.csrf_token,
                data: serde_json::from_str(&live.data)
                    .unwrap_or_else(|_| Value::Object(Default::default())),
            }))
        })
        .await
}

/// The request's session, looked up once per request (the extractors of one handler share it).
pub async fn current(req: &HttpRequest) -> Result<Option<Session>, AppError> {
    if let Some(cached) = req.extensions().get::<Option<Session>>() {
        return Ok(cached.clone());
    }
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("AppState missing")))?;
    let session = match req.cookie(&cookie_name(&state.settings, COOKIE)) {
        Some(cookie) if !cookie.value().is_empty() => {
            load(state, cookie.value()).await.map_err(AppError::from)?
        }
        _ => None,
    };
    req.extensions_mut().insert(session.clone());
    Ok(session)
}

/// Ends a session (sign-out).
pub async fn end(state: &AppState, id_hash: String) -> Result<(), ServiceError> {
    state
        .db
        .run(move |conn| {
            sessions::delete(conn, &id_hash)?;
            Ok(())
        })
        .await
}

/// Replaces the session's page state.
pub async fn save_data(state: &AppState, id_hash: String, data: Value) -> Result<(), ServiceError> {
    state
        .db
        .run(move |conn| {
            sessions::set_data(conn, &id_hash, &data.to_string())?;
            Ok(())
        })
        .await
}

/// The session cookie: `HttpOnly` (no script reads it), `SameSite=Lax` (not sent with
/// cross-site POSTs), `Secure` and `__Host-` in production, scoped to the whole site, no
/// `Max-Age` (it dies with the browser; the server enforces the timeouts).
pub fn cookie(settings: &Settings, value: String) -> Cookie<'static> {
    Cookie::build(cookie_name(settings, COOKIE), value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(settings.secure_cookies())
        .finish()
}

/// A cookie that makes the browser forget the session cookie.
pub fn removal(settings: &Settings) -> Cookie<'static> {
    let mut c = cookie(settings, String::new());
    c.set_max_age(time::Duration::ZERO);
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: u32, m: u32) -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 29)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap()
    }

    #[test]
    fn idle_and_absolute_timeouts() {
        let mut settings =
            crate::config::Settings::load_from(std::path::Path::new("config"), Default::default())
                .unwrap();
        settings.web.session_idle_minutes = 30;
        settings.web.session_absolute_hours = 2;
        // (created, last seen, now, alive?)
        let cases = [
            (at(8, 0), at(8, 0), at(8, 29), true),
            (at(8, 0), at(8, 0), at(8, 30), false),
            (at(8, 0), at(9, 50), at(9, 59), true),
            (at(8, 0), at(9, 59), at(10, 0), false),
        ];
        for (created, seen, now, expected) in cases {
            assert_eq!(
                alive(created, seen, now, &settings),
                expected,
                "{created} {seen} {now}"
            );
        }
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_ne!(hash(&a), a);
        assert!(same_secret(&a, &a.clone()));
        assert!(!same_secret(&a, &b));
        assert!(!same_secret(&a, &a[..63]));
    }
}

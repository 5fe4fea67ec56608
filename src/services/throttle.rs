//! Throttling of sign-in failures and of account requests, counted in the database so that
//! every instance behind the load balancer shares the counts (DESIGN.md §14).
//!
//! - A failed sign-in counts once for its account (the email typed, known or not, so that the
//!   answer tells nothing) and once for its client address. A successful sign-in never counts.
//! - Registrations and the requests that send a mail (verification link, password reset) count
//!   per client address.
//!
//! Over a limit, the attempt is refused before any password is checked, with the seconds until
//! the oldest counted attempt leaves the sliding window.
//!
//! A password check is counted *before* it runs ([`claim`]: insert, then count, in one
//! transaction that takes turns with the others of the same subject), and given back when the
//! password was right. Reading the count, checking the password and writing the failure
//! afterwards let a burst of parallel guesses all read a count under the limit: every one of
//! them got its password checked.

use std::net::IpAddr;

use chrono::{Duration, NaiveDateTime};

use crate::config::AuthSettings;
use crate::db::{DbConnection, throttle};
use crate::error::ServiceError;

pub const SIGN_IN_ACCOUNT: &str = "sign_in_account";
pub const SIGN_IN_ADDRESS: &str = "sign_in_address";
pub const ACCOUNT_REQUEST: &str = "account_request";

#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub scope: &'static str,
    pub max: u32,
    pub window_seconds: u64,
}

impl Limit {
    pub fn account_failures(s: &AuthSettings) -> Self {
        Self {
            scope: SIGN_IN_ACCOUNT,
            max: s.failures_per_account,
            window_seconds: s.throttle_window_seconds,
        }
    }

    pub fn address_failures(s: &AuthSettings) -> Self {
        Self {
            scope: SIGN_IN_ADDRESS,
            max: s.failures_per_address,
            window_seconds: s.throttle_window_seconds,
        }
    }

    pub fn account_requests(s: &AuthSettings) -> Self {
        Self {
            scope: ACCOUNT_REQUEST,
            max: s.account_requests_per_address_per_hour,
            window_seconds: 3600,
        }
    }

    fn window(&self) -> Duration {
        Duration::seconds(i64::try_from(self.window_seconds).unwrap_or(i64::MAX / 1000))
    }
}

/// Seconds to wait when `count` attempts, the oldest at `oldest`, fill the window: pure, so
/// that it is tested without a database.
pub fn wait_seconds(
    limit: &Limit,
    count: i64,
    oldest: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> Option<u64> {
    if count < i64::from(limit.max) {
        return None;
    }
    let free_at = oldest.unwrap_or(now) + limit.window();
    let secs = (free_at - now).num_seconds().max(1);
    Some(u64::try_from(secs).unwrap_or(1))
}

/// `Err(429)` when `subject` is over `limit` at `now`.
pub fn check(
    conn: &mut DbConnection,
    limit: &Limit,
    subject: &str,
    now: NaiveDateTime,
) -> Result<(), ServiceError> {
    let (count, oldest) = throttle::window(conn, limit.scope, subject, now - limit.window())?;
    match wait_seconds(limit, count, oldest, now) {
        None => Ok(()),
        Some(retry_after_seconds) => {
            tracing::warn!(scope = limit.scope, retry_after_seconds, "throttled");
            Err(ServiceError::Throttled {
                retry_after_seconds,
            })
        }
    }
}

/// Counts an attempt about to be made, atomically: inside the caller's write transaction,
/// serialised per subject, the attempt is inserted and the window counted with it. Over the
/// limit, `Err(429)` (the caller's transaction rolls back, so a refused attempt leaves no
/// row: it checked no password). Returns the claim's id, which a successful attempt gives
/// back with [`give_back`].
pub fn claim(
    conn: &mut DbConnection,
    limit: &Limit,
    subject: &str,
    now: NaiveDateTime,
) -> Result<String, ServiceError> {
    throttle::serialise(conn, limit.scope, subject)?;
    let id = throttle::record(conn, limit.scope, subject, now)?;
    let (count, oldest) = throttle::window(conn, limit.scope, subject, now - limit.window())?;
    // The count includes this attempt: it is refused when those before it fill the window.
    match wait_seconds(limit, count - 1, oldest, now) {
        None => Ok(id),
        Some(retry_after_seconds) => {
            tracing::warn!(scope = limit.scope, retry_after_seconds, "throttled");
            Err(ServiceError::Throttled {
                retry_after_seconds,
            })
        }
    }
}

/// Gives back a claim whose attempt succeeded (a successful sign-in never counts).
pub fn give_back(conn: &mut DbConnection, claim: &str) -> Result<(), ServiceError> {
    throttle::forget(conn, claim)?;
    Ok(())
}

/// Counts one attempt, and forgets those no window can see any more.
pub fn record(
    conn: &mut DbConnection,
    limit: &Limit,
    subject: &str,
    now: NaiveDateTime,
) -> Result<(), ServiceError> {
    throttle::record(conn, limit.scope, subject, now)?;
    purge_old(conn, limit, now)
}

/// Forgets the attempts no window can see any more (the longest window is at least the hour
/// of account requests).
pub fn purge_old(
    conn: &mut DbConnection,
    limit: &Limit,
    now: NaiveDateTime,
) -> Result<(), ServiceError> {
    throttle::purge(
        conn,
        now - limit.window().max(Duration::hours(1)) - Duration::hours(1),
    )?;
    Ok(())
}

/// The subject under which an address is counted.
pub fn address_subject(ip: IpAddr) -> String {
    ip.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_until_the_oldest_attempt_leaves_the_window() {
        let limit = Limit {
            scope: SIGN_IN_ACCOUNT,
            max: 5,
            window_seconds: 900,
        };
        let t0 = chrono::NaiveDate::from_ymd_opt(2026, 11, 29)
            .unwrap()
            .and_hms_opt(10, 0, 0)
            .unwrap();
        let cases = [
            (0, None, 0, None),
            (4, Some(0), 60, None),
            (5, Some(0), 60, Some(840)),
            (9, Some(0), 899, Some(1)),
            // Never "0": a client must wait at least a second.
            (5, Some(0), 900, Some(1)),
        ];
        for (count, oldest, now, expected) in cases {
            let at = |s: i64| t0 + Duration::seconds(s);
            assert_eq!(
                wait_seconds(&limit, count, oldest.map(at), at(now)),
                expected,
                "{count} attempts, now +{now}s"
            );
        }
    }
}

//! The delivery worker: one per server instance, started with it and stopped with it.
//!
//! Each round claims up to `mail.batch_size` due messages (see [`outbox::claim`]), sends them
//! concurrently, each within `mail.send_timeout_seconds`, and records each outcome. A failure
//! is retried after an exponential delay with jitter ([`backoff`]) until `mail.max_attempts`,
//! then the message is `dead`. Several instances on one PostgreSQL database share the work
//! without sending a message twice: a claimed message is theirs until its lease expires.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use lettre::message::Mailbox;
use rand::Rng;
use tokio::sync::watch;

use crate::clock::Clock;
use crate::config::{MailSettings, Settings};
use crate::db::Db;
use crate::error::ServiceError;
use crate::notify::outbox::{self, AfterFailure, Claim, OutboxRow};
use crate::notify::transport::{Attachment, SendError, Transport};

/// The wait before the attempt that follows failed attempt number `attempt` (1 for the first):
/// `base × 2^(attempt-1)`, capped at `max`, then "equal jitter": a uniform draw between half
/// of that and all of it, so instances that failed together do not retry together, and no
/// retry comes sooner than half the nominal delay.
pub fn backoff(attempt: u32, base: Duration, max: Duration) -> Duration {
    backoff_with(attempt, base, max, rand::rng().random::<f64>())
}

/// [`backoff`] with the random draw given (`unit` in `[0, 1]`).
pub fn backoff_with(attempt: u32, base: Duration, max: Duration, unit: f64) -> Duration {
    let exponent = attempt.saturating_sub(1).min(62);
    let nominal = base
        .checked_mul(1u32.checked_shl(exponent.min(31)).unwrap_or(u32::MAX))
        .unwrap_or(max)
        .min(max);
    let half = nominal / 2;
    half + (nominal - half).mul_f64(unit.clamp(0.0, 1.0))
}

pub struct DeliveryWorker {
    db: Db,
    transport: Arc<Transport>,
    from: Mailbox,
    instance: String,
    mail: MailSettings,
    stop: WorkerStop,
    /// What « due » and the delivery stamps are measured against: the services' clock.
    clock: Clock,
}

/// Tells a running [`DeliveryWorker`] to stop (cheap to clone). The server does it on
/// shutdown; tests do it before dropping their database.
#[derive(Debug, Clone)]
pub struct WorkerStop(Arc<watch::Sender<bool>>);

impl WorkerStop {
    pub fn stop(&self) {
        self.0.send_replace(true);
    }
}

impl std::fmt::Debug for DeliveryWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryWorker")
            .field("instance", &self.instance)
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

impl DeliveryWorker {
    pub fn new(db: Db, settings: &Settings, transport: Arc<Transport>) -> anyhow::Result<Self> {
        let from = settings
            .mail
            .from
            .parse()
            .map_err(|e| anyhow::anyhow!("mail.from: {e}"))?;
        let host = std::env::var("HOSTNAME").unwrap_or_default();
        let instance = format!(
            "{}{}{}",
            host,
            if host.is_empty() { "" } else { "/" },
            uuid::Uuid::now_v7()
        );
        Ok(Self {
            db,
            transport,
            from,
            instance,
            mail: settings.mail.clone(),
            stop: WorkerStop(Arc::new(watch::channel(false).0)),
            clock: Clock::system(),
        })
    }

    /// The same worker, reading `clock` (the services' clock, so a message queued at a set
    /// time is due at that time).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// What stops [`run`](Self::run).
    pub fn stopper(&self) -> WorkerStop {
        self.stop.clone()
    }

    /// This instance's name in `locked_by`: the host name (if set) and a UUID per start.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    pub fn transport(&self) -> &Arc<Transport> {
        &self.transport
    }

    /// Delivers until [`WorkerStop::stop`], then returns once the messages in hand are settled
    /// (each send is bounded by `mail.send_timeout_seconds`).
    pub async fn run(self) {
        let mut shutdown = self.stop.0.subscribe();
        tracing::info!(
            instance = %self.instance,
            transport = self.transport.name(),
            "mail delivery worker started"
        );
        let idle = Duration::from_millis(self.mail.poll_interval_ms);
        loop {
            if *shutdown.borrow() {
                break;
            }
            let claimed = match self.deliver_due().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "mail delivery: cannot reach the outbox");
                    0
                }
            };
            // A full batch means more may be due: go on at once.
            if claimed >= self.mail.batch_size as usize {
                continue;
            }
            tokio::select! {
                changed = shutdown.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
                _ = tokio::time::sleep(idle) => {}
            }
        }
        tracing::info!(instance = %self.instance, "mail delivery worker stopped");
    }

    /// One round: claims what is due, sends it, records the outcomes. Returns how many
    /// messages were claimed.
    pub async fn deliver_due(&self) -> Result<usize, ServiceError> {
        let instance = self.instance.clone();
        let limit = i64::from(self.mail.batch_size);
        let lease = chrono::Duration::seconds(self.mail.lease_seconds as i64);
        let max_attempts = i32::try_from(self.mail.max_attempts).unwrap_or(i32::MAX);
        let now = self.clock.now();
        let rows = self
            .db
            .run(move |conn| {
                Ok(outbox::claim(
                    conn,
                    &Claim {
                        instance: &instance,
                        now,
                        lease_until: now + lease,
                        limit,
                        max_attempts,
                    },
                )?)
            })
            .await?;
        let claimed = rows.len();
        if claimed > 0 {
            tracing::debug!(claimed, instance = %self.instance, "mail delivery round");
        }
        futures_util::stream::iter(rows)
            .map(|row| self.deliver_one(row))
            .buffer_unordered(self.mail.batch_size.max(1) as usize)
            .collect::<Vec<()>>()
            .await;
        Ok(claimed)
    }

    /// The letter a mail carries, read from the database (the outbox keeps only its id).
    async fn attachment_of(&self, row: &OutboxRow) -> Result<Option<Attachment>, SendError> {
        let Some(id) = row.letter_id.clone() else {
            return Ok(None);
        };
        let found = self
            .db
            .run(move |conn| crate::db::letters::content(conn, &id))
            .await
            .map_err(|e| SendError::Transient(format!("courrier joint illisible : {e}")))?;
        match found {
            Some((kind, reference, bytes)) => Ok(Some(Attachment {
                file_name: kind.file_name(&reference),
                bytes,
            })),
            None => Err(SendError::Permanent(
                "le courrier à joindre n'existe plus".into(),
            )),
        }
    }

    async fn deliver_one(&self, row: OutboxRow) {
        let timeout = Duration::from_secs(self.mail.send_timeout_seconds);
        let outcome = match self.attachment_of(&row).await {
            Err(e) => Err(e),
            Ok(attachment) => match tokio::time::timeout(
                timeout,
                self.transport.send(&row, &self.from, attachment.as_ref()),
            )
            .await
            {
                Ok(result) => result,
                Err(_) => Err(SendError::Transient(format!(
                    "no answer within {} s",
                    self.mail.send_timeout_seconds
                ))),
            },
        };
        let attempt = u32::try_from(row.attempts).unwrap_or(0);
        let (id, instance) = (row.id.clone(), self.instance.clone());
        let now = self.clock.now();
        let recorded = match &outcome {
            Ok(()) => {
                tracing::info!(
                    message_id = %row.message_id,
                    event = %row.event,
                    attempt,
                    "mail sent"
                );
                self.db
                    .run(move |conn| Ok(outbox::mark_sent(conn, &id, &instance, now)?))
                    .await
            }
            Err(error) => {
                let after = match error {
                    SendError::Permanent(_) => AfterFailure::Dead,
                    SendError::Transient(_) if attempt >= self.mail.max_attempts => {
                        AfterFailure::Dead
                    }
                    SendError::Transient(_) => {
                        let wait = backoff(
                            attempt,
                            Duration::from_secs(self.mail.retry_base_seconds),
                            Duration::from_secs(self.mail.retry_max_seconds),
                        );
                        AfterFailure::RetryAt(
                            chrono::Duration::from_std(wait)
                                .ok()
                                .and_then(|d| now.checked_add_signed(d))
                                .unwrap_or(now + chrono::Duration::hours(1)),
                        )
                    }
                };
                match after {
                    AfterFailure::Dead => tracing::error!(
                        message_id = %row.message_id,
                        event = %row.event,
                        attempt,
                        error = %error,
                        "mail given up (dead): an admin can re-queue it"
                    ),
                    AfterFailure::RetryAt(at) => tracing::warn!(
                        message_id = %row.message_id,
                        event = %row.event,
                        attempt,
                        error = %error,
                        retry_at = %at.and_utc(),
                        "mail not sent, will retry"
                    ),
                }
                let text = error.to_string();
                self.db
                    .run(move |conn| {
                        Ok(outbox::mark_failed(
                            conn, &id, &instance, now, &text, after,
                        )?)
                    })
                    .await
            }
        };
        if let Err(e) = recorded {
            // The lease will expire and the message be taken again: a duplicate is possible
            // (recognisable by its Message-ID), a loss is not.
            tracing::error!(
                message_id = %row.message_id,
                error = %e,
                "mail delivery: cannot record the outcome"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn nominal_delay_doubles_up_to_the_cap() {
        // With the draw at 1 the delay is the nominal one.
        let cases = [
            (1, 30),
            (2, 60),
            (3, 120),
            (4, 240),
            (7, 1920),
            (8, 3600),
            (9, 3600),
            (40, 3600),
            (u32::MAX, 3600),
        ];
        for (attempt, expected) in cases {
            assert_eq!(
                backoff_with(attempt, S(30), S(3600), 1.0),
                S(expected),
                "{attempt}"
            );
        }
        // Attempt 0 (never happens) is treated as the first.
        assert_eq!(backoff_with(0, S(30), S(3600), 1.0), S(30));
    }

    #[test]
    fn jitter_stays_between_half_and_all_of_the_nominal_delay() {
        for attempt in 1..=20 {
            let nominal = backoff_with(attempt, S(30), S(3600), 1.0);
            assert_eq!(backoff_with(attempt, S(30), S(3600), 0.0), nominal / 2);
            for _ in 0..200 {
                let d = backoff(attempt, S(30), S(3600));
                assert!(d >= nominal / 2 && d <= nominal, "{attempt}: {d:?}");
            }
        }
        // Draws spread: 200 draws are not all equal.
        let draws: std::collections::HashSet<_> =
            (0..200).map(|_| backoff(3, S(30), S(3600))).collect();
        assert!(draws.len() > 10);
    }

    #[test]
    fn test_settings_retry_within_seconds() {
        for attempt in 1..=10 {
            let d = backoff(attempt, S(1), S(2));
            assert!(d >= Duration::from_millis(500) && d <= S(2), "{d:?}");
        }
    }
}

//! A queued mail's life (DESIGN.md §10): pending, being sent, sent; failed and retried later;
//! dead when every attempt failed or the server refused it for good.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutboxStatus {
    /// Waiting for its first attempt (or re-queued by an admin).
    Pending,
    /// Claimed by an instance, being sent.
    Sending,
    /// The last attempt failed; another comes at `next_attempt_at`.
    Failed,
    /// Accepted by the mail server.
    Sent,
    /// Given up: every attempt failed, or the server refused it for good.
    Dead,
}

impl OutboxStatus {
    pub const ALL: [OutboxStatus; 5] = [
        Self::Pending,
        Self::Sending,
        Self::Failed,
        Self::Sent,
        Self::Dead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sending => "sending",
            Self::Failed => "failed",
            Self::Sent => "sent",
            Self::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// « en attente », « envoyé »… for messages an admin reads.
    pub fn label_fr(self) -> &'static str {
        match self {
            OutboxStatus::Pending => "en attente d'envoi",
            OutboxStatus::Sending => "en cours d'envoi",
            OutboxStatus::Failed => "en échec, un nouvel essai est prévu",
            OutboxStatus::Sent => "déjà envoyé",
            OutboxStatus::Dead => "abandonné",
        }
    }

    /// An admin puts a failed or abandoned message back in the queue; anything else is pending,
    /// being sent or sent already. (The worker's own moves, claim, send, fail, give up, are
    /// conditional updates of the queue in `notify::outbox`.)
    pub fn retry(self) -> Result<Self, String> {
        match self {
            Self::Failed | Self::Dead => Ok(Self::Pending),
            other => Err(format!(
                "Ce message est {} : seul un message en échec (failed) ou abandonné (dead) peut \
                 être renvoyé.",
                other.label_fr()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_failed_and_dead_messages_are_retried() {
        for s in OutboxStatus::ALL {
            let expected = matches!(s, OutboxStatus::Failed | OutboxStatus::Dead);
            assert_eq!(s.retry().is_ok(), expected, "{s:?}");
            if let Ok(to) = s.retry() {
                assert_eq!(to, OutboxStatus::Pending);
            }
            assert_eq!(OutboxStatus::parse(s.as_str()), Some(s));
        }
    }
}

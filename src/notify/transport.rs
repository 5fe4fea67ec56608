//! Where mail goes, chosen by `mail.transport`:
//!
//! - `smtp`: lettre's async SMTP client (tokio, rustls) with a connection pool, configured by
//!   `mail.smtp_url` (host, port, TLS mode, credentials);
//! - `file`: one `.eml` file per message under `{data_dir}/mail/`, named after the outbox id,
//!   so a resend overwrites rather than duplicates (the default of `cargo run`);
//! - `memory`: kept in a list the tests read ([`MemoryMailbox`]).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{MailTransportKind, Settings};
use crate::notify::outbox::OutboxRow;

/// Why an attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Worth trying again later (connection refused, timeout, 4xx).
    Transient(String),
    /// Trying again cannot help (5xx refusal, a message that cannot be built).
    Permanent(String),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Transient(e) => write!(f, "temporary failure: {e}"),
            Self::Permanent(e) => write!(f, "permanent failure: {e}"),
        }
    }
}

pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File(PathBuf),
    Memory(MemoryMailbox),
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Smtp(_) => f.write_str("Transport::Smtp"),
            Self::File(dir) => write!(f, "Transport::File({})", dir.display()),
            Self::Memory(_) => f.write_str("Transport::Memory"),
        }
    }
}

impl Transport {
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let mail = &settings.mail;
        Ok(match mail.transport {
            MailTransportKind::Smtp => {
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&mail.smtp_url)
                    .map_err(|e| anyhow::anyhow!("mail.smtp_url: {e}"))?
                    .timeout(Some(Duration::from_secs(mail.send_timeout_seconds)))
                    .pool_config(PoolConfig::new().max_size(mail.batch_size.max(1)))
                    .build();
                Self::Smtp(transport)
            }
            MailTransportKind::File => Self::File(settings.mail_dir()),
            MailTransportKind::Memory => Self::Memory(MemoryMailbox::default()),
        })
    }

    /// The kept mails, for the `memory` transport.
    pub fn mailbox(&self) -> Option<MemoryMailbox> {
        match self {
            Self::Memory(m) => Some(m.clone()),
            _ => None,
        }
    }

    /// The transport's name for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Smtp(_) => "smtp",
            Self::File(_) => "file",
            Self::Memory(_) => "memory",
        }
    }

    /// Sends one outbox message from `from`, with its attachment if it has one.
    pub async fn send(
        &self,
        row: &OutboxRow,
        from: &Mailbox,
        attachment: Option<&Attachment>,
    ) -> Result<(), SendError> {
        let message = build_message(row, from, attachment)?;
        match self {
            Self::Smtp(smtp) => smtp.send(message).await.map(|_| ()).map_err(|e| {
                if e.is_permanent() {
                    SendError::Permanent(e.to_string())
                } else {
                    SendError::Transient(e.to_string())
                }
            }),
            Self::File(dir) => {
                let path = dir.join(format!("{}.eml", row.id));
                let tmp = dir.join(format!(".{}.eml.tmp", row.id));
                let shown = path.display().to_string();
                let bytes = message.formatted();
                let dir = dir.clone();
                tokio::task::spawn_blocking(move || -> std::io::Result<()> {
                    std::fs::create_dir_all(&dir)?;
                    std::fs::write(&tmp, bytes)?;
                    std::fs::rename(&tmp, &path)
                })
                .await
                .map_err(|e| SendError::Transient(e.to_string()))?
                .map_err(|e| SendError::Transient(format!("cannot write {shown}: {e}")))
            }
            Self::Memory(mailbox) => mailbox.deliver(row, &message, attachment),
        }
    }
}

/// `Auto-Submitted: auto-generated` (RFC 3834): out-of-office robots do not answer it.
fn auto_submitted() -> HeaderValue {
    HeaderValue::new(
        HeaderName::new_from_ascii_str("Auto-Submitted"),
        "auto-generated".to_owned(),
    )
}

/// The RFC 5322 message of an outbox row: its stored subject and bodies (plain text and HTML
/// alternatives), its stable Message-ID, dated when it was queued.
/// A file a mail carries (a letter essor issued, read from the database when it is sent).
#[derive(Debug, Clone)]
pub struct Attachment {
    pub file_name: String,
    pub bytes: Vec<u8>,
}

pub fn build_message(
    row: &OutboxRow,
    from: &Mailbox,
    attachment: Option<&Attachment>,
) -> Result<Message, SendError> {
    let address = row.recipient.parse::<lettre::Address>().map_err(|e| {
        SendError::Permanent(format!(
            "adresse du destinataire invalide ({}) : {e}",
            row.recipient
        ))
    })?;
    let to = Mailbox::new(row.recipient_name.clone(), address);
    let date = SystemTime::from(row.created_at.and_utc());
    let builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(row.subject.clone())
        .message_id(Some(row.message_id.clone()))
        .date(date)
        .raw_header(auto_submitted());
    let bodies = MultiPart::alternative_plain_html(row.body_text.clone(), row.body_html.clone());
    let body = match attachment {
        None => bodies,
        Some(a) => MultiPart::mixed().multipart(bodies).singlepart(
            lettre::message::Attachment::new(a.file_name.clone()).body(
                a.bytes.clone(),
                ContentType::parse("application/pdf")
                    .map_err(|e| SendError::Permanent(format!("type de pièce jointe : {e}")))?,
            ),
        ),
    };
    builder
        .multipart(body)
        .map_err(|e| SendError::Permanent(format!("message impossible à construire : {e}")))
}

/// A mail the memory transport kept.
#[derive(Debug, Clone)]
pub struct SentMail {
    pub outbox_id: String,
    pub message_id: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The whole message as it would have gone over SMTP.
    pub raw: String,
    /// The attached file's name and bytes, if the mail carried one.
    pub attachment: Option<(String, Vec<u8>)>,
}

/// The `memory` transport's list of mails, shared with tests. It can be told to fail, to
/// exercise retries without a mail server.
#[derive(Debug, Clone, Default)]
pub struct MemoryMailbox {
    inner: Arc<Mutex<MailboxState>>,
}

#[derive(Debug, Default)]
struct MailboxState {
    sent: Vec<SentMail>,
    failing: Option<String>,
}

impl MemoryMailbox {
    fn deliver(
        &self,
        row: &OutboxRow,
        message: &Message,
        attachment: Option<&Attachment>,
    ) -> Result<(), SendError> {
        let mut state = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(why) = &state.failing {
            return Err(SendError::Transient(why.clone()));
        }
        state.sent.push(SentMail {
            outbox_id: row.id.clone(),
            message_id: row.message_id.clone(),
            to: row.recipient.clone(),
            subject: row.subject.clone(),
            text: row.body_text.clone(),
            html: row.body_html.clone(),
            raw: String::from_utf8_lossy(&message.formatted()).into_owned(),
            attachment: attachment.map(|a| (a.file_name.clone(), a.bytes.clone())),
        });
        Ok(())
    }

    /// Every mail kept so far, in delivery order.
    pub fn sent(&self) -> Vec<SentMail> {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .sent
            .clone()
    }

    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .sent
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// While `Some(error)`, every delivery fails with that (temporary) error.
    pub fn set_failing(&self, error: Option<&str>) {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).failing = error.map(str::to_owned);
    }

    /// Waits until at least `n` mails were kept, or `timeout` passes; returns what was kept.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<SentMail> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let sent = self.sent();
            if sent.len() >= n || tokio::time::Instant::now() >= deadline {
                return sent;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

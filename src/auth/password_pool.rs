//! argon2id runs on its own few threads. Hashing takes ~20 ms of CPU and 19 MiB each; on the
//! shared blocking pool a flood of sign-ins queued ahead of every database query (24
//! concurrent sign-ins took `GET /me` from 0.8 ms to 131 ms). Here at most `threads` hashes run
//! at once, the others wait in a bounded queue, and database work keeps its own threads.

use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};

use crate::auth::password;
use crate::error::ServiceError;

type Job = Box<dyn FnOnce() + Send + 'static>;

#[derive(Clone)]
pub struct PasswordPool {
    jobs: mpsc::Sender<Job>,
}

impl std::fmt::Debug for PasswordPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordPool").finish_non_exhaustive()
    }
}

impl PasswordPool {
    /// Starts `threads` threads; they end when the last handle is dropped.
    #[expect(
        clippy::expect_used,
        reason = "a hashing thread that cannot start at boot is a machine out of resources: stop with the reason"
    )]
    pub fn new(threads: usize) -> Self {
        let threads = threads.max(1);
        // Callers beyond this wait (asynchronously) to enqueue: back-pressure, not memory.
        let (tx, rx) = mpsc::channel::<Job>(threads * 16);
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    loop {
                        let job = {
                            let mut rx = rx.lock().unwrap_or_else(|p| p.into_inner());
                            rx.blocking_recv()
                        };
                        match job {
                            Some(job) => job(),
                            None => break,
                        }
                    }
                })
                .expect("spawn a password thread");
        }
        Self { jobs: tx }
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ServiceError> {
        let (tx, rx) = oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                let _ = tx.send(f());
            }))
            .await
            .map_err(|_| ServiceError::Internal(anyhow::anyhow!("password pool stopped")))?;
        rx.await
            .map_err(|_| ServiceError::Internal(anyhow::anyhow!("password job lost")))
    }

    pub async fn hash(&self, pw: String) -> Result<String, ServiceError> {
        self.run(move || password::hash(&pw))
            .await?
            .map_err(ServiceError::Internal)
    }

    /// Verifies against `stored`, or against a dummy hash when there is none (same time spent,
    /// so the answer does not tell whether the account exists).
    pub async fn verify(&self, pw: String, stored: Option<String>) -> Result<bool, ServiceError> {
        self.run(move || match stored {
            Some(hash) => password::verify(&pw, &hash),
            None => {
                password::verify_dummy(&pw);
                false
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_and_verifies_off_the_caller_thread() {
        let pool = PasswordPool::new(2);
        let h = pool.hash("une phrase de passe".into()).await.unwrap();
        assert!(
            pool.verify("une phrase de passe".into(), Some(h.clone()))
                .await
                .unwrap()
        );
        assert!(!pool.verify("autre chose".into(), Some(h)).await.unwrap());
        assert!(!pool.verify("x".into(), None).await.unwrap());
        let name = pool
            .run(|| std::thread::current().name().map(str::to_owned))
            .await
            .unwrap();
        assert!(name.is_some_and(|n| n.starts_with("argon2-")));
    }
}

//! Password hashing with argon2id (the crate's defaults: 19 MiB, 2 passes, 1 lane, the OWASP
//! minimum), bounded: each hash or check takes 19 MiB and a core for tens of milliseconds, so
//! at most `auth.hash_concurrency` run at once (one per core by default) on the blocking pool,
//! a caller waits at most `auth.hash_wait_ms` for a turn, and at most a few callers per turn
//! wait at all. Past that the answer is UNAVAILABLE with `retry-after`: a flood of sign-ups or
//! log-ins costs a refusal each, never a queue or memory that grows with the flood.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use shippy_plugins::flags;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::domain::UserError;

/// Callers allowed to wait, per hash that may run at once.
const WAITING_PER_TURN: usize = 8;

/// The one gate all password work of a process goes through.
#[derive(Clone, Debug)]
pub struct Hasher {
    turns: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    max_waiting: usize,
    wait: Duration,
}

impl Hasher {
    /// At most `concurrency` hashes at once (0: one per core), each caller waiting at most
    /// `wait` for its turn.
    pub fn new(concurrency: usize, wait: Duration) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let turns = if concurrency == 0 { cores } else { concurrency };
        Self {
            turns: Arc::new(Semaphore::new(turns)),
            waiting: Arc::default(),
            max_waiting: turns * WAITING_PER_TURN,
            wait,
        }
    }

    /// A turn, or [`UserError::Busy`] when too many wait already or none came in time.
    async fn turn(&self) -> Result<OwnedSemaphorePermit, UserError> {
        if let Ok(turn) = Arc::clone(&self.turns).try_acquire_owned() {
            return Ok(turn);
        }
        let busy = || {
            metrics::counter!("shippy_password_work_refused_total").increment(1);
            UserError::Busy(self.wait.max(Duration::from_secs(1)))
        };
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(busy());
        }
        let turn = tokio::time::timeout(self.wait, Arc::clone(&self.turns).acquire_owned()).await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        match turn {
            Ok(Ok(turn)) => Ok(turn),
            _ => Err(busy()),
        }
    }

    /// Runs `work` on the blocking pool on a turn of its own, in the caller's span.
    async fn on_a_turn<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, UserError> {
        let turn = self.turn().await?;
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _turn = turn;
            let _in = span.enter();
            slowed_by_flag();
            work()
        })
        .await
        .map_err(|e| UserError::Internal(format!("password task: {e}")))
    }

    /// The PHC string of `password` under a fresh random salt.
    pub async fn hash(&self, password: String) -> Result<String, UserError> {
        self.on_a_turn(move || {
            let mut salt = [0u8; 16];
            getrandom::getrandom(&mut salt)
                .map_err(|e| UserError::Internal(format!("no randomness: {e}")))?;
            let salt =
                SaltString::encode_b64(&salt).map_err(|e| UserError::Internal(e.to_string()))?;
            Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| UserError::Internal(format!("hashing failed: {e}")))
        })
        .await?
    }

    /// Whether `password` matches the PHC string `hash`. With no stored hash it still does
    /// the work of a check, so a wrong email takes as long as a wrong password.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, UserError> {
        self.on_a_turn(move || {
            let stored = hash.as_deref().unwrap_or(DUMMY_HASH);
            let Ok(parsed) = PasswordHash::new(stored) else {
                return false;
            };
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
                && hash.is_some()
        })
        .await
    }
}

/// Plays the fault flag `user.slow_hash_ms` (a slow hash, as on an overloaded or tiny
/// machine) on the blocking thread doing the work, as a dear hash would hold it.
fn slowed_by_flag() {
    if let Some(delay) = flags::delay(flags::SLOW_HASH_MS) {
        flags::injected(
            flags::SLOW_HASH_MS,
            &format!("password hashing slowed by {delay:?}"),
        );
        std::thread::sleep(delay);
    }
}

/// The hash of a random password nobody knows, checked against when the email is unknown.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2hpcHB5LWR1bW15LXNhbHQ$0bXgrOaZw+3QmJNe1i7tP+GD+PgWQXbM6zmyYh7GfF0";

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_right_password_verifies_and_a_wrong_one_does_not() {
        let hasher = Hasher::new(0, Duration::from_secs(5));
        let h = hasher.hash("Testing123".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(!h.contains("Testing123"));
        assert!(
            hasher
                .verify("Testing123".into(), Some(h.clone()))
                .await
                .unwrap()
        );
        assert!(!hasher.verify("testing123".into(), Some(h)).await.unwrap());
        assert!(!hasher.verify("anything".into(), None).await.unwrap());
        assert!(
            PasswordHash::new(DUMMY_HASH).is_ok(),
            "the dummy must cost a real check"
        );
    }

    #[tokio::test]
    async fn past_its_turns_and_its_waiting_room_a_flood_is_refused_busy_not_queued() {
        // One turn, eight may wait a second for it; 40 at once: the turn's holder and the
        // eight waiting get through in turn, the rest are refused at once.
        let hasher = Hasher::new(1, Duration::from_secs(30));
        let attempts: Vec<_> = (0..40)
            .map(|_| {
                let hasher = hasher.clone();
                tokio::spawn(async move { hasher.hash("Testing123".into()).await })
            })
            .collect();
        let mut hashed = 0;
        let mut busy = 0;
        for attempt in attempts {
            match attempt.await.unwrap() {
                Ok(_) => hashed += 1,
                Err(UserError::Busy(wait)) => {
                    assert!(wait >= Duration::from_secs(1));
                    busy += 1;
                }
                Err(other) => panic!("{other}"),
            }
        }
        assert_eq!(hashed + busy, 40);
        assert!(
            (1..=1 + WAITING_PER_TURN).contains(&hashed),
            "{hashed} hashed: more than one turn and its waiting room"
        );
        assert!(busy >= 40 - 1 - WAITING_PER_TURN, "{busy} refused");
    }
}

//! Password hashing with argon2id (the crate's defaults: 19 MiB, 2 passes, 1 lane, the OWASP
//! minimum), run on the blocking pool because each hash takes tens of milliseconds.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use shippy_plugins::flags;

use crate::domain::UserError;

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

/// The PHC string of `password` under a fresh random salt.
pub async fn hash(password: String) -> Result<String, UserError> {
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        let _in = span.enter();
        slowed_by_flag();
        let mut salt = [0u8; 16];
        getrandom::getrandom(&mut salt)
            .map_err(|e| UserError::Internal(format!("no randomness: {e}")))?;
        let salt = SaltString::encode_b64(&salt).map_err(|e| UserError::Internal(e.to_string()))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| UserError::Internal(format!("hashing failed: {e}")))
    })
    .await
    .map_err(|e| UserError::Internal(format!("hashing task: {e}")))?
}

/// Whether `password` matches the PHC string `hash`. With no stored hash it still does the
/// work of a check, so a wrong email takes as long as a wrong password.
pub async fn verify(password: String, hash: Option<String>) -> bool {
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        let _in = span.enter();
        slowed_by_flag();
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
    .unwrap_or(false)
}

/// The hash of a random password nobody knows, checked against when the email is unknown.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2hpcHB5LWR1bW15LXNhbHQ$0bXgrOaZw+3QmJNe1i7tP+GD+PgWQXbM6zmyYh7GfF0";

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_right_password_verifies_and_a_wrong_one_does_not() {
        let h = hash("Testing123".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(!h.contains("Testing123"));
        assert!(verify("Testing123".into(), Some(h.clone())).await);
        assert!(!verify("testing123".into(), Some(h)).await);
        assert!(!verify("anything".into(), None).await);
        assert!(
            PasswordHash::new(DUMMY_HASH).is_ok(),
            "the dummy must cost a real check"
        );
    }
}

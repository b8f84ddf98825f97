//! Log-in throttling: after too many failed log-ins for one account, or from one address,
//! within a window, further attempts are refused until the window ends, with the wait.
//! Kept in memory per instance (the resilience work may share it); bounded in size.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failure counts by account and by address.
#[derive(Debug)]
pub struct LoginThrottle {
    per_account: u32,
    per_address: u32,
    window: Duration,
    failures: Mutex<HashMap<String, Window>>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

/// Past this many tracked keys, expired windows are swept on the next failure.
const SWEEP_ABOVE: usize = 10_000;

impl LoginThrottle {
    pub fn new(per_account: u32, per_address: u32, window: Duration) -> Self {
        Self {
            per_account,
            per_address,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn keys(account: &str, address: &str) -> [(String, bool); 2] {
        [
            (format!("account:{account}"), true),
            (format!("address:{address}"), false),
        ]
    }

    /// `Err(wait)` when `account` or `address` has used up its failures in this window.
    pub fn check(&self, account: &str, address: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        for (key, is_account) in Self::keys(account, address) {
            let limit = if is_account {
                self.per_account
            } else {
                self.per_address
            };
            if let Some(w) = failures.get(&key) {
                let elapsed = now.duration_since(w.started);
                if elapsed < self.window && w.failures >= limit {
                    return Err(self.window - elapsed);
                }
            }
        }
        Ok(())
    }

    /// Counts a failed log-in against `account` and `address`.
    pub fn failed(&self, account: &str, address: &str) {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if failures.len() > SWEEP_ABOVE {
            failures.retain(|_, w| now.duration_since(w.started) < self.window);
        }
        for (key, _) in Self::keys(account, address) {
            let w = failures.entry(key).or_insert(Window {
                started: now,
                failures: 0,
            });
            if now.duration_since(w.started) >= self.window {
                *w = Window {
                    started: now,
                    failures: 0,
                };
            }
            w.failures += 1;
        }
    }

    /// Forgets `account`'s failures after a successful log-in.
    pub fn succeeded(&self, account: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        failures.remove(&format!("account:{account}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_is_locked_after_its_failures_until_the_window_ends() {
        let t = LoginThrottle::new(3, 100, Duration::from_millis(200));
        for _ in 0..3 {
            assert!(t.check("a@x.io", "1.2.3.4").is_ok());
            t.failed("a@x.io", "1.2.3.4");
        }
        let wait = t.check("a@x.io", "9.9.9.9").unwrap_err();
        assert!(wait <= Duration::from_millis(200));
        assert!(
            t.check("b@x.io", "1.2.3.4").is_ok(),
            "another account from the same address"
        );
        std::thread::sleep(Duration::from_millis(250));
        assert!(t.check("a@x.io", "1.2.3.4").is_ok(), "the window ended");
    }

    #[test]
    fn an_address_is_locked_after_failures_across_accounts_and_success_resets_the_account() {
        let t = LoginThrottle::new(3, 4, Duration::from_secs(60));
        for i in 0..4 {
            t.failed(&format!("user{i}@x.io"), "6.6.6.6");
        }
        assert!(t.check("fresh@x.io", "6.6.6.6").is_err());
        assert!(t.check("fresh@x.io", "7.7.7.7").is_ok());
        t.failed("c@x.io", "8.8.8.8");
        t.failed("c@x.io", "8.8.8.8");
        t.succeeded("c@x.io");
        t.failed("c@x.io", "8.8.8.8");
        assert!(t.check("c@x.io", "8.8.8.9").is_ok());
    }
}

//! Log-in throttling: after too many failed log-ins for one account, or from one address,
//! within a window, further attempts are refused until the window ends, with the wait.
//! An attempt is counted when it is let in, before its password is checked, and refunded
//! if it turns out right (or the check could not be made): so parallel guesses cannot all
//! pass the check while the first ones are still hashing. Kept in memory per instance;
//! bounded in size.

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

    /// Lets a log-in attempt for `account` from `address` in and counts it as a failure
    /// until [`Self::succeeded`] or [`Self::refund`] says otherwise; `Err(wait)` when either
    /// has used up its failures in this window (then nothing is counted).
    pub fn begin(&self, account: &str, address: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if failures.len() > SWEEP_ABOVE {
            failures.retain(|_, w| now.duration_since(w.started) < self.window);
        }
        let keys = Self::keys(account, address);
        for (key, is_account) in &keys {
            let limit = if *is_account {
                self.per_account
            } else {
                self.per_address
            };
            if let Some(w) = failures.get(key) {
                let elapsed = now.duration_since(w.started);
                if elapsed < self.window && w.failures >= limit {
                    return Err(self.window - elapsed);
                }
            }
        }
        for (key, _) in keys {
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
        Ok(())
    }

    /// The attempt was right: `account`'s failures are forgotten and the address gets its
    /// attempt back.
    pub fn succeeded(&self, account: &str, address: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        failures.remove(&format!("account:{account}"));
        if let Some(w) = failures.get_mut(&format!("address:{address}")) {
            w.failures = w.failures.saturating_sub(1);
        }
    }

    /// The attempt could not be judged (the store was down): it does not count.
    pub fn refund(&self, account: &str, address: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        for (key, _) in Self::keys(account, address) {
            if let Some(w) = failures.get_mut(&key) {
                w.failures = w.failures.saturating_sub(1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_is_locked_after_its_failures_until_the_window_ends() {
        let t = LoginThrottle::new(3, 100, Duration::from_millis(200));
        for _ in 0..3 {
            assert!(t.begin("a@x.io", "1.2.3.4").is_ok());
        }
        let wait = t.begin("a@x.io", "9.9.9.9").unwrap_err();
        assert!(wait <= Duration::from_millis(200));
        assert!(
            t.begin("b@x.io", "1.2.3.4").is_ok(),
            "another account from the same address"
        );
        std::thread::sleep(Duration::from_millis(250));
        assert!(t.begin("a@x.io", "1.2.3.4").is_ok(), "the window ended");
    }

    #[test]
    fn attempts_in_flight_count_so_parallel_guesses_cannot_all_pass() {
        let t = LoginThrottle::new(5, 100, Duration::from_secs(60));
        // 30 guesses arrive before any has been checked.
        let let_in = (0..30)
            .filter(|_| t.begin("a@x.io", "1.2.3.4").is_ok())
            .count();
        assert_eq!(let_in, 5);
    }

    #[test]
    fn an_address_is_locked_across_accounts_and_success_or_refund_gives_attempts_back() {
        let t = LoginThrottle::new(3, 4, Duration::from_secs(60));
        for i in 0..4 {
            t.begin(&format!("user{i}@x.io"), "6.6.6.6").unwrap();
        }
        assert!(t.begin("fresh@x.io", "6.6.6.6").is_err());
        assert!(t.begin("fresh@x.io", "7.7.7.7").is_ok());
        t.begin("c@x.io", "8.8.8.8").unwrap();
        t.begin("c@x.io", "8.8.8.8").unwrap();
        t.begin("c@x.io", "8.8.8.8").unwrap();
        t.succeeded("c@x.io", "8.8.8.8");
        assert!(
            t.begin("c@x.io", "8.8.8.9").is_ok(),
            "success forgets the account"
        );
        t.refund("d@x.io", "5.5.5.5");
        for _ in 0..3 {
            t.begin("d@x.io", "5.5.5.5").unwrap();
        }
        t.refund("d@x.io", "5.5.5.5");
        assert!(t.begin("d@x.io", "5.5.5.5").is_ok(), "a refunded attempt");
        assert!(t.begin("d@x.io", "5.5.5.5").is_err());
    }
}

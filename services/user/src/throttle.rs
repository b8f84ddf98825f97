//! Log-in throttling that a stranger cannot turn against an honest user (OWASP's "device
//! cookie" idea, keyed by where a user has logged in from instead of a cookie):
//!
//! - an account and the address trying it (a pair) may fail `per_account` times in a window;
//!   past that, that pair waits for the window to end;
//! - an account may fail `per_account` times across all addresses, and an address
//!   `per_address` times across all accounts (password spraying); past either, attempts that
//!   are not *trusted* wait;
//! - a pair is trusted for `trust` after a successful log-in from it: a stranger guessing at
//!   an account from elsewhere, or spraying from the same office address, does not lock out
//!   a user who has logged in from there before. Only the pair's own failures do.
//!
//! An attempt is counted when it is let in, before its password is checked, and refunded if
//! it turns out right (or could not be judged), so parallel guesses cannot all pass while
//! the first ones are still hashing. Keys are bounded: an account is a 16-byte digest of its
//! normalised email, an IPv6 address counts as its /64. Every map expires by time and holds
//! at most [`MAX_KEYS`] keys; past that the oldest go first. Kept in memory per instance.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use shippy_common::limit::client_network;

/// The most keys each map holds; a full map drops its oldest entries first.
pub const MAX_KEYS: usize = 100_000;

/// An account, as the throttle knows it: a digest of the normalised email, whatever its
/// length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Account([u8; 16]);

impl Account {
    fn of(email: &str) -> Self {
        let digest = Sha256::digest(email.as_bytes());
        let mut key = [0; 16];
        key.copy_from_slice(&digest[..16]);
        Self(key)
    }
}

/// An address, as the throttle counts it: IPv4 whole, IPv6 by its /64 (one subscriber's
/// usual share); anything unparsable as itself, cut to 64 bytes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Address {
    Ip(IpAddr),
    Other(String),
}

impl Address {
    fn of(address: &str) -> Self {
        match address.parse::<IpAddr>() {
            Ok(ip) => Address::Ip(client_network(ip)),
            Err(_) => Address::Other(address.chars().take(64).collect()),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

/// A map of windows with a hard cap and a time-based expiry.
#[derive(Debug)]
struct Windows<K> {
    windows: HashMap<K, Window>,
    /// When expired windows were last swept out.
    swept: Instant,
}

impl<K: Eq + Hash + Clone> Windows<K> {
    fn new(now: Instant) -> Self {
        Self {
            windows: HashMap::new(),
            swept: now,
        }
    }

    /// Failures of `key` in the window running at `now`.
    fn failures(&self, key: &K, now: Instant, window: Duration) -> Option<(u32, Duration)> {
        let w = self.windows.get(key)?;
        let elapsed = now.duration_since(w.started);
        (elapsed < window).then(|| (w.failures, window - elapsed))
    }

    fn count(&mut self, key: K, now: Instant, window: Duration) {
        self.sweep(now, window);
        let w = self.windows.entry(key).or_insert(Window {
            started: now,
            failures: 0,
        });
        if now.duration_since(w.started) >= window {
            *w = Window {
                started: now,
                failures: 0,
            };
        }
        w.failures += 1;
    }

    fn give_back(&mut self, key: &K) {
        if let Some(w) = self.windows.get_mut(key) {
            w.failures = w.failures.saturating_sub(1);
        }
    }

    /// Drops expired windows once per window, and when the map is full, the oldest eighth.
    fn sweep(&mut self, now: Instant, window: Duration) {
        if now.duration_since(self.swept) >= window || self.windows.len() >= MAX_KEYS {
            self.windows
                .retain(|_, w| now.duration_since(w.started) < window);
            self.swept = now;
        }
        if self.windows.len() >= MAX_KEYS {
            let cutoff = oldest_eighth(self.windows.values().map(|w| w.started));
            self.windows.retain(|_, w| w.started > cutoff);
        }
    }
}

/// The instant below which the oldest eighth of `instants` lie (found in linear time, so a
/// full map costs one pass per eighth of its size in new keys).
fn oldest_eighth(instants: impl Iterator<Item = Instant>) -> Instant {
    let mut all: Vec<Instant> = instants.collect();
    let at = all.len() / 8;
    match all.get(at) {
        Some(_) => *all.select_nth_unstable(at).1,
        None => Instant::now(),
    }
}

/// Where each account has logged in from, until when: a map with a cap and an expiry.
#[derive(Debug)]
struct Trusted {
    until: HashMap<(Account, Address), Instant>,
    swept: Instant,
}

impl Trusted {
    fn holds(&self, key: &(Account, Address), now: Instant) -> bool {
        self.until.get(key).is_some_and(|until| now < *until)
    }

    fn trust(&mut self, key: (Account, Address), now: Instant, trust: Duration) {
        if now.duration_since(self.swept) >= Duration::from_secs(60) || self.until.len() >= MAX_KEYS
        {
            self.until.retain(|_, until| now < *until);
            self.swept = now;
        }
        if self.until.len() >= MAX_KEYS {
            let cutoff = oldest_eighth(self.until.values().copied());
            self.until.retain(|_, until| *until > cutoff);
        }
        self.until.insert(key, now + trust);
    }
}

#[derive(Debug)]
struct State {
    pairs: Windows<(Account, Address)>,
    accounts: Windows<Account>,
    addresses: Windows<Address>,
    trusted: Trusted,
}

/// Failure counts by account-and-address, by account and by address, and the pairs trusted.
#[derive(Debug)]
pub struct LoginThrottle {
    per_account: u32,
    per_address: u32,
    window: Duration,
    trust: Duration,
    state: Mutex<State>,
}

impl LoginThrottle {
    /// `per_account` failures per account (and per account-and-address), `per_address` per
    /// address, in each `window`; a successful log-in trusts its account-and-address for
    /// `trust`.
    pub fn new(per_account: u32, per_address: u32, window: Duration, trust: Duration) -> Self {
        let now = Instant::now();
        Self {
            per_account,
            per_address,
            window,
            trust,
            state: Mutex::new(State {
                pairs: Windows::new(now),
                accounts: Windows::new(now),
                addresses: Windows::new(now),
                trusted: Trusted {
                    until: HashMap::new(),
                    swept: now,
                },
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Lets a log-in attempt for `email` from `address` in and counts it as a failure until
    /// [`Self::succeeded`] or [`Self::refund`] says otherwise; `Err(wait)` when it must wait
    /// (then nothing is counted).
    pub fn begin(&self, email: &str, address: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let (account, address) = (Account::of(email), Address::of(address));
        let pair = (account, address.clone());
        let mut s = self.state();
        let mut wait = None;
        if let Some((failures, left)) = s.pairs.failures(&pair, now, self.window)
            && failures >= self.per_account
        {
            wait = Some(left);
        }
        if !s.trusted.holds(&pair, now) {
            if let Some((failures, left)) = s.accounts.failures(&account, now, self.window)
                && failures >= self.per_account
            {
                wait = wait.max(Some(left));
            }
            if let Some((failures, left)) = s.addresses.failures(&address, now, self.window)
                && failures >= self.per_address
            {
                wait = wait.max(Some(left));
            }
        }
        if let Some(wait) = wait {
            return Err(wait);
        }
        s.pairs.count(pair, now, self.window);
        s.accounts.count(account, now, self.window);
        s.addresses.count(address, now, self.window);
        Ok(())
    }

    /// The attempt was right: the account's failures are forgotten, the address gets its
    /// attempt back, and the pair is trusted from now on.
    pub fn succeeded(&self, email: &str, address: &str) {
        let now = Instant::now();
        let (account, address) = (Account::of(email), Address::of(address));
        let mut s = self.state();
        let pair = (account, address.clone());
        s.pairs.windows.remove(&pair);
        s.accounts.windows.remove(&account);
        s.addresses.give_back(&address);
        s.trusted.trust(pair, now, self.trust);
    }

    /// The attempt could not be judged (the store was down, the hashing busy): it does not
    /// count.
    pub fn refund(&self, email: &str, address: &str) {
        let (account, address) = (Account::of(email), Address::of(address));
        let mut s = self.state();
        s.pairs.give_back(&(account, address.clone()));
        s.accounts.give_back(&account);
        s.addresses.give_back(&address);
    }

    /// How many keys the throttle holds now, across its maps.
    pub fn keys(&self) -> usize {
        let s = self.state();
        s.pairs.windows.len()
            + s.accounts.windows.len()
            + s.addresses.windows.len()
            + s.trusted.until.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(86_400);

    #[test]
    fn an_account_is_locked_after_its_failures_until_the_window_ends() {
        let t = LoginThrottle::new(3, 100, Duration::from_millis(200), DAY);
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
        let t = LoginThrottle::new(5, 100, Duration::from_secs(60), DAY);
        // 30 guesses arrive before any has been checked.
        let let_in = (0..30)
            .filter(|_| t.begin("a@x.io", "1.2.3.4").is_ok())
            .count();
        assert_eq!(let_in, 5);
    }

    #[test]
    fn a_stranger_spraying_from_the_office_address_does_not_lock_out_a_user_who_logged_in_there() {
        let t = LoginThrottle::new(5, 20, Duration::from_secs(300), DAY);
        t.begin("honest@x.io", "10.0.0.1").unwrap();
        t.succeeded("honest@x.io", "10.0.0.1");
        for i in 0..20 {
            t.begin(&format!("victim{i}@x.io"), "10.0.0.1").unwrap();
        }
        assert!(
            t.begin("newcomer@x.io", "10.0.0.1").is_err(),
            "spraying locks the address for accounts never used from it"
        );
        assert!(
            t.begin("honest@x.io", "10.0.0.1").is_ok(),
            "but not for one that logged in from it"
        );
        t.succeeded("honest@x.io", "10.0.0.1");
        // Nor can a stranger elsewhere lock the honest user out by guessing at the account.
        for _ in 0..5 {
            t.begin("honest@x.io", "6.6.6.6").unwrap();
        }
        assert!(t.begin("honest@x.io", "6.6.6.6").is_err());
        assert!(
            t.begin("honest@x.io", "7.7.7.7").is_err(),
            "the account elsewhere"
        );
        assert!(
            t.begin("honest@x.io", "10.0.0.1").is_ok(),
            "from where they log in"
        );
    }

    #[test]
    fn a_trusted_pair_still_has_its_own_limit() {
        let t = LoginThrottle::new(3, 20, Duration::from_secs(60), DAY);
        t.begin("a@x.io", "1.1.1.1").unwrap();
        t.succeeded("a@x.io", "1.1.1.1");
        for _ in 0..3 {
            t.begin("a@x.io", "1.1.1.1").unwrap();
        }
        assert!(t.begin("a@x.io", "1.1.1.1").is_err());
    }

    #[test]
    fn success_or_refund_gives_attempts_back() {
        let t = LoginThrottle::new(3, 4, Duration::from_secs(60), DAY);
        for _ in 0..3 {
            t.begin("c@x.io", "8.8.8.8").unwrap();
        }
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

    #[test]
    fn an_ipv6_client_counts_by_its_64_and_long_emails_cost_sixteen_bytes() {
        let t = LoginThrottle::new(100, 3, Duration::from_secs(60), DAY);
        for i in 1..=3 {
            t.begin(&format!("u{i}@x.io"), &format!("2001:db8:1:2::{i}"))
                .unwrap();
        }
        assert!(
            t.begin("u9@x.io", "2001:db8:1:2:ffff::9").is_err(),
            "one /64 is one address"
        );
        assert!(t.begin("u9@x.io", "2001:db8:1:3::1").is_ok());
        assert_eq!(Account::of(&"e".repeat(100_000)).0.len(), 16);
    }

    #[test]
    fn a_flood_of_random_keys_stays_under_the_cap() {
        let t = LoginThrottle::new(5, 1_000_000, Duration::from_secs(60), DAY);
        for i in 0..(MAX_KEYS + 5_000) {
            let _ = t.begin(&format!("random{i}@x.io"), "9.9.9.9");
        }
        // Pairs and accounts: one key each per email, capped; one address.
        assert!(t.keys() <= 2 * MAX_KEYS + 1, "{} keys", t.keys());
    }
}

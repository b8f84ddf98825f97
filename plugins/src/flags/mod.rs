//! Fault flags: faults a person switches on to watch the system cope (an instance failing
//! a share of its calls, added latency, a broker refusing publishes, a store refusing
//! writes, slow password hashing). They live in one file in OpenFeature flagd's format
//! (`config/flags.json`), which every process reads at start and again whenever it
//! changes, so a fault goes on and off without a restart. All are off by default.
//!
//! A process asks [`value`], [`on`] or [`strikes`] where a fault can act; the answer costs
//! one atomic load while no flag is on. Every fault that acts calls [`injected`], which
//! counts it (`shippy_faults_injected_total{flag}`) and says so in the log and, inside a
//! request, as an event on its span, so nobody mistakes it for a bug. The value of each
//! flag in effect is the gauge `shippy_fault_flag{flag}`.

pub mod flagd;
mod logic;

use std::cell::Cell;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Map, Value};

use crate::task::Background;

/// What a flag's value means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A share of calls, 0 to 1.
    Share,
    /// Milliseconds, 0 to 60,000.
    Millis,
    /// On or off.
    Switch,
}

impl Kind {
    /// `text` as a value of this kind, or why not.
    pub fn parse(self, text: &str) -> Result<f64, String> {
        match self {
            Kind::Switch => match text {
                "on" | "true" | "1" => Ok(1.0),
                "off" | "false" | "0" => Ok(0.0),
                _ => Err(format!("{text:?}: expected on or off")),
            },
            Kind::Share => text
                .parse::<f64>()
                .ok()
                .filter(|v| (0.0..=1.0).contains(v))
                .ok_or_else(|| format!("{text:?}: expected a share from 0 to 1, e.g. 0.5")),
            Kind::Millis => text
                .parse::<u32>()
                .ok()
                .filter(|v| *v <= 60_000)
                .map(f64::from)
                .ok_or_else(|| format!("{text:?}: expected milliseconds from 0 to 60000")),
        }
    }
}

/// One fault flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flag {
    /// `<scope>.<fault>`: the scope is a service (`vessel`) or a part every service with
    /// one shares (`broker`, `store`).
    pub key: &'static str,
    pub kind: Kind,
    /// What it does, for `shippy flags`.
    pub what: &'static str,
}

macro_rules! per_service {
    ($($service:literal),*) => {
        [$(
            Flag { key: concat!($service, ".fail_rate"), kind: Kind::Share,
                   what: concat!("share of ", $service, " calls answered UNAVAILABLE (503)") },
            Flag { key: concat!($service, ".latency_ms"), kind: Kind::Millis,
                   what: concat!("milliseconds added to each ", $service, " call") },
        )*]
    };
}

const PER_SERVICE: [Flag; 10] = per_service!("user", "vessel", "consignment", "log", "api");

/// The broker refuses every publish.
pub const BROKER_REFUSES_PUBLISH: &str = "broker.refuse_publish";
/// Every store refuses writes.
pub const STORE_REFUSES_WRITES: &str = "store.refuse_writes";
/// Password hashing is slowed down.
pub const SLOW_HASH_MS: &str = "user.slow_hash_ms";

/// Every flag there is.
pub fn known() -> impl Iterator<Item = &'static Flag> {
    const SHARED: [Flag; 3] = [
        Flag {
            key: "broker.refuse_publish",
            kind: Kind::Switch,
            what: "the broker refuses every publish (events wait in the outboxes)",
        },
        Flag {
            key: "store.refuse_writes",
            kind: Kind::Switch,
            what: "every store refuses writes (they answer UNAVAILABLE, 503)",
        },
        Flag {
            key: "user.slow_hash_ms",
            kind: Kind::Millis,
            what: "added to each password hash and check (sign-up, log-in)",
        },
    ];
    PER_SERVICE.iter().chain(SHARED.iter())
}

/// The flag called `key`.
pub fn find(key: &str) -> Option<&'static Flag> {
    known().find(|f| f.key == key)
}

/// Who is asking: flags' targeting rules see `service` and `instance` (the address the
/// instance registered, as `host:port`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Context {
    pub service: String,
    pub instance: String,
}

impl Context {
    fn as_map(&self) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("service".into(), Value::String(self.service.clone()));
        map.insert("instance".into(), Value::String(self.instance.clone()));
        map
    }
}

/// True once any flag is on in this process: the fast path's only cost.
static ANY: AtomicBool = AtomicBool::new(false);
static VALUES: RwLock<BTreeMap<&'static str, f64>> = RwLock::new(BTreeMap::new());

/// The value of `key` in this process now (0 when off or unknown).
pub fn value(key: &str) -> f64 {
    if !ANY.load(Ordering::Relaxed) {
        return 0.0;
    }
    VALUES
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .get(key)
        .copied()
        .unwrap_or(0.0)
}

/// Whether the switch `key` is on.
pub fn on(key: &str) -> bool {
    value(key) > 0.0
}

/// Whether the share flag `key` strikes this call (true for that share of calls).
pub fn strikes(key: &str) -> bool {
    let share = value(key);
    share > 0.0 && (share >= 1.0 || random_unit() < share)
}

/// The added time the millisecond flag `key` asks for, if any.
pub fn delay(key: &str) -> Option<Duration> {
    let ms = value(key);
    (ms >= 1.0).then(|| Duration::from_millis(ms as u64))
}

/// Records that the fault `key` acted (`what` it did): counted, logged, and an event on
/// the current span.
pub fn injected(key: &'static str, what: &str) {
    metrics::counter!("shippy_faults_injected_total", "flag" => key).increment(1);
    tracing::info!(
        fault = key,
        "injected fault: {what} (fault flag {key}; `shippy flags` lists them)"
    );
}

/// A number in [0, 1) from a per-thread xorshift generator (not for secrets).
fn random_unit() -> f64 {
    thread_local! {
        static STATE: Cell<u64> = Cell::new(seed());
    }
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        (x >> 11) as f64 / (1u64 << 53) as f64
    })
}

fn seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let here = &nanos as *const u32 as u64;
    (u64::from(nanos) << 32 ^ here) | 1
}

/// How often the file is looked at for changes.
pub const POLL: Duration = Duration::from_millis(500);

/// Reads the flags file at `path` for `context` now and then whenever it changes, in the
/// background, making the flags of `flags` take effect in this process (a missing file is
/// all off; a file that cannot be read keeps what was in effect). Keep the answer: dropping
/// it stops following.
pub async fn follow(path: PathBuf, context: Context, flags: Vec<&'static Flag>) -> Following {
    for flag in &flags {
        metrics::gauge!("shippy_fault_flag", "flag" => flag.key).set(0.0);
        metrics::counter!("shippy_faults_injected_total", "flag" => flag.key).absolute(0);
    }
    let mut last: Option<Vec<u8>> = None;
    reload(&path, &context, &flags, &mut last).await;
    Background::spawn(async move {
        loop {
            tokio::time::sleep(POLL).await;
            reload(&path, &context, &flags, &mut last).await;
        }
    })
}

/// Following the flags file; stops when dropped.
pub type Following = Background;

async fn reload(
    path: &PathBuf,
    context: &Context,
    flags: &[&'static Flag],
    last: &mut Option<Vec<u8>>,
) {
    let bytes = match tokio::fs::read(path).await {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(error) => {
            tracing::warn!(%error, path = %path.display(), "cannot read the fault flags file; keeping the flags in effect");
            return;
        }
    };
    if last.as_ref() == Some(&bytes) {
        return;
    }
    *last = Some(bytes.clone());
    let read = if bytes.is_empty() {
        Ok(flagd::Values::default())
    } else {
        serde_json::from_slice::<Value>(&bytes)
            .map_err(|e| e.to_string())
            .and_then(|doc| flagd::evaluate(&doc, &context.as_map()))
    };
    let values = match read {
        Ok(values) => values,
        Err(error) => {
            tracing::warn!(%error, path = %path.display(), "the fault flags file is not valid flagd JSON; keeping the flags in effect");
            return;
        }
    };
    for problem in &values.problems {
        tracing::warn!(path = %path.display(), "fault flag ignored: {problem}");
    }
    for key in values.numbers.keys().filter(|k| find(k).is_none()) {
        tracing::warn!(path = %path.display(), "unknown fault flag {key:?} ignored; `shippy flags` lists the known ones");
    }
    apply(&values.numbers, flags);
}

/// Makes `numbers` the values of `flags` in this process, saying what changed.
fn apply(numbers: &BTreeMap<String, f64>, flags: &[&'static Flag]) {
    let mut current = VALUES.write().unwrap_or_else(|p| p.into_inner());
    for flag in flags {
        let new = numbers.get(flag.key).copied().unwrap_or(0.0);
        let old = current.get(flag.key).copied().unwrap_or(0.0);
        if new == old {
            continue;
        }
        if new > 0.0 {
            tracing::warn!(
                flag = flag.key,
                value = new,
                "fault flag on: {} ({})",
                flag.key,
                flag.what
            );
            current.insert(flag.key, new);
        } else {
            tracing::warn!(flag = flag.key, "fault flag off: {}", flag.key);
            current.remove(flag.key);
        }
        metrics::gauge!("shippy_fault_flag", "flag" => flag.key).set(new);
    }
    ANY.store(!current.is_empty(), Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_scope_dot_fault_and_unique() {
        let keys: Vec<_> = known().map(|f| f.key).collect();
        let mut unique = keys.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(keys.len(), unique.len());
        assert!(keys.iter().all(|k| k.split('.').count() == 2), "{keys:?}");
        assert_eq!(find("vessel.fail_rate").unwrap().kind, Kind::Share);
    }

    #[test]
    fn values_are_parsed_within_their_kind() {
        assert_eq!(Kind::Share.parse("0.5"), Ok(0.5));
        assert!(Kind::Share.parse("1.5").unwrap_err().contains("0 to 1"));
        assert_eq!(Kind::Millis.parse("250"), Ok(250.0));
        assert!(Kind::Millis.parse("-1").is_err());
        assert_eq!(Kind::Switch.parse("on"), Ok(1.0));
        assert!(Kind::Switch.parse("maybe").is_err());
    }

    #[test]
    fn a_share_strikes_about_that_share_of_calls() {
        let mut hits = 0;
        for _ in 0..10_000 {
            if random_unit() < 0.25 {
                hits += 1;
            }
        }
        assert!((2_000..3_000).contains(&hits), "{hits} of 10000");
    }

    /// The one test of the process-wide state: a change to the file takes effect without a
    /// restart, for this instance only, and a broken file keeps what was in effect.
    #[tokio::test]
    async fn the_file_is_followed_and_targeting_picks_this_instance() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("flags.json");
        let context = Context {
            service: "vessel".into(),
            instance: "127.0.0.1:50052".into(),
        };
        let flags: Vec<_> = known().filter(|f| f.key.starts_with("vessel.")).collect();
        let _following = follow(path.clone(), context, flags).await;
        assert_eq!(value("vessel.fail_rate"), 0.0, "no file: all off");

        let mut doc = flagd::empty();
        flagd::set(
            &mut doc,
            "vessel.fail_rate",
            Kind::Share,
            1.0,
            Some("127.0.0.1:50052"),
        );
        flagd::set(
            &mut doc,
            "vessel.latency_ms",
            Kind::Millis,
            20.0,
            Some("10.0.0.9:1"),
        );
        std::fs::write(&path, doc.to_string()).unwrap();
        tokio::time::sleep(POLL * 3).await;
        assert!(strikes("vessel.fail_rate"), "on for this instance");
        assert_eq!(delay("vessel.latency_ms"), None, "set for another instance");

        std::fs::write(&path, "{ not json").unwrap();
        tokio::time::sleep(POLL * 3).await;
        assert_eq!(
            value("vessel.fail_rate"),
            1.0,
            "a broken file changes nothing"
        );

        flagd::off(&mut doc, "vessel.fail_rate");
        std::fs::write(&path, doc.to_string()).unwrap();
        tokio::time::sleep(POLL * 3).await;
        assert!(!strikes("vessel.fail_rate"), "off again");
        assert!(!ANY.load(Ordering::Relaxed), "nothing on: the fast path");
    }
}

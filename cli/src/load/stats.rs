//! What `shippy load` saw, step by step: answers that went through with their latencies,
//! and failures by kind (`503 unavailable`, `429 rate_limited`, `timeout`, ...), for the
//! progress lines and the summary.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;

/// Every step's outcomes so far; shared by the journeys in flight.
#[derive(Debug, Default)]
pub struct Stats {
    steps: Mutex<BTreeMap<&'static str, Step>>,
}

#[derive(Clone, Debug, Default)]
struct Step {
    ok: u64,
    failed: BTreeMap<String, u64>,
    latencies_us: Vec<u64>,
}

/// One step in the summary.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct StepSummary {
    pub step: String,
    pub ok: u64,
    /// Failures by kind.
    pub failed: BTreeMap<String, u64>,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
}

impl Stats {
    /// One answer of `step`, `elapsed` after it was sent: through, or failed as `failure`.
    pub fn record(&self, step: &'static str, elapsed: Duration, failure: Option<String>) {
        let mut steps = self.steps.lock().unwrap_or_else(|p| p.into_inner());
        let s = steps.entry(step).or_default();
        match failure {
            None => {
                s.ok += 1;
                s.latencies_us
                    .push(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX));
            }
            Some(kind) => *s.failed.entry(kind).or_default() += 1,
        }
    }

    /// The steps so far, in `order`, with latency percentiles of those that went through.
    pub fn summary(&self, order: &[&str]) -> Vec<StepSummary> {
        let steps = self.steps.lock().unwrap_or_else(|p| p.into_inner());
        order
            .iter()
            .filter_map(|name| steps.get(name).map(|s| (name, s)))
            .map(|(name, s)| {
                let mut sorted = s.latencies_us.clone();
                sorted.sort_unstable();
                let q = |q: f64| quantile_ms(&sorted, q);
                StepSummary {
                    step: (*name).to_owned(),
                    ok: s.ok,
                    failed: s.failed.clone(),
                    p50_ms: q(0.5),
                    p90_ms: q(0.9),
                    p99_ms: q(0.99),
                }
            })
            .collect()
    }
}

fn quantile_ms(sorted_us: &[u64], q: f64) -> f64 {
    let Some(last) = sorted_us.len().checked_sub(1) else {
        return 0.0;
    };
    let index = ((last as f64) * q).round() as usize;
    sorted_us[index.min(last)] as f64 / 1000.0
}

/// `{"503 unavailable": 2, "timeout": 1}` as `503 unavailable ×2, timeout ×1`.
pub fn failures_line(failed: &BTreeMap<String, u64>) -> String {
    failed
        .iter()
        .map(|(kind, n)| format!("{kind} ×{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_counts_failures_by_kind_and_times_only_what_went_through() {
        let stats = Stats::default();
        for ms in 1..=100 {
            stats.record("book", Duration::from_millis(ms), None);
        }
        stats.record(
            "book",
            Duration::from_secs(9),
            Some("503 unavailable".into()),
        );
        stats.record(
            "book",
            Duration::from_secs(9),
            Some("503 unavailable".into()),
        );
        stats.record("book", Duration::from_secs(10), Some("timeout".into()));
        stats.record("log in", Duration::from_millis(5), None);
        let summary = stats.summary(&["log in", "book", "cancel"]);
        assert_eq!(summary.len(), 2, "a step never taken is left out");
        assert_eq!(summary[0].step, "log in");
        let book = &summary[1];
        assert_eq!(book.ok, 100);
        assert_eq!(
            failures_line(&book.failed),
            "503 unavailable ×2, timeout ×1"
        );
        assert_eq!((book.p50_ms, book.p90_ms, book.p99_ms), (51.0, 90.0, 99.0));
    }
}

//! The table, the ratios against the targets, and the JSON file.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use crate::CaseResult;
use crate::fleet::{FleetResult, HUGE, HUGE_LOG, LARGE, SMALL};

/// How much dearer a lookup may be in the large fleet and still count as not growing.
const FLEET_TARGET: f64 = 2.0;

#[derive(Debug, Serialize)]
pub struct Report {
    pub machine: String,
    pub cases: Vec<CaseResult>,
    pub fleet: Vec<FleetResult>,
    /// Spawn of all five services until every one is registered, in milliseconds.
    pub cold_start_ms: f64,
    pub idle_rss_mib: BTreeMap<String, f64>,
    pub ratios: BTreeMap<String, f64>,
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    // Not available_parallelism: the bench is pinned to one core by now.
    let cores = std::fs::read_to_string("/proc/cpuinfo").map_or(0, |c| {
        c.lines().filter(|l| l.starts_with("processor")).count()
    });
    format!("{cpu}, {cores} cores; servers pinned to CPU 1, load generator to CPU 0")
}

impl Report {
    pub fn new(
        cases: Vec<CaseResult>,
        fleet: Vec<FleetResult>,
        startup: Duration,
        idle_rss_mib: BTreeMap<String, f64>,
    ) -> Self {
        let find = |name: &str| cases.iter().find(|c| c.name == name);
        let cpu = |c: &CaseResult| c.cpu_us_per_request.values().sum::<f64>();
        let mut ratios = BTreeMap::new();
        let mut ratio = |name: &str, value: f64| {
            if value.is_finite() {
                ratios.insert(name.to_owned(), value);
            }
        };
        if let (Some(tonic), Some(go)) = (find("bare-tonic"), find("bare-grpc-go")) {
            ratio("bare-tonic/bare-grpc-go throughput", tonic.rps / go.rps);
        }
        if let (Some(hop), Some(go)) = (find("hop"), find("bare-grpc-go")) {
            ratio("hop/bare-grpc-go throughput", hop.rps / go.rps);
            ratio(
                "hop/bare-grpc-go p50 at 50%",
                hop.at_50[0] as f64 / go.at_50[0].max(1) as f64,
            );
        }
        if let (Some(hop), Some(bare)) = (find("hop"), find("bare-tonic")) {
            ratio("hop/bare-tonic throughput", hop.rps / bare.rps);
            ratio(
                "hop/bare-tonic p50 at 50%",
                hop.at_50[0] as f64 / bare.at_50[0].max(1) as f64,
            );
        }
        if let (Some(create), Some(bare)) = (find("rest-create"), find("bare-axum")) {
            ratio("rest-create/bare-axum throughput", create.rps / bare.rps);
            ratio(
                "rest-create/bare-axum CPU per request",
                cpu(create) / cpu(bare),
            );
        }
        if let (Some(hop), Some(remote)) = (find("hop"), find("hop-remote-auth")) {
            ratio("hop/hop-remote-auth throughput", hop.rps / remote.rps);
        }
        for f in &fleet {
            ratio(
                &format!("fleet {} {}: {LARGE}/{SMALL}", f.store, f.lookup),
                f.ratio(),
            );
            if let Some(huge) = f.huge_ratio() {
                ratio(
                    &format!("fleet {} {}: huge/{SMALL}", f.store, f.lookup),
                    huge,
                );
            }
        }
        Self {
            machine: machine(),
            cases,
            fleet,
            cold_start_ms: startup.as_secs_f64() * 1000.0,
            idle_rss_mib,
            ratios,
        }
    }

    pub fn print(&self) {
        self.print_cases();
        self.print_fleet();
    }

    fn print_cases(&self) {
        println!("shippy bench on {}", self.machine);
        println!();
        println!(
            "| case | req/s | generator (CPU) | p50 / p99 / p99.9 µs at 50% (≤ 15k/s) | p50 / p99 / p99.9 µs at 80% (≤ 15k/s) | CPU µs per request | peak RSS MiB |"
        );
        println!("|---|---:|---|---:|---:|---|---|");
        for c in &self.cases {
            let cpu: Vec<String> = c
                .cpu_us_per_request
                .iter()
                .map(|(p, us)| format!("{} {us:.0}", short(p)))
                .collect();
            let rss: Vec<String> = c
                .peak_rss_mib
                .iter()
                .map(|(p, m)| format!("{} {m:.1}", short(p)))
                .collect();
            let [a, b, d] = c.at_50;
            let [e, f, g] = c.at_80;
            println!(
                "| {} | {:.0}{} | {} {:.2}{} | {a} / {b} / {d} | {e} / {f} / {g} | {} | {} |",
                c.name,
                c.rps,
                if c.errors > 0 {
                    format!(" ({} errors)", c.errors)
                } else {
                    String::new()
                },
                c.generator,
                c.generator_cpu,
                // A generator using most of its core may have been the limit, not the server.
                if c.generator_cpu >= 0.9 {
                    " (limit?)"
                } else {
                    ""
                },
                cpu.join(", "),
                rss.join(", "),
            );
        }
        println!();
        println!(
            "cold start (spawn → all five registered): {:.0} ms (target ≤ 1000)",
            self.cold_start_ms
        );
        let idle: Vec<String> = self
            .idle_rss_mib
            .iter()
            .map(|(s, m)| format!("{} {m:.1}", short(s)))
            .collect();
        println!("idle RSS MiB (target ≤ 15 each): {}", idle.join(", "));
        let targets = [
            ("bare-tonic/bare-grpc-go throughput", 1.0, true),
            ("hop/bare-grpc-go throughput", 0.8, true),
            ("hop/bare-grpc-go p50 at 50%", 1.25, false),
            ("rest-create/bare-axum CPU per request", 20.0, false),
            ("hop/bare-tonic throughput", 0.8, true),
            ("hop/bare-tonic p50 at 50%", 1.25, false),
            ("rest-create/bare-axum throughput", 0.15, true),
            ("hop/hop-remote-auth throughput", 1.0, true),
        ];
        for (name, target, at_least) in targets {
            if let Some(ratio) = self.ratios.get(name) {
                let met = if at_least {
                    *ratio >= target
                } else {
                    *ratio <= target
                };
                let goal = if at_least { "≥" } else { "≤" };
                println!(
                    "{name}: {ratio:.2} (target {goal} {target}: {})",
                    if met { "met" } else { "missed" }
                );
            }
        }
    }

    fn print_fleet(&self) {
        if self.fleet.is_empty() {
            return;
        }
        println!();
        println!(
            "| store | lookup | µs with {SMALL} | µs with {LARGE} | ratio (target ≤ {FLEET_TARGET}) | µs with {HUGE} ({HUGE_LOG} events) | ratio |"
        );
        println!("|---|---|---:|---:|---:|---:|---:|");
        let verdict = |ratio: f64| {
            if ratio <= FLEET_TARGET {
                "met"
            } else {
                "missed"
            }
        };
        for f in &self.fleet {
            let ratio = f.ratio();
            let (huge, huge_ratio) = match (f.huge_us, f.huge_ratio()) {
                (Some(us), Some(r)) => (format!("{us:.1}"), format!("{r:.2} ({})", verdict(r))),
                _ => ("not run".to_owned(), String::new()),
            };
            println!(
                "| {} | {} | {:.1} | {:.1} | {ratio:.2} ({}) | {huge} | {huge_ratio} |",
                f.store,
                f.lookup,
                f.small_us,
                f.large_us,
                verdict(ratio),
            );
        }
        // What each store takes on disk, once per store.
        let mut seen = std::collections::BTreeSet::new();
        for f in self.fleet.iter().filter(|f| !f.bytes.is_empty()) {
            if seen.insert(&f.store) {
                let sizes: Vec<String> = f
                    .bytes
                    .iter()
                    .map(|b| format!("{:.1} MiB", *b as f64 / 1_048_576.0))
                    .collect();
                println!(
                    "\n{} on disk, smallest to largest: {}",
                    f.store,
                    sizes.join(", ")
                );
            }
        }
    }

    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, serde_json::to_vec_pretty(self)?)?;
        Ok(())
    }
}

fn short(process: &str) -> &str {
    process.trim_start_matches("shippy.")
}

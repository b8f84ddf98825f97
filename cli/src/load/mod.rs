//! `shippy load`: the tutorial's user journey as steady traffic through the REST gateway,
//! so there is something to watch while a fault flag is on. Users sign up and log in once,
//! then journeys start at a fixed rate (on the same pacer as `make bench`), each on the
//! next user in turn; progress goes to the terminal every few seconds and a summary (rate,
//! failures by kind, latency percentiles per step) at the end, which comes after a set
//! time, a set number of journeys, or Ctrl-C.

mod journey;
pub mod pace;
mod stats;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use serde::Serialize;

use self::journey::{STEPS, User};
use self::stats::{Stats, StepSummary, failures_line};

/// `shippy load`'s flags.
#[derive(clap::Args, Clone, Debug)]
pub struct LoadArgs {
    /// The gateway, e.g. http://127.0.0.1:8080 [default: where the config says it listens]
    #[arg(long)]
    pub api: Option<String>,
    /// Simulated users, each signed up and logged in at the start
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub users: u16,
    /// Journeys started a second, across all users
    #[arg(long, default_value_t = 2.0)]
    pub rate: f64,
    /// Stop after this many seconds; 0 runs until Ctrl-C
    #[arg(long, default_value_t = 60)]
    pub duration: u64,
    /// Stop after this many journeys (or the duration, whichever comes first)
    #[arg(long)]
    pub count: Option<u64>,
    /// One booking in this many is cancelled again (0: none)
    #[arg(long, default_value_t = 10)]
    pub cancel_every: u64,
    /// Seconds between progress lines
    #[arg(long, default_value_t = 5)]
    pub progress_secs: u64,
    /// Also write the summary here, as JSON
    #[arg(long)]
    pub report: Option<PathBuf>,
}

/// The end of a run.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub seconds: f64,
    pub journeys: u64,
    pub journeys_ok: u64,
    /// Journeys a second that started.
    pub rate: f64,
    pub steps: Vec<StepSummary>,
}

/// Runs the load against `api` until its end, printing progress; answers the summary.
pub async fn run(
    args: &LoadArgs,
    api: &str,
    stop: impl std::future::Future<Output = ()> + Send,
) -> anyhow::Result<Summary> {
    if !(args.rate > 0.0 && args.rate <= 10_000.0) {
        anyhow::bail!(
            "--rate {}: expected journeys a second, above 0 and up to 10000",
            args.rate
        );
    }
    let api = api.trim_end_matches('/').to_owned();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let stats = Arc::new(Stats::default());
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    eprintln!(
        "load: {} users on {api}, {} journeys a second, {}",
        args.users,
        args.rate,
        match (args.duration, args.count) {
            (0, None) => "until Ctrl-C".to_owned(),
            (0, Some(n)) => format!("for {n} journeys"),
            (s, None) => format!("for {s} s"),
            (s, Some(n)) => format!("for {s} s or {n} journeys"),
        }
    );
    let mut users = Vec::new();
    for n in 0..usize::from(args.users) {
        match User::start(&http, &api, &run_id, n, Arc::clone(&stats)).await {
            Ok(user) => users.push(user),
            Err(why) => anyhow::bail!(
                "user {n} could not sign up and log in ({why}): is the gateway at {api} up?"
            ),
        }
    }
    if let Err(why) = users[0].create_vessel(&run_id).await {
        eprintln!(
            "load: could not create the load's vessel ({why}); booking on the vessels there are"
        );
    }

    let users = Arc::new(users);
    let (next, journeys) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicU64::new(0)));
    let cancel_every = args.cancel_every;
    let journey = {
        let (users, next, journeys) =
            (Arc::clone(&users), Arc::clone(&next), Arc::clone(&journeys));
        move || {
            let (users, n) = (Arc::clone(&users), next.fetch_add(1, Ordering::Relaxed));
            let number = journeys.fetch_add(1, Ordering::Relaxed) + 1;
            async move {
                let cancel = cancel_every > 0 && number % cancel_every == 0;
                users[n % users.len()].journey(cancel).await
            }
        }
    };
    let progress = tokio::spawn(progress(
        Arc::clone(&stats),
        Arc::clone(&journeys),
        Duration::from_secs(args.progress_secs.max(1)),
    ));
    let limit = pace::Limit {
        duration: (args.duration > 0).then(|| Duration::from_secs(args.duration)),
        count: args.count,
    };
    let cap = (args.rate * 10.0).clamp(16.0, 4096.0) as usize;
    let run = pace::paced(args.rate, limit, cap, stop, journey).await;
    progress.abort();
    let summary = Summary {
        seconds: run.seconds,
        journeys: run.ok + run.errors,
        journeys_ok: run.ok,
        rate: (run.ok + run.errors) as f64 / run.seconds.max(0.001),
        steps: stats.summary(&STEPS),
    };
    print_summary(&summary);
    if let Some(path) = &args.report {
        std::fs::write(path, serde_json::to_vec_pretty(&summary)?)?;
    }
    Ok(summary)
}

async fn progress(stats: Arc<Stats>, journeys: Arc<AtomicU64>, every: Duration) {
    let started = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(every).await;
        let steps = stats.summary(&STEPS);
        let ok: u64 = steps.iter().map(|s| s.ok).sum();
        let mut failed = std::collections::BTreeMap::new();
        for s in &steps {
            for (kind, n) in &s.failed {
                *failed.entry(kind.clone()).or_insert(0) += n;
            }
        }
        let book = steps.iter().find(|s| s.step == "book");
        eprintln!(
            "load: {:>5.0} s  journeys {:>6}  steps ok {:>7}  failed {:>5}{}  book p50 {:.0} ms",
            started.elapsed().as_secs_f64(),
            journeys.load(Ordering::Relaxed),
            ok,
            failed.values().sum::<u64>(),
            if failed.is_empty() {
                String::new()
            } else {
                format!(" ({})", failures_line(&failed))
            },
            book.map_or(0.0, |b| b.p50_ms),
        );
    }
}

fn print_summary(summary: &Summary) {
    println!(
        "\n{} journeys in {:.1} s ({:.2} a second), {} with every step through\n",
        summary.journeys, summary.seconds, summary.rate, summary.journeys_ok
    );
    println!(
        "{:<14} {:>8} {:>8} {:>9} {:>9} {:>9}  failures",
        "step", "ok", "failed", "p50 ms", "p90 ms", "p99 ms"
    );
    for s in &summary.steps {
        println!(
            "{:<14} {:>8} {:>8} {:>9.1} {:>9.1} {:>9.1}  {}",
            s.step,
            s.ok,
            s.failed.values().sum::<u64>(),
            s.p50_ms,
            s.p90_ms,
            s.p99_ms,
            failures_line(&s.failed)
        );
    }
}

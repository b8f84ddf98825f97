//! `make bench`: how close each layer of shippy stays to the bare limit of the libraries
//! under it. Starts what it measures on loopback, drives it closed-loop to saturation and
//! then at fixed rates of 50 % and 80 % of that, reads every process's CPU time and memory
//! from `/proc`, and prints one table plus `target/bench/results.json`.
//!
//! Servers are pinned to CPU 1 and the load generator to CPU 0 (two-core machines), so the
//! two never compete for a core.

pub mod bare;
mod cases;
pub mod fleet;
pub mod h2load;
pub mod load;
pub mod procs;
mod report;
mod system;

use std::path::PathBuf;
use std::time::Duration;

pub use cases::CaseResult;

/// The bench's flags.
#[derive(Debug, clap::Parser)]
#[command(
    name = "shippy-bench",
    about = "Measure shippy's speed, cost and footprint"
)]
pub struct Args {
    /// Seconds of each measurement (saturation, then each fixed rate)
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// Requests in flight at saturation
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Where the JSON results go
    #[arg(long, default_value = "target/bench/results.json")]
    pub out: PathBuf,
    /// Only the cases whose names contain this
    #[arg(long)]
    pub only: Option<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Serve the bare axum hello (started by the bench itself)
    ServeAxum,
    /// Serve the bare tonic FindAvailable (started by the bench itself)
    ServeTonic,
}

/// The folder the project's scripts install tools into: `$SHIPPY_CACHE`, else
/// `$XDG_CACHE_HOME/shippy`, else `~/.cache/shippy`.
pub fn cache_dir() -> PathBuf {
    std::env::var_os("SHIPPY_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache")
                })
                .join("shippy")
        })
}

/// The fleet case on each store there is: SQLite always, MongoDB where a server is found.
async fn fleet() -> anyhow::Result<Vec<fleet::FleetResult>> {
    const CALLS: usize = 2_000;
    let dir = tempfile::tempdir()?;
    eprintln!("bench: fleet (sqlite) ...");
    let mut results = fleet::measure(fleet::Store::Sqlite(dir.path()), CALLS).await?;
    eprintln!("bench: activity log (sqlite) ...");
    results.extend(fleet::measure_log(dir.path(), CALLS).await?);
    match fleet::MongoServer::find().await {
        Ok(server) => {
            eprintln!("bench: fleet (mongodb at {}) ...", server.uri);
            let store = fleet::Store::Mongo(&server.uri, server.server);
            results.extend(fleet::measure(store, CALLS).await?);
        }
        Err(why) => eprintln!("bench: fleet on MongoDB skipped: {why}"),
    }
    Ok(results)
}

/// Runs every case and reports.
pub async fn run(args: &Args) -> anyhow::Result<()> {
    let measure = Duration::from_secs(args.seconds);
    // Children inherit the server core; the generator moves to its own afterwards.
    procs::pin(std::process::id(), 1);
    let (system, startup) = system::Running::start().await?;
    let bare = cases::Bare::start().await?;
    procs::pin(std::process::id(), 0);

    let h2 = match h2load::find() {
        Some(path) => {
            let body = h2load::write_body(
                &std::path::PathBuf::from("target/bench"),
                "find_available.grpc",
                &cases::SPEC,
            )?;
            Some(cases::H2Load { path, body })
        }
        None => {
            eprintln!(
                "bench: no h2load (Debian's nghttp2-client; scripts/bench-deps.sh installs it): the bare cases and the hop are saturated by the bench's own client"
            );
            None
        }
    };
    let mut results = Vec::new();
    for case in cases::all(&system, &bare).await? {
        if args
            .only
            .as_deref()
            .is_some_and(|only| !case.name.contains(only))
        {
            continue;
        }
        eprintln!("bench: {} ...", case.name);
        results.push(case.measure(args.concurrency, measure, h2.as_ref()).await);
    }
    let fleet = if args
        .only
        .as_deref()
        .is_none_or(|only| "fleet".contains(only))
    {
        fleet().await?
    } else {
        Vec::new()
    };
    let report = report::Report::new(results, fleet, startup, system.idle_rss.clone());
    report.print();
    report.write(&args.out)?;
    eprintln!("bench: wrote {}", args.out.display());
    drop(bare);
    system.stop().await;
    Ok(())
}

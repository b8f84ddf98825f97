//! `make bench`: how close each layer of shippy stays to the bare limit of the libraries
//! under it. Starts what it measures on loopback, drives it closed-loop to saturation and
//! then at fixed rates of 50 % and 80 % of that, reads every process's CPU time and memory
//! from `/proc`, and prints one table plus `target/bench/results.json`.
//!
//! Servers are pinned to CPU 1 and the load generator to CPU 0 (two-core machines), so the
//! two never compete for a core.

pub mod bare;
mod cases;
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
                "bench: no h2load (Debian's nghttp2-client; scripts/bench-deps.sh installs it): the gRPC cases are saturated by the bench's own client"
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
    let report = report::Report::new(results, startup, system.idle_rss.clone());
    report.print();
    report.write(&args.out)?;
    eprintln!("bench: wrote {}", args.out.display());
    drop(bare);
    system.stop().await;
    Ok(())
}

//! `shippy-bench`: runs every case, prints the table, writes `target/bench/results.json`.
//! `serve-axum` and `serve-tonic` are the bare servers it starts as child processes.

use clap::Parser;
use shippy_bench::{Args, Command};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    match args.command {
        Some(Command::ServeAxum) => shippy_bench::bare::serve_axum().await,
        Some(Command::ServeTonic) => shippy_bench::bare::serve_tonic().await,
        None => shippy_bench::run(&args).await,
    }
}

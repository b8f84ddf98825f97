//! `shippy-bench`: runs every case, prints the table, writes `target/bench/results.json`.
//! `serve-axum` and `serve-tonic` are the bare servers it starts as child processes; they
//! run on the services' own runtime arrangement (`shippy_common::runtime`).

use clap::Parser;
use shippy_bench::{Args, Command};

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    match args.command {
        Some(Command::ServeAxum) => shippy_common::runtime::main(shippy_bench::bare::serve_axum()),
        Some(Command::ServeTonic) => {
            shippy_common::runtime::main(shippy_bench::bare::serve_tonic())
        }
        None => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(shippy_bench::run(&args)),
    }
}

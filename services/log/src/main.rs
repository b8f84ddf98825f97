//! `log-service`: consumes the log topic and serves the activity log over gRPC.

use clap::Parser;
use shippy_common::{launch::ServiceArgs, names, shutdown, telemetry};

fn main() -> anyhow::Result<()> {
    shippy_common::runtime::main(run())
}

async fn run() -> anyhow::Result<()> {
    let config = ServiceArgs::parse().load(names::LOG)?;
    let _telemetry = telemetry::init(&config.telemetry, names::LOG);
    let listener = shippy_common::launch::bind(&config, names::LOG).await?;
    shippy_log::serve(config, listener, shutdown::signal()).await
}

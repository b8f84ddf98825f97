//! `vessel-service`: vessels and the search for one that fits, over gRPC.

use clap::Parser;
use shippy_common::{launch::ServiceArgs, names, shutdown, telemetry};

fn main() -> anyhow::Result<()> {
    shippy_common::runtime::main(run())
}

async fn run() -> anyhow::Result<()> {
    let config = ServiceArgs::parse().load(names::VESSEL)?;
    let _telemetry = telemetry::init(&config.telemetry, names::VESSEL);
    let listener = shippy_common::launch::bind(&config, names::VESSEL).await?;
    shippy_vessel::serve(config, listener, shutdown::signal()).await
}

//! `consignment-service`: book consignments onto vessels, over gRPC.

use clap::Parser;
use shippy_common::{launch::ServiceArgs, names, shutdown, telemetry};

fn main() -> anyhow::Result<()> {
    shippy_common::runtime::main(run())
}

async fn run() -> anyhow::Result<()> {
    let config = ServiceArgs::parse().load(names::CONSIGNMENT)?;
    let _telemetry = telemetry::init(&config.telemetry, names::CONSIGNMENT);
    let listener = shippy_common::launch::bind(&config, names::CONSIGNMENT).await?;
    shippy_consignment::serve(config, listener, shutdown::signal()).await
}

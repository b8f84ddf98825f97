//! `consignment-service`: book consignments onto vessels, over gRPC.

use clap::Parser;
use shippy_common::{Service, launch::ServiceArgs, shutdown, telemetry};

fn main() -> anyhow::Result<()> {
    shippy_common::runtime::main(run())
}

async fn run() -> anyhow::Result<()> {
    let config = ServiceArgs::parse().load(Service::Consignment)?;
    let _telemetry = telemetry::init(&config.telemetry, Service::Consignment.name());
    let listener = shippy_common::launch::bind(&config, Service::Consignment).await?;
    shippy_consignment::serve(config, listener, shutdown::signal()).await
}

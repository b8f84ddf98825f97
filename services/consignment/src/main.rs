//! `consignment-service`: book consignments onto vessels, over gRPC.

use clap::Parser;
use shippy_common::{Service, launch::ServiceArgs, runtime, shutdown, telemetry};

#[global_allocator]
static ALLOCATOR: runtime::Allocator = runtime::Allocator;

fn main() -> anyhow::Result<()> {
    runtime::main(run())
}

async fn run() -> anyhow::Result<()> {
    let config = ServiceArgs::parse().load(Service::Consignment)?;
    let _telemetry = telemetry::init(&config.telemetry, Service::Consignment.name());
    let listener = shippy_common::launch::bind(&config, Service::Consignment).await?;
    shippy_consignment::serve(config, listener, shutdown::signal()).await
}

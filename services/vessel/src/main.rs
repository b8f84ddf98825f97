//! `vessel-service`: vessels and the search for one that fits, over gRPC.

use clap::Parser;
use shippy_common::{Service, launch::ServiceArgs, runtime, shutdown, telemetry};

#[global_allocator]
static ALLOCATOR: runtime::Allocator = runtime::Allocator;

fn main() -> anyhow::Result<()> {
    runtime::main(run())
}

async fn run() -> anyhow::Result<()> {
    let config = ServiceArgs::parse().load(Service::Vessel)?;
    let _telemetry = telemetry::init(&config.telemetry, Service::Vessel.name());
    let listener = shippy_common::launch::bind(&config, Service::Vessel).await?;
    shippy_vessel::serve(config, listener, shutdown::signal()).await
}

//! `log-service`: consumes the log topic and serves the activity log over gRPC.

use clap::Parser;
use shippy_common::{Service, launch::ServiceArgs, runtime, shutdown, telemetry};

#[global_allocator]
static ALLOCATOR: runtime::Allocator = runtime::Allocator;

fn main() -> anyhow::Result<()> {
    runtime::main(run())
}

async fn run() -> anyhow::Result<()> {
    let config = ServiceArgs::parse().load(Service::Log)?;
    let _telemetry = telemetry::init(&config.telemetry, Service::Log.name());
    let listener = shippy_common::launch::bind(&config, Service::Log).await?;
    shippy_log::serve(config, listener, shutdown::signal()).await
}

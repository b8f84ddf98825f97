//! `log-service`: consumes the log topic and serves the activity log over gRPC.

use clap::Parser;
use shippy_common::{Service, launch::ServiceArgs, shutdown, telemetry};

fn main() -> anyhow::Result<()> {
    shippy_common::runtime::main(run())
}

async fn run() -> anyhow::Result<()> {
    let config = ServiceArgs::parse().load(Service::Log)?;
    let _telemetry = telemetry::init(&config.telemetry, Service::Log.name());
    let listener = shippy_common::launch::bind(&config, Service::Log).await?;
    shippy_log::serve(config, listener, shutdown::signal()).await
}

//! `api-service`: the REST gateway over the shippy gRPC services.

use clap::Parser;
use shippy_common::{Service, launch::ServiceArgs, runtime, shutdown, telemetry};

#[global_allocator]
static ALLOCATOR: runtime::Allocator = runtime::Allocator;

fn main() -> anyhow::Result<()> {
    runtime::main(run())
}

async fn run() -> anyhow::Result<()> {
    let config = ServiceArgs::parse().load(Service::Api)?;
    let _telemetry = telemetry::init(&config.telemetry, Service::Api.name());
    let listener = shippy_common::launch::bind(&config, Service::Api).await?;
    shippy_api::serve(config, listener, shutdown::signal()).await
}

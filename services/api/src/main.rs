//! `api-service`: the REST gateway over the shippy gRPC services.

use clap::Parser;
use shippy_common::{launch::ServiceArgs, names, shutdown, telemetry};

fn main() -> anyhow::Result<()> {
    shippy_common::runtime::main(run())
}

async fn run() -> anyhow::Result<()> {
    let config = ServiceArgs::parse().load(names::API)?;
    let _telemetry = telemetry::init(&config.telemetry, names::API);
    let listener = shippy_common::launch::bind(&config, names::API).await?;
    shippy_api::serve(config, listener, shutdown::signal()).await
}

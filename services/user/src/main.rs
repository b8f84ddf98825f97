//! `user-service`: sign-up, log-in and tokens over gRPC.

use clap::Parser;
use shippy_common::{launch::ServiceArgs, names, shutdown, telemetry};

fn main() -> anyhow::Result<()> {
    shippy_common::runtime::main(run())
}

async fn run() -> anyhow::Result<()> {
    let config = ServiceArgs::parse().load(names::USER)?;
    let _telemetry = telemetry::init(&config.telemetry, names::USER);
    let listener = shippy_common::launch::bind(&config, names::USER).await?;
    shippy_user::serve(config, listener, shutdown::signal()).await
}

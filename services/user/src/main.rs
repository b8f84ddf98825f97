//! `user-service`: sign-up, log-in and tokens over gRPC.

use clap::Parser;
use shippy_common::{Service, launch::ServiceArgs, shutdown, telemetry};

fn main() -> anyhow::Result<()> {
    shippy_common::runtime::main(run())
}

async fn run() -> anyhow::Result<()> {
    let config = ServiceArgs::parse().load(Service::User)?;
    let _telemetry = telemetry::init(&config.telemetry, Service::User.name());
    let listener = shippy_common::launch::bind(&config, Service::User).await?;
    shippy_user::serve(config, listener, shutdown::signal()).await
}

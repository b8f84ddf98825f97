//! `user-service`: sign-up, log-in and tokens over gRPC.

use clap::Parser;
use shippy_common::{Service, launch::ServiceArgs, runtime, shutdown, telemetry};

#[global_allocator]
static ALLOCATOR: runtime::Allocator = runtime::Allocator;

fn main() -> anyhow::Result<()> {
    runtime::main(run())
}

async fn run() -> anyhow::Result<()> {
    let config = ServiceArgs::parse().load(Service::User)?;
    let _telemetry = telemetry::init(&config.telemetry, Service::User.name());
    let listener = shippy_common::launch::bind(&config, Service::User).await?;
    shippy_user::serve(config, listener, shutdown::signal()).await
}

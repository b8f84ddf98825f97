//! The REST gateway: a router of thin translators from JSON over HTTP to the gRPC services,
//! found through the registry. Errors come back as `{"error": {"code", "message"}}` with the
//! HTTP status the shared error table gives the gRPC code.

mod error;
mod json;
mod routes;
mod state;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use shippy_common::registration::Registration;
use shippy_common::{Config, names, wiring};
use tokio::net::TcpListener;

pub use error::ApiError;
pub use state::AppState;

/// The whole REST API over `state`.
pub fn app(state: AppState) -> Router {
    routes::router().with_state(state)
}

/// Serves the gateway on `listener` until `shutdown` completes, registered as `shippy.api`.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let registry = wiring::registry(&config)?;
    let timeout = Duration::from_secs(config.request_timeout_secs);
    let state = AppState::discover(Arc::clone(&registry), timeout);
    let address = listener.local_addr()?;
    let registration = Registration::start(registry, names::API, address, &config.registry).await?;
    tracing::info!(%address, "serving REST on http://{address}");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        axum::serve(listener, app(state))
            .with_graceful_shutdown(async {
                let _ = stop_rx.await;
            })
            .into_future(),
    );
    shutdown.await;
    let grace = Duration::from_secs(config.shutdown_grace_secs);
    shippy_common::server::drain(registration, stop_tx, server, grace).await?;
    Ok(())
}

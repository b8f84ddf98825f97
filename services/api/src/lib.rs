//! The REST gateway: a router of thin translators from JSON over HTTP to the gRPC services,
//! found through the registry. Errors come back as `{"error": {"code", "message"}}` with the
//! HTTP status the shared error table gives the gRPC code (and, for invalid input, `fields`:
//! every field at fault).

mod auth;
mod deadline;
mod error;
mod faults;
mod fields;
mod headers;
mod json;
mod limit;
mod observe;
mod routes;
mod state;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, header};
use shippy_common::config::{ApiConfig, LimitsConfig};
use shippy_common::forwarded::TrustedProxies;
use shippy_common::limit::ClientLimits;
use shippy_common::registration::Registration;
use shippy_common::shutdown::Stopping;
use shippy_common::{Config, names, wiring};
use tokio::net::TcpListener;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::ServeDir;

pub use error::ApiError;
pub use state::AppState;

/// The whole gateway over `state`: the REST API, health, and the UI's static files, with a
/// request id and the security headers on every response, CORS for the configured origins,
/// a body size limit, and the per-client rate limit on the API.
pub fn app(state: AppState, config: &ApiConfig, limits: &LimitsConfig) -> Router {
    let ui = ServeDir::new(&config.ui_dir);
    let mut api = routes::router(state.deadline)
        .route_layer(axum::middleware::from_fn(faults::per_request))
        .route_layer(axum::middleware::from_fn(observe::per_request))
        .layer(axum::middleware::from_fn(error::method_not_allowed))
        .with_state(state);
    if let Some(limits) = ClientLimits::new(limits) {
        api = api.layer(axum::middleware::from_fn_with_state(
            limits,
            limit::per_client,
        ));
    }
    // The config was validated at load; a bad list trusts nobody.
    let trusted = TrustedProxies::new(&limits.trusted_proxies).unwrap_or_default();
    api = api.layer(axum::middleware::from_fn_with_state(
        trusted,
        limit::client_origin,
    ));
    api.fallback_service(ui)
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(cors(&config.cors_origins))
        .layer(axum::middleware::from_fn(headers::security))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

fn cors(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins.iter().filter_map(|o| o.parse().ok()).collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST])
        // The UI sends an `Idempotency-Key` with every booking, so another origin must be
        // allowed to send it too.
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([HeaderName::from_static("x-request-id")])
}

/// Serves the gateway on `listener` until `shutdown` completes, registered as `shippy.api`.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let registry = wiring::registry(&config).await?;
    let timeout = Duration::from_secs(config.request_timeout_secs);
    let (stop, stopping) = Stopping::new();
    let state = AppState {
        stopping,
        ..AppState::discover(Arc::clone(&registry), timeout, config.client.breaker())
    };
    let address = listener.local_addr()?;
    let _flags = shippy_common::faults::follow(&config, names::API, address).await;
    let metrics = shippy_common::admin::serve(config.services.api.metrics_listen).await?;
    let registration =
        Registration::start(registry, names::API, address, metrics, &config.registry).await?;
    tracing::info!(%address, "serving REST on http://{address}");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let app = app(state, &config.api, &config.limits);
    // One server per runtime, over the connections handed to it (TCP_NODELAY set).
    let server =
        shippy_common::server::spread_servers(listener, stop_rx, move |handed, stopped| {
            axum::serve(
                handed,
                app.clone()
                    .into_make_service_with_connect_info::<shippy_common::runtime::Peer>(),
            )
            .with_graceful_shutdown(stopped)
            .into_future()
        });
    shutdown.await;
    stop.stop();
    let grace = Duration::from_secs(config.shutdown_grace_secs);
    shippy_common::server::drain(registration, stop_tx, server, grace).await?;
    Ok(())
}

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
mod idempotency;
mod json;
mod limit;
mod observe;
mod paging;
mod routes;
mod state;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::{from_fn, from_fn_with_state};
use shippy_common::auth::{GatewayProof, ServiceTokens, TokenVerifier};
use shippy_common::config::{ApiConfig, LimitsConfig};
use shippy_common::forwarded::TrustedProxies;
use shippy_common::limit::ClientLimits;
use shippy_common::registration::Registration;
use shippy_common::shutdown::Stopping;
use shippy_common::{Config, names, wiring};
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::ServeDir;

pub use error::ApiError;
pub use state::AppState;

/// The whole gateway over `state`: the REST API, health, and the UI's static files. Its
/// layers, by reach: each route gets a span, metrics and the fault flags (and, but for the
/// live stream, the deadline: see [`routes::router`]); the API gets the client's origin, the
/// per-client rate limit and JSON 405s; everything, the UI's files too, gets a request id,
/// the security headers, CORS for the configured origins and the body size limit.
pub fn app(
    state: AppState,
    config: &ApiConfig,
    limits: &LimitsConfig,
    verifier: Arc<TokenVerifier>,
    proof: Arc<ServiceTokens>,
) -> Router {
    let each_route = ServiceBuilder::new()
        .layer(from_fn(observe::per_request))
        .layer(from_fn(faults::per_request));
    // The config was validated at load; a bad list trusts nobody.
    let forwarder = limit::Forwarder {
        trusted: TrustedProxies::new(&limits.trusted_proxies).unwrap_or_default(),
        proof,
    };
    let rate_limit = ClientLimits::new(limits).map(|limits| {
        from_fn_with_state(limit::GatewayLimits { limits, verifier }, limit::per_client)
    });
    let api = ServiceBuilder::new()
        .layer(from_fn_with_state(forwarder, limit::client_origin))
        .option_layer(rate_limit)
        .layer(from_fn(error::method_not_allowed));
    let everything = ServiceBuilder::new()
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(from_fn(headers::security))
        .layer(cors(&config.cors_origins))
        .layer(DefaultBodyLimit::max(config.max_body_bytes));
    routes::router(state.deadline)
        .route_layer(each_route)
        .layer(api)
        .with_state(state)
        .fallback_service(ServeDir::new(&config.ui_dir))
        .layer(everything)
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
    // The public keys, to tell signed-in users apart for the rate limit (the services
    // check every token again) and to publish them as JWKS.
    let verifier = Arc::new(TokenVerifier::load(&config.auth)?);
    // The gateway key, to prove to the services that the client addresses it names are its;
    // checked against the public key they check with, or every proof would be ignored.
    let proof = Arc::new(ServiceTokens::gateway(&config.auth)?);
    if !GatewayProof::load(&config.auth)?.proves(&proof.token()?) {
        anyhow::bail!(
            "auth.gateway_private_key ({}) is not the pair of auth.gateway_public_key ({}): the \
             services would believe no client address the gateway names. Put the matching \
             pair in place (remove both and run `shippy init` for a new one)",
            config.auth.gateway_private_key.display(),
            config.auth.gateway_public_key.display()
        );
    }
    let state = AppState {
        stopping,
        jwks: state::Jwks(Some(Arc::clone(&verifier))),
        topics: state::Topics::from(&config.broker),
        ..AppState::discover(
            Arc::clone(&registry),
            timeout,
            shippy_common::client::BreakerConfig::from(&config.client),
        )
    };
    let _keys = wiring::follow_keys(&config, Arc::clone(&registry), &verifier);
    let address = listener.local_addr()?;
    let _flags = shippy_common::faults::follow(&config, shippy_common::Service::Api, address).await;
    let metrics = shippy_common::admin::serve(config.services.api.metrics_listen).await?;
    let registration =
        Registration::start(registry, names::API, address, metrics, &config.registry).await?;
    tracing::info!(%address, "serving REST on http://{address}");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let app = app(state, &config.api, &config.limits, verifier, proof);
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

//! The gRPC bootstrap every service uses: serve its routes plus `grpc.health.v1` on a bound
//! listener, register, heartbeat, and on shutdown: NOT_SERVING, deregister, drain within
//! the grace period, exit.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use shippy_plugins::registry::Registry;
use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;

use crate::auth::{RequireAuth, TokenVerifier};
use crate::config::{Config, LimitsConfig};
use crate::decode_errors::DecodeErrorsLayer;
use crate::faults::FaultsLayer;
use crate::forwarded::TrustedProxies;
use crate::limit::{ClientLimits, RateLimited};
use crate::observe::GrpcRequestsLayer;
use crate::registration::Registration;

/// How long an instance keeps serving after deregistering: a little over two registry polls.
pub const DEREGISTER_DELAY: Duration = Duration::from_millis(500);

/// A generated tonic server as every shippy service serves it: each request is first held
/// to its client address's rate limit, then to the token guard (methods not in `public`
/// need a valid token), then to its user's rate limit; cheap refusals come before dear work.
pub fn guarded<S>(
    server: S,
    verifier: Arc<TokenVerifier>,
    public: &'static [&'static str],
    limits: &LimitsConfig,
) -> RateLimited<RequireAuth<RateLimited<S>>> {
    let shared = ClientLimits::new(limits);
    // The config was validated at load; a bad list trusts nobody.
    let trusted = TrustedProxies::new(&limits.trusted_proxies).unwrap_or_default();
    let by_user = RateLimited::by_user(server, shared.clone());
    RateLimited::by_address(RequireAuth::new(by_user, verifier, public), shared, trusted)
}

/// One gRPC service ready to serve.
pub struct GrpcService {
    /// The registry name, from [`crate::names`].
    pub name: &'static str,
    /// The fully qualified gRPC service name, for the health service.
    pub grpc_name: &'static str,
    pub routes: Routes,
}

/// Serves `service` on `listener` until `shutdown` completes, then drains.
pub async fn serve_grpc(
    service: GrpcService,
    listener: TcpListener,
    registry: Arc<dyn Registry>,
    config: &Config,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let address = listener.local_addr()?;
    let _flags = crate::faults::follow(config, service.name, address).await;
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status(service.grpc_name, ServingStatus::Serving)
        .await;
    reporter
        .set_service_status("", ServingStatus::Serving)
        .await;

    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let routes = service.routes.add_service(health);
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .layer(GrpcRequestsLayer)
            .layer(DecodeErrorsLayer)
            .layer(FaultsLayer::new(service.name))
            .add_routes(routes)
            // Small answers go out at once rather than waiting on Nagle's algorithm.
            .serve_with_incoming_shutdown(
                TcpIncoming::from(listener).with_nodelay(Some(true)),
                async {
                    let _ = stop_rx.await;
                },
            ),
    );
    tracing::info!(service = service.name, %address, "serving gRPC");
    let metrics_listen = config
        .service(service.name)
        .map(|s| s.metrics_listen)
        .ok_or_else(|| anyhow::anyhow!("no settings for {}", service.name))?;
    let metrics = crate::admin::serve(metrics_listen).await?;
    let registration =
        Registration::start(registry, service.name, address, metrics, &config.registry).await?;

    shutdown.await;
    reporter
        .set_service_status(service.grpc_name, ServingStatus::NotServing)
        .await;
    reporter
        .set_service_status("", ServingStatus::NotServing)
        .await;
    let grace = Duration::from_secs(config.shutdown_grace_secs);
    drain(registration, stop_tx, server, grace).await?;
    tracing::info!(service = service.name, "stopped");
    Ok(())
}

/// The second half of every shutdown, gRPC or HTTP: deregister, keep serving while clients'
/// registry watches catch up (so none is sent here after we stop listening), stop
/// accepting, and wait up to `grace` for in-flight requests.
pub async fn drain<E>(
    registration: Registration,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<Result<(), E>>,
    grace: Duration,
) -> anyhow::Result<()>
where
    E: std::error::Error + Send + Sync + 'static,
{
    registration.stop().await;
    tokio::time::sleep(DEREGISTER_DELAY).await;
    let _ = stop.send(());
    match tokio::time::timeout(grace, server).await {
        Ok(Ok(result)) => result?,
        Ok(Err(join)) => anyhow::bail!("server task failed: {join}"),
        Err(_) => tracing::warn!(
            ?grace,
            "in-flight requests did not finish within the grace period"
        ),
    }
    Ok(())
}

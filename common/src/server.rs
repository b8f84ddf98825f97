//! The gRPC bootstrap every service uses: serve its routes plus `grpc.health.v1` on a bound
//! listener, register, heartbeat, and on shutdown: NOT_SERVING, deregister, drain within
//! the grace period, exit.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use shippy_plugins::registry::Registry;
use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic_health::ServingStatus;

use crate::config::Config;
use crate::registration::Registration;
use crate::runtime;
use crate::service::Service;

/// How long an instance keeps serving after deregistering: a little over two registry polls.
pub const DEREGISTER_DELAY: Duration = Duration::from_millis(500);

/// One gRPC service ready to serve.
pub struct GrpcService {
    /// Which service it is: what it registers as and which settings it serves with.
    pub service: Service,
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
    let _flags = crate::faults::follow(config, service.service, address).await;
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status(service.grpc_name, ServingStatus::Serving)
        .await;
    reporter
        .set_service_status("", ServingStatus::Serving)
        .await;

    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let routes = reflection(service.routes.add_service(health))?;
    let me = service.service;
    let layers = crate::layers::server_layers(me);
    let server = spread_servers(listener, stop_rx, move |incoming, stopped| {
        tonic::transport::Server::builder()
            .layer(layers.clone())
            .add_routes(routes.clone())
            .serve_with_incoming_shutdown(incoming, stopped)
    });
    tracing::info!(service = me.name(), %address, "serving gRPC");
    let metrics = crate::admin::serve(config.service(me).metrics_listen).await?;
    let registration =
        Registration::start(registry, me.name(), address, metrics, &config.registry).await?;

    shutdown.await;
    reporter
        .set_service_status(service.grpc_name, ServingStatus::NotServing)
        .await;
    reporter
        .set_service_status("", ServingStatus::NotServing)
        .await;
    let grace = Duration::from_secs(config.shutdown_grace_secs);
    drain(registration, stop_tx, server, grace).await?;
    tracing::info!(service = me.name(), "stopped");
    Ok(())
}

/// `routes` with gRPC server reflection, v1 and v1alpha, over every shippy service and the
/// health service: `grpcurl list` and friends work against any instance, with no token
/// (the descriptors are the published `.proto` files).
fn reflection(routes: Routes) -> anyhow::Result<Routes> {
    let v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(shippy_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(shippy_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;
    Ok(routes.add_service(v1).add_service(v1alpha))
}

/// Serves `listener`'s connections on every runtime ([`runtime::spread`]), a server per
/// runtime made by `serve(connections, stopped)`, until `stop` fires; the answer ends when
/// every server has.
pub fn spread_servers<S, F, E>(
    listener: TcpListener,
    stop: tokio::sync::oneshot::Receiver<()>,
    serve: S,
) -> tokio::task::JoinHandle<Result<(), E>>
where
    S: Fn(runtime::Handed, Pin<Box<dyn Future<Output = ()> + Send>>) -> F,
    F: Future<Output = Result<(), E>> + Send + 'static,
    E: Send + 'static,
{
    let (fan, stopped) = tokio::sync::watch::channel(false);
    let servers: Vec<_> = runtime::spread(listener, stopped.clone())
        .into_iter()
        .map(|(handle, handed)| {
            let mut stopped = stopped.clone();
            let stopped: Pin<Box<dyn Future<Output = ()> + Send>> = Box::pin(async move {
                let _ = stopped.wait_for(|s| *s).await;
            });
            handle.spawn(serve(handed, stopped))
        })
        .collect();
    tokio::spawn(async move {
        let _ = stop.await;
        let _ = fan.send(true);
        let mut result = Ok(());
        for server in servers {
            match server.await {
                Ok(Err(e)) if result.is_ok() => result = Err(e),
                _ => {}
            }
        }
        result
    })
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

//! The consignment service: books consignments onto vessels with a saga it orchestrates and
//! stores at every step (pending, room reserved on the vessel service, booked; or rejected,
//! or cancelled), resumes bookings a crash left unfinished, and lists the caller's
//! consignments. Every method needs a token.

pub mod domain;
pub mod events;
mod handler;
pub mod repo;
pub mod saga;
pub mod vessels;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use shippy_common::auth::{GatewayProof, ServiceTokens, TokenVerifier};
use shippy_common::client::Discovered;
use shippy_common::config::StoreKind;
use shippy_common::layers::guarded;
use shippy_common::server::{GrpcService, serve_grpc};
use shippy_common::{Config, names, wiring};
use shippy_proto::consignment::shipping_service_server::ShippingServiceServer;
use shippy_proto::tonic::server::NamedService;
use shippy_proto::tonic::service::Routes;
use tokio::net::TcpListener;

pub use handler::{ConsignmentHandler, IDEMPOTENCY_KEY};

/// Serves the consignment service on `listener` until `shutdown` completes.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let registry = wiring::registry(&config).await?;
    let repo: Arc<dyn repo::ConsignmentRepository> = match config.store.kind {
        StoreKind::Sqlite => {
            let path = config.data_file("consignments");
            Arc::new(wiring::off_runtime(move || repo::SqliteConsignments::open(&path)).await?)
        }
        #[cfg(feature = "mongodb")]
        StoreKind::Mongodb => {
            Arc::new(repo::MongoConsignments::open(&wiring::mongo_database(&config).await?).await?)
        }
        #[cfg(not(feature = "mongodb"))]
        StoreKind::Mongodb => {
            return Err(wiring::not_built("store.kind = \"mongodb\"", "mongodb"));
        }
    };
    let (_relay, events) = wiring::relay(&config, repo.outbox(), names::CONSIGNMENT).await?;
    let timeout = Duration::from_secs(config.request_timeout_secs);
    let tokens = Arc::new(ServiceTokens::load(
        names::CONSIGNMENT,
        vessels::SAGA_CALLS,
        &config.auth,
    )?);
    let vessels = Arc::new(vessels::GrpcVessels::new(
        Discovered::new(
            Arc::clone(&registry),
            names::VESSEL,
            timeout,
            shippy_common::client::BreakerConfig::from(&config.client),
        ),
        tokens,
        &config.client,
    ));
    let verifier = Arc::new(TokenVerifier::load(&config.auth)?);
    let gateway = Arc::new(GatewayProof::load(&config.auth)?);
    let _revocations = wiring::follow_revocations(&config, &verifier).await?;
    let _keys = wiring::follow_keys(&config, Arc::clone(&registry), &verifier);
    let saga = saga::Saga::new(repo, vessels, events, config.saga.clone())
        .with_bookings_in_flight_per_user(config.limits.bookings_in_flight_per_user);
    let _sweeper = Sweeper(tokio::spawn(sweep(
        saga.clone(),
        Duration::from_secs(config.saga.sweep_secs.max(1)),
        timeout,
    )));
    let server = ShippingServiceServer::new(ConsignmentHandler::new(saga, timeout));
    let service = GrpcService {
        service: shippy_common::Service::Consignment,
        grpc_name: ShippingServiceServer::<ConsignmentHandler>::NAME,
        routes: Routes::new(guarded(server, verifier, gateway, &[], &config.limits)),
    };
    serve_grpc(service, listener, registry, &config, shutdown).await
}

/// Stops the sweep when the service stops.
struct Sweeper(tokio::task::JoinHandle<()>);

impl Drop for Sweeper {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Every `every`, drives on the bookings a crash or an outage left unfinished, on whichever
/// instance looks first (the saga's conditional writes make a second driver harmless).
async fn sweep(saga: saga::Saga, every: Duration, limit: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(error) = saga.sweep(limit).await {
            tracing::warn!(%error, "cannot look for unfinished bookings");
        }
    }
}

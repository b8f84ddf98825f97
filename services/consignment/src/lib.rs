//! The consignment service: validates a consignment, asks the vessel service (found through
//! the registry) for a vessel that can carry it, stores it under the caller's id, and lists
//! the caller's consignments. Every method needs a token.

pub mod domain;
mod handler;
pub mod repo;
pub mod vessels;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use shippy_common::auth::TokenVerifier;
use shippy_common::client::Discovered;
use shippy_common::config::StoreKind;
use shippy_common::server::{GrpcService, guarded, serve_grpc};
use shippy_common::{Config, names, wiring};
use shippy_proto::consignment::shipping_service_server::ShippingServiceServer;
use shippy_proto::tonic::server::NamedService;
use shippy_proto::tonic::service::Routes;
use tokio::net::TcpListener;

pub use handler::ConsignmentHandler;

/// Serves the consignment service on `listener` until `shutdown` completes.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let registry = wiring::registry(&config)?;
    let repo: Arc<dyn repo::ConsignmentRepository> = match config.store.kind {
        StoreKind::Sqlite => Arc::new(repo::SqliteConsignments::open(
            &config.data_file("consignments"),
        )?),
        StoreKind::Mongodb => {
            Arc::new(repo::MongoConsignments::open(&wiring::mongo_database(&config).await?).await?)
        }
    };
    let (_relay, events) = wiring::relay(&config, repo.outbox(), names::CONSIGNMENT)?;
    let timeout = Duration::from_secs(config.request_timeout_secs);
    let vessels = Arc::new(vessels::GrpcVessels::new(
        Discovered::new(
            Arc::clone(&registry),
            names::VESSEL,
            timeout,
            config.client.breaker(),
        ),
        &config.client,
    ));
    let verifier = Arc::new(TokenVerifier::load(&config.auth)?);
    let server =
        ShippingServiceServer::new(ConsignmentHandler::new(repo, vessels, events, timeout));
    let service = GrpcService {
        name: names::CONSIGNMENT,
        grpc_name: ShippingServiceServer::<ConsignmentHandler>::NAME,
        routes: Routes::new(guarded(server, verifier, &[], &config.limits)),
    };
    serve_grpc(service, listener, registry, &config, shutdown).await
}

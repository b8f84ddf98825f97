//! The vessel service: stores vessels, finds the smallest available one that can carry a
//! specification, and seeds the tutorial's `vessel001` into an empty store. Every method
//! needs a token.

pub mod domain;
pub mod events;
mod handler;
pub mod repo;
pub mod seed;

use std::future::Future;
use std::sync::Arc;

use shippy_common::auth::{GatewayProof, TokenVerifier};
use shippy_common::config::StoreKind;
use shippy_common::layers::guarded;
use shippy_common::server::{GrpcService, serve_grpc};
use shippy_common::{Config, names, wiring};
use shippy_proto::tonic::server::NamedService;
use shippy_proto::tonic::service::Routes;
use shippy_proto::vessel::vessel_service_server::VesselServiceServer;
use tokio::net::TcpListener;

pub use handler::VesselHandler;

/// Serves the vessel service on `listener` until `shutdown` completes.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let registry = wiring::registry(&config).await?;
    let repo: Arc<dyn repo::VesselRepository> = match config.store.kind {
        StoreKind::Sqlite => {
            let path = config.data_file("vessels");
            Arc::new(wiring::off_runtime(move || repo::SqliteVessels::open(&path)).await?)
        }
        #[cfg(feature = "mongodb")]
        StoreKind::Mongodb => {
            Arc::new(repo::MongoVessels::open(&wiring::mongo_database(&config).await?).await?)
        }
        #[cfg(not(feature = "mongodb"))]
        StoreKind::Mongodb => {
            return Err(wiring::not_built("store.kind = \"mongodb\"", "mongodb"));
        }
    };
    let (_relay, events) = wiring::relay(&config, repo.outbox(), names::VESSEL).await?;
    seed::seed(repo.as_ref(), &events).await?;
    let verifier = Arc::new(TokenVerifier::load(&config.auth)?);
    let gateway = Arc::new(GatewayProof::load(&config.auth)?);
    let _revocations = wiring::follow_revocations(&config, &verifier).await?;
    let _keys = wiring::follow_keys(&config, Arc::clone(&registry), &verifier);
    let handler = VesselHandler::new(repo, events)
        .with_vessels_per_user(config.limits.vessels_per_user)
        .with_vessel_share(domain::Share::percent(config.limits.vessel_share_percent));
    let server = VesselServiceServer::new(handler);
    let service = GrpcService {
        service: shippy_common::Service::Vessel,
        grpc_name: VesselServiceServer::<VesselHandler>::NAME,
        routes: Routes::new(guarded(server, verifier, gateway, &[], &config.limits)),
    };
    serve_grpc(service, listener, registry, &config, shutdown).await
}

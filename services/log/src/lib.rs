//! The log service: a consumer group on the log topic stores each event once (by event id)
//! and commits the offset only after the event is stored, so a crash redelivers rather than
//! loses; `List` serves the caller's events, newest first, and `Watch` the new ones live.

pub mod consumer;
pub mod domain;
pub mod feeds;
mod handler;
pub mod repo;
pub mod retention;

use std::future::Future;
use std::sync::Arc;

use shippy_common::auth::{GatewayProof, TokenVerifier};
use shippy_common::config::StoreKind;
use shippy_common::layers::guarded;
use shippy_common::server::{GrpcService, serve_grpc};
use shippy_common::shutdown::{Stopping, then_stop};
use shippy_common::{Config, wiring};
use shippy_proto::log::log_service_server::LogServiceServer;
use shippy_proto::tonic::server::NamedService;
use shippy_proto::tonic::service::Routes;
use tokio::net::TcpListener;

pub use handler::LogHandler;

/// How many new events a slow watcher may fall behind before it misses some.
const LIVE_BUFFER: usize = 1024;

/// How far back before its start an instance's live feed begins, in ms.
const LIVE_SINCE_MS: i64 = 5_000;

/// Consumes the log topic and serves `List` on `listener` until `shutdown` completes.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let registry = wiring::registry(&config).await?;
    let broker = wiring::broker(&config).await?;
    let repo: Arc<dyn repo::LogRepository> = match config.store.kind {
        StoreKind::Sqlite => {
            let path = config.data_file("logs");
            Arc::new(wiring::off_runtime(move || repo::SqliteLogs::open(&path)).await?)
        }
        #[cfg(feature = "mongodb")]
        StoreKind::Mongodb => {
            Arc::new(repo::MongoLogs::open(&wiring::mongo_database(&config).await?).await?)
        }
        #[cfg(not(feature = "mongodb"))]
        StoreKind::Mongodb => {
            return Err(wiring::not_built("store.kind = \"mongodb\"", "mongodb"));
        }
    };
    let subscription = broker
        .subscribe(&config.broker.log_topic, &config.broker.log_group)
        .await?;
    let (live, _) = tokio::sync::broadcast::channel(LIVE_BUFFER);
    // The live feed has a group of its own per instance, so its watchers see every event,
    // whichever member of the log group stores it. Events from a little before the start
    // count as new: a watcher may have asked the previous instance for them.
    let live_group = format!("{}.live.{}", config.broker.log_group, uuid::Uuid::new_v4());
    // It starts where the topic reaches that time (the embedded broker seeks there; on
    // Kafka it reads from the oldest retained and skips what is older).
    let live_since = shippy_plugins::now_unix_ms() - LIVE_SINCE_MS;
    let live_feed = tokio::spawn(consumer::follow_live(
        broker
            .subscribe_since(&config.broker.log_topic, &live_group, live_since)
            .await?,
        live.clone(),
        live_since,
    ));
    let (stop, stopping) = Stopping::new();
    let consumer = tokio::spawn(consumer::run(subscription, repo.clone()));
    let trimmer = retention::keep_trimmed(repo.clone(), config.store.log_retention_days);
    let verifier = Arc::new(TokenVerifier::load(&config.auth)?);
    let gateway = Arc::new(GatewayProof::load(&config.auth)?);
    let _revocations = wiring::follow_revocations(&config, &verifier).await?;
    let _keys = wiring::follow_keys(&config, Arc::clone(&registry), &verifier);
    let service = GrpcService {
        service: shippy_common::Service::Log,
        grpc_name: LogServiceServer::<LogHandler>::NAME,
        routes: Routes::new(guarded(
            LogServiceServer::new(LogHandler::new(
                repo,
                live,
                feeds::Feeds::new(
                    config.limits.live_feeds_per_user,
                    config.limits.live_feeds_total,
                    Arc::clone(&verifier),
                ),
                stopping,
            )),
            verifier,
            gateway,
            &[],
            &config.limits,
        )),
    };
    // Live watches end when we stop, so draining does not wait on them.
    let served = serve_grpc(
        service,
        listener,
        registry,
        &config,
        then_stop(shutdown, stop),
    )
    .await;
    // Offsets are committed only after an event is stored, so stopping here loses nothing.
    consumer.abort();
    live_feed.abort();
    if let Some(trimmer) = trimmer {
        trimmer.abort();
    }
    served
}

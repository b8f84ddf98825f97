//! The user service: stores users with argon2-hashed passwords, signs JWTs with the private
//! key only it holds, validates tokens and publishes its public keys. `Create`, `Auth`,
//! `ValidateToken` and `PublicKeys` are public; `Get` needs a token and answers a user only
//! themselves; `GetAll` is for services only.

pub mod domain;
mod handler;
pub mod password;
pub mod repo;
pub mod throttle;

use std::future::Future;
use std::sync::Arc;

use shippy_common::auth::{GatewayProof, TokenIssuer, TokenVerifier};
use shippy_common::config::StoreKind;
use shippy_common::layers::guarded;
use shippy_common::server::{GrpcService, serve_grpc};
use shippy_common::{Config, names, wiring};
use shippy_proto::tonic::server::NamedService;
use shippy_proto::tonic::service::Routes;
use shippy_proto::user::user_service_server::UserServiceServer;
use tokio::net::TcpListener;

pub use handler::UserHandler;

/// The methods anyone may call.
const PUBLIC: &[&str] = &["Create", "Auth", "ValidateToken", "PublicKeys"];

/// Serves the user service on `listener` until `shutdown` completes.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let registry = wiring::registry(&config).await?;
    let repo: Arc<dyn repo::UserRepository> = match config.store.kind {
        StoreKind::Sqlite => {
            let path = config.data_file("users");
            Arc::new(wiring::off_runtime(move || repo::SqliteUsers::open(&path)).await?)
        }
        #[cfg(feature = "mongodb")]
        StoreKind::Mongodb => {
            Arc::new(repo::MongoUsers::open(&wiring::mongo_database(&config).await?).await?)
        }
        #[cfg(not(feature = "mongodb"))]
        StoreKind::Mongodb => {
            return Err(wiring::not_built("store.kind = \"mongodb\"", "mongodb"));
        }
    };
    let (_relay, events) = wiring::relay(&config, repo.outbox(), names::USER).await?;
    let issuer = TokenIssuer::load(&config.auth)?;
    let verifier = Arc::new(TokenVerifier::load(&config.auth)?);
    let gateway = Arc::new(GatewayProof::load(&config.auth)?);
    let _revocations = wiring::follow_revocations(&config, &verifier).await?;
    let _keys = wiring::follow_keys(&config, Arc::clone(&registry), &verifier);
    let a = &config.auth;
    let throttle = throttle::LoginThrottle::new(
        a.login_failures_per_account,
        a.login_failures_per_address,
        std::time::Duration::from_secs(a.login_window_secs),
        std::time::Duration::from_secs(a.login_trusted_days.saturating_mul(86_400)),
    );
    let hasher = password::Hasher::new(
        a.hash_concurrency,
        std::time::Duration::from_millis(a.hash_wait_ms),
    );
    let handler = UserHandler::new(
        repo,
        issuer,
        Arc::clone(&verifier),
        events,
        throttle,
        hasher,
        &config.broker.revocations_topic,
    );
    let server = UserServiceServer::new(handler);
    let service = GrpcService {
        service: shippy_common::Service::User,
        grpc_name: UserServiceServer::<UserHandler>::NAME,
        routes: Routes::new(guarded(server, verifier, gateway, PUBLIC, &config.limits)),
    };
    serve_grpc(service, listener, registry, &config, shutdown).await
}

//! Builds the infrastructure adapters a config names, once at start. Opening a SQLite file
//! may wait for other processes' locks, so it runs on the blocking pool ([`off_runtime`]),
//! never on the async workers that serve requests and heartbeats. A binary built without an
//! adapter's cargo feature (`make init`'s embedded build) says so when a config names it.

use std::sync::Arc;

use shippy_plugins::broker::{Broker, Retention, SqliteBroker};
use shippy_plugins::outbox::{Outbox, Relay, RelayConfig};
use shippy_plugins::registry::{Registry, SqliteRegistry};

use crate::auth::{TokenVerifier, revocations};
use crate::config::{BrokerKind, Config, RegistryKind};
use crate::events::Events;

/// Runs `open` (a blocking open of a SQLite file, which may sleep while other processes
/// hold it locked) on tokio's blocking pool.
pub async fn off_runtime<T, E>(
    open: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> anyhow::Result<T>
where
    T: Send + 'static,
    E: Into<anyhow::Error> + Send + 'static,
{
    tokio::task::spawn_blocking(open).await?.map_err(Into::into)
}

/// The registry the config names.
pub async fn registry(config: &Config) -> anyhow::Result<Arc<dyn Registry>> {
    match config.registry.kind {
        RegistryKind::Sqlite => {
            let path = config.data_file("registry");
            let registry = off_runtime(move || SqliteRegistry::open(&path)).await?;
            Ok(Arc::new(registry))
        }
        #[cfg(feature = "consul")]
        RegistryKind::Consul => Ok(Arc::new(shippy_plugins::registry::ConsulRegistry::connect(
            &config.registry.consul_address,
        )?)),
        #[cfg(not(feature = "consul"))]
        RegistryKind::Consul => Err(not_built("registry.kind = \"consul\"", "consul")),
    }
}

/// The broker the config names.
pub async fn broker(config: &Config) -> anyhow::Result<Arc<dyn Broker>> {
    match config.broker.kind {
        BrokerKind::Sqlite => {
            let path = config.data_file("broker");
            let broker = off_runtime(move || SqliteBroker::open(&path)).await?;
            broker.keep_trimmed(retention(config));
            Ok(Arc::new(broker))
        }
        #[cfg(feature = "kafka")]
        BrokerKind::Kafka => {
            let b = &config.broker;
            Ok(Arc::new(shippy_plugins::broker::KafkaBroker::connect(
                &b.kafka_brokers,
                b.kafka_partitions,
            )?))
        }
        #[cfg(not(feature = "kafka"))]
        BrokerKind::Kafka => Err(not_built("broker.kind = \"kafka\"", "kafka")),
    }
}

/// What the embedded broker keeps (`broker.retention_*`; the log-outs as long as a token
/// lives).
pub fn retention(config: &Config) -> Retention {
    let hours = std::time::Duration::from_secs(config.broker.retention_hours.saturating_mul(3600));
    let tokens = std::time::Duration::from_secs(config.auth.token_lifetime_secs);
    Retention {
        max_age: hours,
        max_messages: config.broker.retention_max_messages,
        floors: [(config.broker.revocations_topic.clone(), tokens)].into(),
    }
}

/// Follows log-outs on the broker the config names into `verifier`'s deny list, for as
/// long as the answer is kept.
pub async fn follow_revocations(
    config: &Config,
    verifier: &Arc<TokenVerifier>,
) -> anyhow::Result<revocations::Following> {
    let max_lag = std::time::Duration::from_secs(config.auth.revocations_max_lag_secs);
    let following = revocations::follow(
        broker(config).await?,
        config.broker.revocations_topic.clone(),
        Arc::clone(verifier),
        max_lag,
    );
    // Not serving (nor registered, which comes after) until the deny list has caught up,
    // for at most max_lag: then serving, refusing users' tokens until it has.
    let started = tokio::time::Instant::now();
    if verifier.until_current(max_lag).await {
        tracing::info!(
            waited_ms = started.elapsed().as_millis(),
            "caught up with the log-outs"
        );
    } else {
        tracing::warn!(
            ?max_lag,
            "not caught up with the log-outs: serving, but refusing users' tokens until it has"
        );
    }
    Ok(following)
}

/// Keeps `verifier` learning the token keys user-service publishes, so a key rotation needs
/// only user-service restarted (see [`crate::auth::rotation`]), for as long as the answer is
/// kept. Off the request path: a token naming an unknown key only nudges it.
pub fn follow_keys(
    config: &Config,
    registry: Arc<dyn Registry>,
    verifier: &Arc<TokenVerifier>,
) -> shippy_plugins::task::Background {
    use shippy_proto::user::PublicKeysRequest;
    use shippy_proto::user::user_service_client::UserServiceClient;
    let users = crate::client::Discovered::new(
        registry,
        crate::names::USER,
        std::time::Duration::from_secs(config.request_timeout_secs),
        crate::client::BreakerConfig::from(&config.client),
    );
    let every = std::time::Duration::from_secs(config.auth.key_refresh_secs.max(1));
    crate::auth::rotation::follow(
        Arc::clone(verifier),
        move || {
            let users = users.clone();
            async move {
                let mut client = UserServiceClient::new(users.channel().await?);
                let answer = client.public_keys(PublicKeysRequest {}).await?;
                Ok(answer
                    .into_inner()
                    .keys
                    .into_iter()
                    .map(Into::into)
                    .collect())
            }
        },
        every,
    )
}

/// Why a binary cannot use the adapter `what` names: it was built without `feature`.
pub fn not_built(what: &str, feature: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "the config says {what}, but this binary was built without that adapter (cargo feature \
         `{feature}`): build it with `make init PROFILE=compose`, or `cargo build` without \
         --no-default-features"
    )
}

/// The MongoDB database the config names: one client per process, built at start.
#[cfg(feature = "mongodb")]
pub async fn mongo_database(config: &Config) -> anyhow::Result<mongodb::Database> {
    let store = &config.store;
    Ok(shippy_plugins::store::mongo::connect(&store.mongodb_uri, &store.mongodb_database).await?)
}

/// Starts relaying `outbox` to the broker the config names (each commit of a write with
/// events wakes it), and answers how to describe `origin`'s events. Keep the relay alive
/// as long as the service runs.
pub async fn relay(
    config: &Config,
    outbox: Arc<dyn Outbox>,
    origin: &'static str,
) -> anyhow::Result<(Relay, Events)> {
    let relay = Relay::start(outbox, broker(config).await?, RelayConfig::default());
    let events = Events::new(&config.broker.log_topic, origin)
        .encoded_as(config.broker.event_encoding)
        .reworded(config.broker.reword_events);
    Ok((relay, events))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use shippy_plugins::store::SqliteDb;

    use crate::config::{Config, Sources};

    /// On one runtime thread, the task that releases a lock must run while the open waits:
    /// an open that slept on the runtime would hold the thread until it gave up.
    #[test]
    fn a_locked_sqlite_file_is_waited_for_without_stalling_the_runtime() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let mut config = Config::load(&Sources {
                config_dir: Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../config")),
                profile: None,
                overrides: vec![],
            })
            .unwrap();
            config.data_dir = dir.path().to_owned();
            let holder = SqliteDb::open(&config.data_file("registry"), "").unwrap();
            holder
                .call(|c| c.execute_batch("BEGIN EXCLUSIVE; CREATE TABLE held (x);"))
                .await
                .unwrap();
            let release = tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                holder.call(|c| c.execute_batch("COMMIT")).await.unwrap();
            });
            let opened = super::registry(&config).await;
            assert!(opened.is_ok(), "{:?}", opened.err());
            release.await.unwrap();
        });
    }
}

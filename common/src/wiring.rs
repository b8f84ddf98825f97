//! Builds the infrastructure adapters a config names, once at start.

use std::sync::Arc;

use shippy_plugins::broker::{Broker, KafkaBroker, SqliteBroker};
use shippy_plugins::outbox::{Outbox, Relay, RelayConfig};
use shippy_plugins::registry::{ConsulRegistry, Registry, SqliteRegistry};

use crate::config::{BrokerKind, Config, RegistryKind};
use crate::events::Events;

/// The registry the config names.
pub fn registry(config: &Config) -> anyhow::Result<Arc<dyn Registry>> {
    match config.registry.kind {
        RegistryKind::Sqlite => Ok(Arc::new(SqliteRegistry::open(
            &config.data_file("registry"),
        )?)),
        RegistryKind::Consul => Ok(Arc::new(ConsulRegistry::connect(
            &config.registry.consul_address,
        )?)),
    }
}

/// The broker the config names.
pub fn broker(config: &Config) -> anyhow::Result<Arc<dyn Broker>> {
    match config.broker.kind {
        BrokerKind::Sqlite => Ok(Arc::new(SqliteBroker::open(&config.data_file("broker"))?)),
        BrokerKind::Kafka => {
            let b = &config.broker;
            Ok(Arc::new(KafkaBroker::connect(
                &b.kafka_brokers,
                b.kafka_partitions,
            )?))
        }
    }
}

/// The MongoDB database the config names: one client per process, built at start.
pub async fn mongo_database(config: &Config) -> anyhow::Result<mongodb::Database> {
    let store = &config.store;
    Ok(shippy_plugins::store::mongo::connect(&store.mongodb_uri, &store.mongodb_database).await?)
}

/// Starts relaying `outbox` to the broker the config names, and answers the events of
/// `origin` that wake it. Keep the relay alive as long as the service runs.
pub fn relay(
    config: &Config,
    outbox: Arc<dyn Outbox>,
    origin: &'static str,
) -> anyhow::Result<(Relay, Events)> {
    let relay = Relay::start(outbox, broker(config)?, RelayConfig::default());
    let events = Events::new(&config.broker.log_topic, origin, relay.waker());
    Ok((relay, events))
}

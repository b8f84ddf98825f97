//! Builds the infrastructure adapters a config names, once at start.

use std::sync::Arc;

use shippy_plugins::broker::{Broker, SqliteBroker};
use shippy_plugins::registry::{Registry, SqliteRegistry};

use crate::config::{AdapterKind, Config};

/// The registry the config names.
pub fn registry(config: &Config) -> anyhow::Result<Arc<dyn Registry>> {
    match config.registry.kind {
        AdapterKind::Sqlite => Ok(Arc::new(SqliteRegistry::open(
            &config.data_file("registry"),
        )?)),
    }
}

/// The broker the config names.
pub fn broker(config: &Config) -> anyhow::Result<Arc<dyn Broker>> {
    match config.broker.kind {
        AdapterKind::Sqlite => Ok(Arc::new(SqliteBroker::open(&config.data_file("broker"))?)),
    }
}

/// The MongoDB database the config names: one client per process, built at start.
pub async fn mongo_database(config: &Config) -> anyhow::Result<mongodb::Database> {
    let store = &config.store;
    Ok(shippy_plugins::store::mongo::connect(&store.mongodb_uri, &store.mongodb_database).await?)
}

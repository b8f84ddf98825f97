//! Service discovery: instances register with a TTL kept alive by heartbeats, clients read
//! the healthy set and watch it change. [`SqliteRegistry`] is the embedded default;
//! [`ConsulRegistry`] the real one.

#[cfg(feature = "consul")]
mod consul;
#[cfg(any(test, feature = "testing"))]
pub mod contract;
mod sqlite;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

#[cfg(feature = "consul")]
pub use consul::ConsulRegistry;
pub use sqlite::SqliteRegistry;

/// One running instance of a service.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Instance {
    /// The service name every client resolves, e.g. `shippy.vessel`.
    pub service: String,
    /// Unique per instance.
    pub id: String,
    /// `host:port` where it serves.
    pub address: String,
    pub version: String,
    pub metadata: BTreeMap<String, String>,
}

/// What can go wrong talking to a registry.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("registry unavailable: {0}")]
    Unavailable(String),
}

impl From<crate::store::StoreError> for RegistryError {
    fn from(e: crate::store::StoreError) -> Self {
        RegistryError::Unavailable(e.to_string())
    }
}

/// A service registry.
#[async_trait]
pub trait Registry: Send + Sync + 'static {
    /// Adds or replaces `instance`; it stays visible for `ttl` unless renewed.
    async fn register(&self, instance: &Instance, ttl: Duration) -> Result<(), RegistryError>;

    /// Renews `instance` for another `ttl`, registering it again if the registry forgot it.
    async fn heartbeat(&self, instance: &Instance, ttl: Duration) -> Result<(), RegistryError>;

    /// Removes an instance at once. Removing an unknown instance is not an error.
    async fn deregister(&self, service: &str, id: &str) -> Result<(), RegistryError>;

    /// The instances of `service` whose TTL has not run out, sorted by id.
    async fn healthy(&self, service: &str) -> Result<Vec<Instance>, RegistryError>;

    /// Waits until the healthy set of `service` differs from `known` or `max_wait` passes,
    /// then answers the current set. Adapters with blocking queries override this; the
    /// default polls [`Registry::healthy`].
    async fn changes(
        &self,
        service: &str,
        known: &[Instance],
        max_wait: Duration,
    ) -> Result<Vec<Instance>, RegistryError> {
        let deadline = tokio::time::Instant::now() + max_wait;
        loop {
            let now = self.healthy(service).await?;
            if now != known || tokio::time::Instant::now() >= deadline {
                return Ok(now);
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }
}

/// How often the polling default of [`Registry::changes`] looks again.
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// Keeps a receiver updated with the healthy instances of `service`, in the background,
/// until every receiver is dropped. Clients read the receiver; nobody queries the registry
/// on a request path.
pub fn watch(registry: Arc<dyn Registry>, service: &str) -> watch::Receiver<Vec<Instance>> {
    let (tx, rx) = watch::channel(Vec::new());
    let service = service.to_owned();
    tokio::spawn(async move {
        let mut known = Vec::new();
        loop {
            let wait = Duration::from_secs(30);
            let next = tokio::select! {
                next = registry.changes(&service, &known, wait) => next,
                () = tx.closed() => return,
            };
            match next {
                Ok(now) => {
                    if now != known {
                        known = now.clone();
                        if tx.send(now).is_err() {
                            return;
                        }
                    }
                }
                Err(error) => {
                    tracing::warn!(%service, %error, "registry watch failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    });
    rx
}

//! Clients that find their service through the registry. A background task follows the
//! registry watch and feeds instances into a balanced channel; a request never queries the
//! registry, it only waits (up to the deadline) when no instance is known yet.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use shippy_plugins::registry::{self, Instance, Registry};
use tokio::sync::watch;
use tonic::Status;
use tonic::transport::channel::Change;
use tonic::transport::{Channel, Endpoint};

/// A balanced channel to every healthy instance of one service.
#[derive(Clone)]
pub struct Discovered {
    service: &'static str,
    channel: Channel,
    instances: watch::Receiver<Vec<Instance>>,
    timeout: Duration,
}

impl std::fmt::Debug for Discovered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Discovered")
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

impl Discovered {
    /// Starts following `service` in `registry`. Calls through it time out after `timeout`.
    pub fn new(registry: Arc<dyn Registry>, service: &'static str, timeout: Duration) -> Self {
        let (channel, changes) = Channel::balance_channel::<String>(64);
        let instances = registry::watch(registry, service);
        let mut rx = instances.clone();
        tokio::spawn(async move {
            let mut known: BTreeMap<String, String> = BTreeMap::new();
            loop {
                let now: BTreeMap<String, String> = rx
                    .borrow_and_update()
                    .iter()
                    .map(|i| (i.id.clone(), i.address.clone()))
                    .collect();
                for id in known.keys().filter(|id| !now.contains_key(*id)) {
                    if changes.send(Change::Remove(id.clone())).await.is_err() {
                        return;
                    }
                }
                for (id, address) in now.iter().filter(|(id, a)| known.get(*id) != Some(a)) {
                    match endpoint(address, timeout) {
                        Ok(ep) => {
                            if changes.send(Change::Insert(id.clone(), ep)).await.is_err() {
                                return;
                            }
                        }
                        Err(error) => tracing::warn!(%error, %address, "bad instance address"),
                    }
                }
                known = now;
                if rx.changed().await.is_err() {
                    return;
                }
            }
        });
        Self {
            service,
            channel,
            instances,
            timeout,
        }
    }

    /// The channel, once at least one instance is known; UNAVAILABLE naming the service when
    /// none turns up within the timeout.
    pub async fn channel(&self) -> Result<Channel, Status> {
        let mut rx = self.instances.clone();
        let found = tokio::time::timeout(self.timeout, rx.wait_for(|set| !set.is_empty())).await;
        match found {
            Ok(Ok(_)) => Ok(self.channel.clone()),
            _ => Err(Status::unavailable(format!(
                "no healthy instance of {} is registered",
                self.service
            ))),
        }
    }

    /// Whether at least one healthy instance is known right now.
    pub fn has_instances(&self) -> bool {
        !self.instances.borrow().is_empty()
    }

    /// The service this client calls.
    pub fn service(&self) -> &'static str {
        self.service
    }

    /// The deadline of each call.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}

fn endpoint(address: &str, timeout: Duration) -> Result<Endpoint, tonic::transport::Error> {
    Ok(Endpoint::from_shared(format!("http://{address}"))?
        .connect_timeout(Duration::from_secs(1).min(timeout))
        .timeout(timeout)
        .tcp_nodelay(true))
}

//! Keeps one instance registered: register at start, heartbeat in the background, deregister
//! on stop. Shared by the gRPC services and the HTTP gateway.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use shippy_plugins::registry::{Instance, Registry};

use crate::config::RegistryConfig;

/// A registered instance and its heartbeat task.
pub struct Registration {
    registry: Arc<dyn Registry>,
    instance: Instance,
    heartbeat: tokio::task::JoinHandle<()>,
    stop_heartbeat: tokio::sync::watch::Sender<bool>,
}

/// The address to advertise for a listener: `host` with the bound port when one is set, else
/// the bound address, a wildcard bind being reached on loopback.
pub fn advertised(addr: SocketAddr, host: &str) -> String {
    if !host.is_empty() {
        format!("{host}:{}", addr.port())
    } else if addr.ip().is_unspecified() {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), addr.port()).to_string()
    } else {
        addr.to_string()
    }
}

impl Registration {
    /// Registers `service` at `address`, with its admin port `metrics`, and starts
    /// heartbeating.
    pub async fn start(
        registry: Arc<dyn Registry>,
        service: &str,
        address: SocketAddr,
        metrics: SocketAddr,
        config: &RegistryConfig,
    ) -> anyhow::Result<Self> {
        let instance = Instance {
            service: service.to_owned(),
            id: format!("{service}-{}", uuid::Uuid::new_v4().simple()),
            address: advertised(address, &config.advertise_host),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            metadata: [
                ("pid".to_owned(), std::process::id().to_string()),
                (
                    "metrics".to_owned(),
                    advertised(metrics, &config.advertise_host),
                ),
            ]
            .into(),
        };
        let ttl = Duration::from_secs(config.ttl_secs);
        registry.register(&instance, ttl).await?;
        tracing::info!(service, id = %instance.id, address = %instance.address, "registered");
        let every = Duration::from_secs(config.heartbeat_secs);
        let (r, i) = (Arc::clone(&registry), instance.clone());
        let (stop_heartbeat, mut stopped) = tokio::sync::watch::channel(false);
        let heartbeat = tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stopped.changed() => return,
                }
                // A heartbeat runs to its end, never cut off, so none can land after the
                // deregistration and register the instance again.
                if let Err(error) = r.heartbeat(&i, ttl).await {
                    tracing::warn!(%error, id = %i.id, "heartbeat failed");
                }
            }
        });
        Ok(Self {
            registry,
            instance,
            heartbeat,
            stop_heartbeat,
        })
    }

    /// The instance as registered.
    pub fn instance(&self) -> &Instance {
        &self.instance
    }

    /// Stops heartbeating (waiting for a heartbeat in flight) and removes the instance from
    /// the registry.
    pub async fn stop(self) {
        let _ = self.stop_heartbeat.send(true);
        let _ = self.heartbeat.await;
        match self
            .registry
            .deregister(&self.instance.service, &self.instance.id)
            .await
        {
            Ok(()) => tracing::info!(id = %self.instance.id, "deregistered"),
            Err(error) => tracing::warn!(%error, "deregister failed; the TTL will expire it"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::advertised;

    #[test]
    fn a_wildcard_bind_is_advertised_on_loopback_and_a_named_host_wins() {
        let wildcard = "0.0.0.0:50051".parse().unwrap();
        assert_eq!(advertised(wildcard, ""), "127.0.0.1:50051");
        assert_eq!(advertised(wildcard, "user-service"), "user-service:50051");
        let bound = "10.1.2.3:7000".parse().unwrap();
        assert_eq!(advertised(bound, ""), "10.1.2.3:7000");
    }
}

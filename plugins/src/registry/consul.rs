//! The Consul registry adapter (consulrs): each instance registers with the local agent with
//! a TTL check that heartbeats pass and that Consul deregisters after it has been critical
//! for a while; the healthy set comes from `/v1/health/service/<name>?passing`, watched with
//! blocking queries rather than asked again and again.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use consulrs::api::check::common::AgentServiceCheck;
use consulrs::api::features::{Blocking, FeaturedEndpoint, Features};
use consulrs::api::service::requests::RegisterServiceRequest;
use consulrs::client::{ConsulClient, ConsulClientSettingsBuilder};
use consulrs::error::ClientError;
use rustify_derive::Endpoint;
use serde::Deserialize;

use super::{Instance, Registry, RegistryError};

fn unavailable(e: impl std::fmt::Display) -> RegistryError {
    RegistryError::Unavailable(e.to_string())
}

/// `GET /v1/health/service/<name>?passing`: the instances whose checks all pass, across the
/// cluster. consulrs 0.1 only has the agent-local variant, so this is added in its style.
#[derive(Debug, Default, Endpoint)]
#[endpoint(path = "health/service/{self.service}", response = "Vec<ServiceEntry>")]
struct HealthyInstancesRequest {
    #[endpoint(skip)]
    features: Option<Features>,
    #[endpoint(skip)]
    service: String,
    #[endpoint(query)]
    passing: bool,
}

impl FeaturedEndpoint for HealthyInstancesRequest {
    fn features(&self) -> Option<Features> {
        self.features.clone()
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ServiceEntry {
    service: AgentService,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AgentService {
    #[serde(rename = "ID")]
    id: String,
    service: String,
    address: String,
    port: u16,
    #[serde(default)]
    meta: Option<HashMap<String, String>>,
}

/// A [`Registry`] on Consul.
pub struct ConsulRegistry {
    client: ConsulClient,
    /// The last `X-Consul-Index` seen per service, for blocking queries.
    indexes: Mutex<HashMap<String, u64>>,
}

impl std::fmt::Debug for ConsulRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsulRegistry").finish_non_exhaustive()
    }
}

/// How long after its TTL check turns critical Consul drops an instance entirely.
const DEREGISTER_CRITICAL_AFTER: &str = "1m";

fn check_id(id: &str) -> String {
    format!("service:{id}")
}

/// A duration as Consul writes them (Go syntax).
fn go_duration(d: Duration) -> String {
    format!("{}ms", d.as_millis().max(1))
}

impl ConsulRegistry {
    /// A client for the agent at `address` (e.g. `http://127.0.0.1:8500`).
    pub fn connect(address: &str) -> Result<Self, RegistryError> {
        let settings = ConsulClientSettingsBuilder::default()
            .address(address)
            .build()
            .map_err(unavailable)?;
        Ok(Self {
            client: ConsulClient::new(settings).map_err(unavailable)?,
            indexes: Mutex::new(HashMap::new()),
        })
    }

    /// The last `X-Consul-Index` seen for `service`.
    fn index_of(&self, service: &str) -> Option<u64> {
        self.indexes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(service)
            .copied()
    }

    async fn query(
        &self,
        service: &str,
        blocking: Option<Blocking>,
    ) -> Result<Vec<Instance>, RegistryError> {
        let features = blocking.map(|b| Features {
            blocking: Some(b),
            ..Features::default()
        });
        let request = HealthyInstancesRequest {
            features,
            service: service.to_owned(),
            passing: true,
        };
        let answer = consulrs::api::exec_with_result(&self.client, request)
            .await
            .map_err(unavailable)?;
        if let Some(index) = answer.index.as_deref().and_then(|i| i.parse().ok()) {
            self.indexes
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(service.to_owned(), index);
        }
        let mut instances: Vec<Instance> = answer
            .response
            .into_iter()
            .map(|e| to_instance(e.service))
            .collect();
        instances.sort();
        Ok(instances)
    }
}

fn to_instance(s: AgentService) -> Instance {
    let mut metadata: BTreeMap<String, String> = s.meta.unwrap_or_default().into_iter().collect();
    let version = metadata.remove("version").unwrap_or_default();
    Instance {
        service: s.service,
        id: s.id,
        address: format!("{}:{}", s.address, s.port),
        version,
        metadata,
    }
}

#[async_trait]
impl Registry for ConsulRegistry {
    async fn register(&self, instance: &Instance, ttl: Duration) -> Result<(), RegistryError> {
        let (host, port) = instance
            .address
            .rsplit_once(':')
            .and_then(|(h, p)| Some((h.to_owned(), p.parse::<u64>().ok()?)))
            .ok_or_else(|| unavailable(format!("address {} is not host:port", instance.address)))?;
        let mut meta: HashMap<String, String> = instance.metadata.clone().into_iter().collect();
        meta.insert("version".to_owned(), instance.version.clone());
        let check = AgentServiceCheck {
            check_id: Some(check_id(&instance.id)),
            ttl: Some(go_duration(ttl)),
            status: Some("passing".to_owned()),
            deregister_critical_service_after: Some(DEREGISTER_CRITICAL_AFTER.to_owned()),
            ..AgentServiceCheck::default()
        };
        let mut request = RegisterServiceRequest::builder();
        request
            .id(instance.id.clone())
            .address(host)
            .port(port)
            .meta(meta)
            .check(check);
        consulrs::service::register(&self.client, &instance.service, Some(&mut request))
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn heartbeat(&self, instance: &Instance, ttl: Duration) -> Result<(), RegistryError> {
        match consulrs::check::pass(&self.client, &check_id(&instance.id), None).await {
            Ok(_) => Ok(()),
            // The agent forgot the instance (restarted, or reaped it): register again.
            Err(ClientError::APIError {
                code: 404 | 500, ..
            }) => self.register(instance, ttl).await,
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn deregister(&self, _service: &str, id: &str) -> Result<(), RegistryError> {
        match consulrs::service::deregister(&self.client, id, None).await {
            Ok(_) | Err(ClientError::APIError { code: 404, .. }) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn healthy(&self, service: &str) -> Result<Vec<Instance>, RegistryError> {
        self.query(service, None).await
    }

    /// A blocking query: Consul answers when the set changes or `max_wait` passes.
    async fn changes(
        &self,
        service: &str,
        known: &[Instance],
        max_wait: Duration,
    ) -> Result<Vec<Instance>, RegistryError> {
        let index = match self.index_of(service) {
            Some(index) => index,
            None => {
                // First look: it also learns the index to block on.
                let now = self.query(service, None).await?;
                if now != known {
                    return Ok(now);
                }
                let Some(index) = self.index_of(service) else {
                    // An agent that sends no X-Consul-Index cannot block: look again later.
                    tokio::time::sleep(max_wait.min(Duration::from_secs(1))).await;
                    return self.query(service, None).await;
                };
                index
            }
        };
        self.query(
            service,
            Some(Blocking {
                index,
                wait: Some(go_duration(max_wait)),
            }),
        )
        .await
    }
}

//! Clients that find their service through the registry and balance across its instances.
//!
//! A background task follows the registry watch and feeds instance changes into a
//! power-of-two-choices balancer that compares the instances' pending requests (tower's p2c
//! over `PendingRequests`), so a slow or busy instance gets less. Each instance sits behind
//! a [`Breaker`] that takes it out of the choice after transport failures. A request never
//! queries the registry; it waits (up to its deadline) only while no instance is ready.

mod breaker;
mod span;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use shippy_plugins::registry::{self, Instance, Registry};
use tokio::sync::{mpsc, watch};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;
use tonic::body::Body;
use tonic::transport::{Channel, Endpoint};
use tower::balance::p2c::Balance;
use tower::discover::Change;
use tower::load::{CompleteOnResponse, PendingRequestsDiscover};
use tower::util::BoxCloneSyncService;
use tower::{BoxError, ServiceBuilder, ServiceExt};

pub use breaker::{Breaker, BreakerConfig, BreakerState};
pub use span::{ClientSpan, ClientSpanLayer, Peer, rpc_names};

use crate::{deadline, forwarded, request_id, telemetry};

/// What every gRPC client here sends through: any instance, balanced, or one fixed address.
pub type GrpcChannel = BoxCloneSyncService<http::Request<Body>, http::Response<Body>, CallError>;

/// Why a call got no answer. A concrete type (not a bare boxed error) so handlers holding a
/// client stay `Send`; tonic finds the `Status` or transport error in its source.
#[derive(Debug)]
pub struct CallError(BoxError);

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for CallError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.0.as_ref())
    }
}

/// How many requests may wait for a ready instance at once, per client.
const QUEUE: usize = 1024;

/// A balanced channel to every healthy instance of one service.
#[derive(Clone)]
pub struct Discovered {
    service: &'static str,
    channel: GrpcChannel,
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

/// A channel to one fixed address (`--addr`), shaped like a discovered one.
pub fn fixed(channel: Channel) -> GrpcChannel {
    BoxCloneSyncService::new(channel.map_err(|e| CallError(e.into())))
}

impl Discovered {
    /// Starts following `service` in `registry`. Calls through it time out after `timeout`,
    /// waiting for a ready instance included; each instance gets a breaker as `breaker` says.
    pub fn new(
        registry: Arc<dyn Registry>,
        service: &'static str,
        timeout: Duration,
        breaker: BreakerConfig,
    ) -> Self {
        let (changes, rx) = mpsc::channel(64);
        let instances = registry::watch(registry, service);
        tokio::spawn(follow(
            service,
            instances.clone(),
            changes,
            timeout,
            breaker,
        ));
        let discover = PendingRequestsDiscover::new::<http::Request<Body>>(
            ReceiverStream::new(rx).map(Ok::<_, Infallible>),
            CompleteOnResponse::default(),
        );
        let header = http::HeaderValue::try_from(deadline::header_value(timeout))
            .expect("digits and a unit");
        let balanced = ServiceBuilder::new()
            .map_err(CallError)
            // Outside the rest: the CLIENT span covers the wait for an instance, and the
            // context the call carries (injected below) is that span's.
            .layer(ClientSpanLayer)
            .map_err(move |e: BoxError| deadline_to_status(e, service))
            // A call that names no deadline of its own travels with the client's.
            .map_request(move |mut request: http::Request<Body>| {
                request
                    .headers_mut()
                    .entry(deadline::HEADER)
                    .or_insert_with(|| header.clone());
                // The caller's trace and request id continue in the instance that answers.
                telemetry::inject_headers(request.headers_mut());
                if let Some(id) = request_id::request_id()
                    && let Ok(value) = http::HeaderValue::try_from(id)
                {
                    request
                        .headers_mut()
                        .insert(request_id::REQUEST_ID_HEADER, value);
                }
                // On the gateway: whom the call is for, so each client is limited apart.
                forwarded::name_the_client(request.headers_mut());
                request
            })
            .timeout(timeout)
            .buffer(QUEUE)
            .service(Balance::new(discover));
        Self {
            service,
            channel: BoxCloneSyncService::new(balanced),
            instances,
            timeout,
        }
    }

    /// The channel, once at least one instance is known; UNAVAILABLE naming the service when
    /// none turns up within the timeout.
    pub async fn channel(&self) -> Result<GrpcChannel, Status> {
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

/// A request that found no ready instance in time is UNAVAILABLE, naming the service (a
/// `Status` in the error is what tonic hands the caller).
fn deadline_to_status(error: BoxError, service: &str) -> BoxError {
    if error.is::<tower::timeout::error::Elapsed>() {
        Box::new(Status::unavailable(format!(
            "no instance of {service} answered in time"
        )))
    } else {
        error
    }
}

type Endpoints = mpsc::Sender<Change<String, Breaker<Peer<Channel>>>>;

/// Turns registry changes into balancer changes, until the balancer is gone.
async fn follow(
    service: &'static str,
    mut rx: watch::Receiver<Vec<Instance>>,
    changes: Endpoints,
    timeout: Duration,
    breaker: BreakerConfig,
) {
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
                    let channel = Peer::new(ep.connect_lazy(), address);
                    let instance = Breaker::new(channel, breaker, service, address);
                    if changes
                        .send(Change::Insert(id.clone(), instance))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                Err(error) => tracing::warn!(%error, %address, "bad instance address"),
            }
        }
        #[allow(clippy::cast_precision_loss)]
        metrics::gauge!("shippy_registry_instances", "service" => service).set(now.len() as f64);
        known = now;
        if rx.changed().await.is_err() {
            return;
        }
    }
}

fn endpoint(address: &str, timeout: Duration) -> Result<Endpoint, tonic::transport::Error> {
    Ok(Endpoint::from_shared(format!("http://{address}"))?
        .connect_timeout(Duration::from_secs(1).min(timeout))
        .timeout(timeout)
        .tcp_nodelay(true))
}

//! The gateway's shared state: one discovered, balanced client per service, built at start,
//! and the one place that hands each route module its client. Every field is a substate
//! (`#[derive(FromRef)]`): a handler asks for exactly the service it calls, e.g.
//! `State(vessels): State<VesselService>`, and gets its typed gRPC client with `.get()`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use shippy_common::client::{BreakerConfig, Discovered, GrpcChannel};
use shippy_common::names;
use shippy_common::shutdown::Stopping;
use shippy_plugins::registry::Registry;
use shippy_proto::consignment::shipping_service_client::ShippingServiceClient;
use shippy_proto::log::log_service_client::LogServiceClient;
use shippy_proto::user::user_service_client::UserServiceClient;
use shippy_proto::vessel::vessel_service_client::VesselServiceClient;

use crate::error::ApiError;

/// The user service, for `routes::users`.
pub type UserService = Client<UserServiceClient<GrpcChannel>>;
/// The vessel service, for `routes::vessels`.
pub type VesselService = Client<VesselServiceClient<GrpcChannel>>;
/// The consignment service, for `routes::consignments`.
pub type ShippingService = Client<ShippingServiceClient<GrpcChannel>>;
/// The log service, for `routes::logs`.
pub type LogService = Client<LogServiceClient<GrpcChannel>>;

#[derive(Clone, Debug, FromRef)]
pub struct AppState {
    pub users: UserService,
    pub vessels: VesselService,
    pub consignments: ShippingService,
    pub logs: LogService,
    /// Ends live streams when the gateway stops.
    pub stopping: Stopping,
    /// The users' token keys, as `/.well-known/jwks.json` publishes them.
    pub jwks: Jwks,
    /// How long a request that answers once may take in all (see [`crate::deadline`]).
    #[from_ref(skip)]
    pub deadline: Duration,
    /// The broker topics, as the AsyncAPI document names them.
    pub topics: Topics,
}

impl AppState {
    /// Starts following every service in `registry`.
    pub fn discover(
        registry: Arc<dyn Registry>,
        timeout: Duration,
        breaker: BreakerConfig,
    ) -> Self {
        let found = |name| Discovered::new(Arc::clone(&registry), name, timeout, breaker);
        Self {
            users: Client::new(found(names::USER), UserServiceClient::new),
            vessels: Client::new(found(names::VESSEL), VesselServiceClient::new),
            consignments: Client::new(found(names::CONSIGNMENT), ShippingServiceClient::new),
            logs: Client::new(found(names::LOG), LogServiceClient::new),
            stopping: Stopping::new().1,
            jwks: Jwks::default(),
            deadline: crate::deadline::for_calls(timeout),
            topics: Topics::default(),
        }
    }

    /// Every client, for readiness.
    pub fn clients(&self) -> [&Discovered; 4] {
        [
            &self.users.discovered,
            &self.vessels.discovered,
            &self.consignments.discovered,
            &self.logs.discovered,
        ]
    }
}

/// The topics the services publish to (`broker.log_topic`, `broker.revocations_topic`), for
/// the AsyncAPI document (`routes::asyncapi`); the defaults where none are configured.
#[derive(Clone, Debug)]
pub struct Topics {
    pub log: Arc<str>,
    pub revocations: Arc<str>,
    /// The AsyncAPI document of these topics, built at its first request and kept: it
    /// changes only with the build and the config.
    pub document: Arc<std::sync::OnceLock<serde_json::Value>>,
}

impl Default for Topics {
    fn default() -> Self {
        Self {
            log: "shippy.log".into(),
            revocations: "shippy.revocations".into(),
            document: Arc::default(),
        }
    }
}

impl From<&shippy_common::config::BrokerConfig> for Topics {
    fn from(broker: &shippy_common::config::BrokerConfig) -> Self {
        Self {
            log: broker.log_topic.as_str().into(),
            revocations: broker.revocations_topic.as_str().into(),
            document: Arc::default(),
        }
    }
}

/// The keys that sign users' tokens, for the JWKS document: the verifier's, which learns
/// the new key of a rotation while the gateway runs (none in tests that need no keys).
#[derive(Clone, Debug, Default)]
pub struct Jwks(pub Option<Arc<shippy_common::auth::TokenVerifier>>);

impl Jwks {
    /// The JWKS document (`{"keys": [...]}`), current key first.
    pub fn document(&self) -> serde_json::Value {
        self.0
            .as_ref()
            .map_or_else(|| serde_json::json!({ "keys": [] }), |v| v.jwks())
    }
}

/// One service's balanced channel, and the typed gRPC client `C` made over it per request
/// (cheap: the channel is shared). Shared itself: axum clones the state for every request
/// (the handler and each middleware get their own), and a clone of the channel's tower
/// stack would copy and then drop every layer of it; a clone of this is one count.
pub struct Client<C> {
    discovered: Arc<Discovered>,
    make: fn(GrpcChannel) -> C,
}

impl<C> Client<C> {
    fn new(discovered: Discovered, make: fn(GrpcChannel) -> C) -> Self {
        Self {
            discovered: Arc::new(discovered),
            make,
        }
    }

    /// The client, once an instance is known: 503 naming the service when none turns up
    /// within the call timeout.
    pub async fn get(&self) -> Result<C, ApiError> {
        Ok((self.make)(self.discovered.channel().await?))
    }
}

impl<C> Clone for Client<C> {
    fn clone(&self) -> Self {
        Self {
            discovered: Arc::clone(&self.discovered),
            make: self.make,
        }
    }
}

impl<C> fmt::Debug for Client<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Client").field(&self.discovered).finish()
    }
}

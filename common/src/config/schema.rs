//! What a shippy process can be told: the typed config, section by section, as the files
//! in `config/` spell it. Plain data; loading and checking it is [`super::load`]'s.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::Service;

/// Everything a shippy process can be told.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the embedded registry, broker and stores keep their SQLite files.
    pub data_dir: PathBuf,
    pub registry: RegistryConfig,
    pub broker: BrokerConfig,
    pub store: StoreConfig,
    pub auth: AuthConfig,
    pub services: ServicesConfig,
    pub api: ApiConfig,
    pub telemetry: TelemetryConfig,
    pub client: ClientConfig,
    pub limits: LimitsConfig,
    pub saga: SagaConfig,
    pub faults: FaultsConfig,
    /// How long in-flight requests may take to finish after a stop signal.
    pub shutdown_grace_secs: u64,
    /// The deadline of every outgoing call between services.
    pub request_timeout_secs: u64,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryConfig {
    /// `sqlite`: the embedded registry under `data_dir`; `consul`: the agent below.
    pub kind: RegistryKind,
    /// The Consul agent's HTTP address, when `kind = "consul"`.
    pub consul_address: String,
    /// The host others reach this process at, when it is not the bound address (a
    /// container's name, say); empty: the bound address, loopback for a wildcard bind.
    pub advertise_host: String,
    /// How long an instance stays listed without a heartbeat.
    pub ttl_secs: u64,
    /// How often a running instance renews its TTL.
    pub heartbeat_secs: u64,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BrokerConfig {
    /// `sqlite`: the embedded topic log under `data_dir`; `kafka`: the brokers below.
    pub kind: BrokerKind,
    /// The topic every log event goes to and the log service consumes.
    pub log_topic: String,
    /// The log service's consumer group.
    pub log_group: String,
    /// The topic log-outs go to (as well as their log event), which every service follows
    /// to refuse revoked tokens: only log-outs, so following it costs nothing per booking.
    pub revocations_topic: String,
    /// Kafka bootstrap servers, `host:port[,host:port]`, when `kind = "kafka"`.
    pub kafka_brokers: String,
    /// Partitions of the topics shippy creates on Kafka (events keep their order per user).
    pub kafka_partitions: i32,
    /// How events are written: `protobuf`, or `json` (the payload older versions write and
    /// read) while a rolling upgrade from one still runs an older log service.
    pub event_encoding: EventEncoding,
    /// Test hook: every event's `message` is written as one fixed sentence that says none
    /// of its facts, so a test proves that no reader (the UI's feed) parses it. Off.
    #[serde(default)]
    pub reword_events: bool,
    /// How long the embedded broker keeps a message (Kafka's `retention.ms`); the
    /// revocations topic keeps at least `auth.token_lifetime_secs`, and no message goes
    /// before every consumer group that committed within this time has read it.
    pub retention_hours: u64,
    /// The most messages the embedded broker keeps per topic (the newest).
    pub retention_max_messages: u64,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum EventEncoding {
    /// `shippy.log.LogEvent`, prost-encoded.
    #[default]
    Protobuf,
    /// The same six fields as a JSON object, as versions before protobuf wrote them.
    Json,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum BrokerKind {
    Sqlite,
    Kafka,
}

/// Where the services keep their data.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// `sqlite`: one file per service under `data_dir`; `mongodb`: one database on a server.
    pub kind: StoreKind,
    /// The MongoDB connection string, when `kind = "mongodb"`.
    pub mongodb_uri: String,
    /// The MongoDB database every service keeps its collections in.
    pub mongodb_database: String,
    /// How many days the activity log keeps an event; 0 keeps every event for good.
    pub log_retention_days: u64,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    Sqlite,
    Mongodb,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RegistryKind {
    Sqlite,
    Consul,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// The `iss` claim the user service signs and every verifier demands.
    pub issuer: String,
    /// The `aud` claim the user service signs and every verifier demands.
    pub audience: String,
    /// How long a token is valid after it is issued.
    pub token_lifetime_secs: u64,
    /// The Ed25519 private key (PKCS#8 PEM); only the user service reads it.
    pub private_key: PathBuf,
    /// The matching public key (SPKI PEM) every service verifies with.
    pub public_key: PathBuf,
    /// The public key before the last `shippy keys rotate`, still accepted for the tokens
    /// it signed; absent until a rotation.
    pub previous_public_key: PathBuf,
    /// The current public key's endorsement by the previous one, which `shippy keys rotate`
    /// signs before it deletes the previous private key; user-service publishes it, so the
    /// services trust the new key without a restart. Absent until a rotation.
    pub key_endorsement: PathBuf,
    /// How often every service fetches the token keys user-service publishes (also at once
    /// when a token names a key it does not know).
    pub key_refresh_secs: u64,
    /// The Ed25519 private key services sign their own calls with (the booking saga's
    /// `Reserve` and `Release`, which must go on without a user's token after a restart);
    /// only the consignment service reads it.
    pub service_private_key: PathBuf,
    /// The matching public key every service accepts service calls with.
    pub service_public_key: PathBuf,
    /// The Ed25519 private key the gateway signs its proof of itself with: a service believes
    /// the client address a call names only from a call carrying that proof. Only
    /// api-service reads it.
    pub gateway_private_key: PathBuf,
    /// The matching public key every service checks the gateway's proof with.
    pub gateway_public_key: PathBuf,
    /// Failed log-ins one account may have per window before log-in is refused.
    pub login_failures_per_account: u32,
    /// Failed log-ins one address may have per window, across accounts.
    pub login_failures_per_address: u32,
    /// The log-in throttling window.
    pub login_window_secs: u64,
    /// How long a successful log-in from an address exempts that account, from that address,
    /// from the account-wide and address-wide locks (only its own failures there count).
    pub login_trusted_days: u64,
    /// How long a service may be behind the log-outs (or cut off from the broker) before it
    /// refuses users' tokens, UNAVAILABLE, rather than accept one that may be logged out.
    pub revocations_max_lag_secs: u64,
    /// Password hashes or checks (19 MiB and a core each) run at once; 0: one per core.
    pub hash_concurrency: usize,
    /// How long a sign-up or log-in waits for its turn to hash before it is answered 503
    /// with `retry-after`.
    pub hash_wait_ms: u64,
}

/// The booking saga the consignment service runs.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SagaConfig {
    /// How often each consignment-service instance looks for bookings left unfinished.
    pub sweep_secs: u64,
    /// How long a booking must have stood still before a sweep drives it on.
    pub stale_secs: u64,
    /// How many vessels one booking tries when races take the room of the one it found.
    pub vessel_tries: u32,
    /// Sweeps in a row that may fail to drive a pending booking on before shippy gives up
    /// on it: it gives back whatever it holds and ends `failed`, saying why.
    pub max_attempts: u32,
    /// The longest a failing booking waits between sweeps' tries (the wait doubles from
    /// `stale_secs` after each failure, less up to half at random).
    pub backoff_max_secs: u64,
    /// Test hook: `after-reserve` or `after-release` stops every saga there for good, so a
    /// test can kill the process at that point. Empty in production.
    pub pause_at: String,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServicesConfig {
    pub user: ServiceConfig,
    pub vessel: ServiceConfig,
    pub consignment: ServiceConfig,
    pub log: ServiceConfig,
    pub api: ServiceConfig,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    /// Where the service listens; port 0 picks a free one (it registers what it got).
    pub listen: SocketAddr,
    /// Its admin port, serving Prometheus metrics at `/metrics`; port 0 picks a free one.
    pub metrics_listen: SocketAddr,
}

/// Per-client rate limits on every service and on the gateway.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Requests a second each client may make to one process; 0 turns limits off.
    pub requests_per_sec: u32,
    /// How many requests a client may make at once after being quiet.
    pub burst: u32,
    /// Peers (addresses or networks) in front of the gateway whose `x-forwarded-for` the
    /// gateway believes: an ingress, a load balancer. Anyone else is limited under its own
    /// address. Services believe a forwarded address only from the gateway's signed proof
    /// ([`crate::auth::gateway`]), never from an address.
    pub trusted_proxies: Vec<String>,
    /// Live feeds (`GET /api/v1/logs/stream`, `LogService.Watch`) one user may hold open at
    /// once, per log-service instance.
    pub live_feeds_per_user: usize,
    /// Live feeds one log-service instance holds open at once, across users.
    pub live_feeds_total: usize,
    /// The most vessels one user may create; 0: no limit.
    pub vessels_per_user: u64,
    /// The most of one vessel's containers and weight (a percentage) a user who does not own
    /// it may hold in bookings; 100: no cap.
    pub vessel_share_percent: u32,
    /// The most bookings one user may have in flight (pending, or giving room back: the saga
    /// still working on them); 0: no limit.
    pub bookings_in_flight_per_user: u64,
}

/// How clients treat the instances they balance across.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// Transport failures in a row (refused, reset, timed out) that open an instance's
    /// circuit breaker; a refused connection opens it at once.
    pub breaker_failures: u32,
    /// How long an open breaker keeps its instance out before one probe, in milliseconds.
    pub breaker_open_ms: u64,
    /// Extra attempts an idempotent read makes after UNAVAILABLE, on another instance.
    pub read_retries: u32,
    /// At most this share of reads may be retries (a retry budget), in percent.
    pub retry_budget_percent: u32,
}

/// Fault flags a person switches on to watch the system cope.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FaultsConfig {
    /// The flags file (OpenFeature flagd JSON), read at start and again whenever it
    /// changes; empty: no fault can be switched on.
    pub flags_file: PathBuf,
}

/// The REST gateway's own settings.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// The folder of static files (the web UI) served at `/`.
    pub ui_dir: PathBuf,
    /// Origins other than the gateway's own that browsers may call the API from.
    pub cors_origins: Vec<String>,
    /// The largest request body accepted, in bytes.
    pub max_body_bytes: usize,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetryConfig {
    /// A `tracing` filter such as `info` or `shippy=debug,info`; `RUST_LOG` wins over it.
    pub level: String,
    pub format: LogFormat,
    /// The OpenTelemetry collector spans go to (OTLP over HTTP, e.g. `http://127.0.0.1:4318`);
    /// empty: spans are not exported.
    pub otlp_endpoint: String,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Config {
    /// The SQLite file of a port or store, e.g. `data_file("registry")`.
    pub fn data_file(&self, name: &str) -> PathBuf {
        self.data_dir.join(format!("{name}.db"))
    }

    /// `service`'s own settings (`services.<key>`).
    pub fn service(&self, service: Service) -> &ServiceConfig {
        let s = &self.services;
        match service {
            Service::User => &s.user,
            Service::Vessel => &s.vessel,
            Service::Consignment => &s.consignment,
            Service::Log => &s.log,
            Service::Api => &s.api,
        }
    }
}
